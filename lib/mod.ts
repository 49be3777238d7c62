/**
 * fraudlab's public API: what notebooks and scripts compose. Load and
 * profile data, build leak-free velocity features, train and evaluate runs,
 * compare drift, and show it all in a notebook. Tasks and the server use
 * the same modules (under `lib/`) directly.
 *
 * @example Train a model on simulated data and read its test metrics
 * ```ts ignore
 * import { simulateTransactions, trainRun, writeFrame } from "./mod.ts";
 * writeFrame(simulateTransactions({ customers: 300, days: 30, seed: 1 }), "data/x.parquet");
 * const run = await trainRun({ data: "data/x.parquet", spec: "txsim", model: "logreg" });
 * console.log(run.test.averagePrecision);
 * ```
 * @module
 */

// data
export { loadSpec } from "./data/datasets.ts";
export type { DatasetSpec, ResolvedSpec } from "./data/spec.ts";
export { type Dataset, loadDataset, type LoadOptions } from "./data/load.ts";
export { type Column, type Frame, labelsOf, numericColumn, stringColumn } from "./data/frame.ts";
export { type DatasetVersion, datasetVersion, sha256Hex } from "./data/fingerprint.ts";
export {
  type CategoryShare,
  type ColumnProfile,
  type ColumnRole,
  type DataProfile,
  fraudRateBy,
  type GroupRate,
  meansByClass,
  profileDataset,
  type ProfileOptions,
  type QualityWarning,
  singleFeatureAuc,
} from "./data/profile.ts";
export { type DataInfo, dataInfo, formatDataInfo } from "./data/info.ts";
export {
  DRIFT_SCENARIOS,
  type DriftEvent,
  type DriftScenario,
  parseDrift,
  type SimulateOptions,
  simulateTransactions,
} from "./data/simulate.ts";
export {
  HANDBOOK_COLUMNS,
  HANDBOOK_TOTALS,
  type HandbookOptions,
  simulateHandbook,
} from "./data/handbook.ts";
export { writeFrame } from "./data/write.ts";
// features
export {
  type FramedData,
  HANDBOOK_RULES,
  timesMs,
  VELOCITY_RULES,
  velocityFeatures,
  type VelocityOptions,
  type VelocityRules,
} from "./features/velocity.ts";
export type {
  CategoricalStep,
  FittedPipeline,
  Matrix,
  NumericStep,
  PipelineConfig,
} from "./features/pipeline.ts";
// evaluation
export { type Curve, type ScoreHistogram, scoreHistogram } from "./eval/curves.ts";
export type { Confusion, DailyPrecision, DailyPrecisionAtK } from "./eval/metrics.ts";
export type { EvalCurves, EvalMetrics } from "./eval/evaluate.ts";
export {
  brierScore,
  calibrate,
  type Calibration,
  type CalibrationMethod,
  CALIBRATIONS,
  type Reliability,
} from "./eval/calibrate.ts";
export type { ChosenThreshold, ThresholdData } from "./eval/threshold.ts";
export { compareStrategies, type StrategyOutcome } from "./eval/threshold.ts";
export { type ExplainedRow, explainTopRows } from "./models/explain.ts";
export type { Detector, FitOptions, FitReport, Params } from "./models/detector.ts";
// drift
export {
  type ColumnDrift,
  type ColumnOverride,
  type DistributionPlot,
  DRIFT_FORMAT,
  type DriftOptions,
  type DriftResult,
  type PredictionDrift,
  type SchemaChanges,
  type SideStats,
  type TargetDrift,
} from "./drift/compare.ts";
export type { DriftTestName, TestResult } from "./drift/tests.ts";
export {
  type CategoricalProfile,
  type NumericProfile,
  PROFILE_FORMAT,
  type ReferenceColumn,
  type ReferenceOptions,
  type ReferenceProfile,
} from "./drift/profile.ts";
// runs and the registry
export {
  resolveRunConfig,
  type RunConfig,
  type RunConfigInput,
  type SplitConfig,
} from "./registry/config.ts";
export { type LoadedRun, loadProfile, type RunWarning, type TrainResult } from "./registry/runs.ts";
export { loadRunRef, type ModelVersion, promote, type PromoteOptions } from "./registry/aliases.ts";
// jobs
export { type Prefitted, thresholdData, type TrainOptions, trainRun } from "./jobs/train.ts";
export { IMPORTED_FEATURES, importXgboostRun } from "./jobs/import.ts";
export {
  type EvaluateJob,
  type EvaluateJobResult,
  evaluateRunOn,
  runEvaluateJob,
} from "./jobs/evaluate.ts";
export { type DriftJob, type DriftJobResult, runDriftJob } from "./jobs/drift.ts";
export {
  type LogWindow,
  type MonitorJob,
  type MonitorJobResult,
  type MonitorLine,
  type MonitorReport,
  type Realized,
  runMonitorJob,
} from "./jobs/monitor.ts";
// reports and notebooks
export {
  type CurveLabels,
  curvePlot,
  dailyPrecisionPlot,
  epochPlot,
  fraudRatePlot,
  type Mark,
  prPlot,
  rocPlot,
  scoreHistogramPlot,
} from "./report/eval_plots.ts";
export {
  show,
  showAll,
  showDrift,
  showFrame,
  showMetrics,
  type Shown,
  showPlot,
  showProfile,
  showRun,
  showStrategies,
  showTable,
} from "./report/display.ts";
export {
  enterRepoRoot,
  type JupyterDisplay,
  type NextPeriod,
  type NotebookDataset,
  notebookDataset,
  notebookDisplay,
  notebookScale,
  type NotebookWorld,
  notebookWorld,
  promoteToTask,
  type Promotion,
  simulateNextPeriod,
} from "./notebook/mod.ts";
// utilities
export { UserError } from "./util/errors.ts";
export { table } from "./util/table.ts";
