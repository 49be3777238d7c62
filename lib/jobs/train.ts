/**
 * The training job: load and version the data, split it, fit the pipeline
 * and the model on training rows, choose the threshold on validation rows,
 * evaluate on test rows, profile the fit rows for drift, and write it all as
 * an immutable, checksummed run (the layout: `lib/registry/runs.ts`); and
 * promotion of a fresh run when it beats the champion on the same rows.
 * @module
 */
import { join } from "node:path";
import { loadSpec } from "../data/datasets.ts";
import { type DatasetVersion, datasetVersion, sha256Hex } from "../data/fingerprint.ts";
import { loadDataset } from "../data/load.ts";
import { chooseThreshold, parseStrategy } from "../eval/threshold.ts";
import { referenceProfile } from "../drift/dataset.ts";
import {
  featureFrame,
  fitPipeline,
  type FittedPipeline,
  transformFrame,
  velocityOptionsFor,
} from "../features/pipeline.ts";
import { timesMs } from "../features/velocity.ts";
import {
  type Detector,
  fitOnRows,
  type FitReport,
  type FittedDetector,
  getKind,
  scoreBatch,
} from "../models/mod.ts";
import {
  removeDetectedCards,
  resolveRunConfig,
  type RunConfig,
  type RunConfigInput,
} from "../registry/config.ts";
import { headline, type TrainResult } from "../registry/runs.ts";
import { codeVersion } from "../registry/code.ts";
import { labelsOf, numericColumn } from "../data/frame.ts";
import { addCalibration, dayEquivalents, evaluateRows } from "../eval/evaluate.ts";
import { calibrate, fitCalibration } from "../eval/calibrate.ts";
import type { ThresholdData } from "../eval/threshold.ts";
import { contributionSummary, topContributions } from "../models/explain.ts";
import { scoreWithRun } from "./evaluate.ts";
import { splitForRun } from "./split.ts";
import { parseResample } from "../models/resample.ts";
import { trainWarnings } from "./warnings.ts";
import { loadModelRef, promote, type PromoteOptions, readRegistry } from "../registry/aliases.ts";
import { artifactsRoot, removeStaleTemps, runsDir, RunWriter } from "../registry/store.ts";
import { UserError } from "../util/errors.ts";

/** Options for {@linkcode trainRun}. */
export interface TrainOptions {
  /** Artifacts root (default {@linkcode artifactsRoot}). */
  root?: string;
  /** No progress output. */
  quiet?: boolean;
  /** Called with a line of progress text (stage names). */
  log?: (line: string) => void;
  /**
   * A model made elsewhere (an imported XGBoost model), given the fitted
   * pipeline whose columns it must read: served as is instead of fitting
   * one; its report goes into fit.json, and `source` (what it was made
   * from, with a sha256) into run.json and the run id.
   */
  prefitted?: (pipeline: FittedPipeline) => Prefitted;
  /** More JSON files for the run (file name → value), e.g. a tune's `tune.json`. */
  attach?: Record<string, unknown>;
}

/** A model made elsewhere, for {@linkcode TrainOptions.prefitted}. */
export interface Prefitted {
  /** The model, ready to score. */
  detector: Detector;
  /** What fit.json records about it. */
  report: FitReport;
  /** What it was made from (format, file, sha256, …), recorded in run.json. */
  source: { sha256: string } & Record<string, unknown>;
}

function elapsed(t0: number): number {
  return Math.round(performance.now() - t0) / 1000;
}

/** `<UTC time>-<kind>-<config+data hash>`, with `-2`, `-3`, … when that run already exists. */
async function runId(
  config: RunConfig,
  made: { data: DatasetVersion; root: string; source?: { sha256: string } },
): Promise<string> {
  const { data, root, source } = made;
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "")
    .replace("T", "-");
  const hash = sha256Hex(JSON.stringify(config) + data.sha256 + (source?.sha256 ?? "")).slice(0, 6);
  const base = `${stamp}-${config.model}-${hash}`;
  for (let n = 1;; n++) {
    const id = n === 1 ? base : `${base}-${n}`;
    try {
      await Deno.stat(join(runsDir(root), id));
    } catch {
      return id;
    }
  }
}

/**
 * Trains one run from a config (see the module doc for what it writes).
 *
 * @param input the run config (defaults filled in by `resolveRunConfig`)
 * @param options artifacts root, quiet, a progress callback
 * @returns the stored run, with its model and scores still in memory
 *
 * @example
 * ```ts
 * import { exampleData } from "../testing/examples.ts";
 * import { trainRun } from "./train.ts";
 * const { path, root } = await exampleData();
 * const run = await trainRun({ data: path, spec: "txsim", model: "iforest" }, { root, quiet: true });
 * console.log(run.id, run.test.averagePrecision);
 * ```
 */
export async function trainRun(
  input: RunConfigInput,
  options: TrainOptions = {},
): Promise<TrainResult> {
  const config = resolveRunConfig(input);
  const log = options.log ?? (() => {});
  const timings: Record<string, number> = {};
  let t0 = performance.now();
  const ds = await loadDataset(config.data, await loadSpec(config.spec));
  timings.load_s = elapsed(t0);
  const labels = labelsOf(ds);
  const dataset = datasetVersion(ds);
  const split = splitForRun(config, { ds, labels });
  const count = (rows: Uint32Array) => rows.reduce((s, i) => s + labels[i], 0);
  for (
    const [name, rows] of [["fit", split.fit], ["validation", split.validation], [
      "test",
      split.test,
    ]] as const
  ) {
    if (rows.length === 0) {
      throw new UserError(`the ${name} part of the split is empty (${split.description})`);
    }
  }
  log(
    `split: ${split.description}\n  fit ${split.fit.length} rows (${
      count(split.fit)
    } fraud), validation ${split.validation.length} (${
      count(split.validation)
    }), test ${split.test.length} (${count(split.test)})`,
  );
  const kind = getKind(config.model);

  t0 = performance.now();
  const features = featureFrame(ds, velocityOptionsFor(ds.spec, config.features));
  timings.features_s = elapsed(t0);
  t0 = performance.now();
  const pipeline = fitPipeline(features, split.fit, config.features);
  timings.pipeline_s = elapsed(t0);
  const prefitted = options.prefitted?.(pipeline);
  if (!prefitted && kind.fitOn === "all" && count(split.fit) === 0) {
    throw new UserError(
      `${kind.name} is supervised but the fit rows hold no fraud (${split.description})`,
    );
  }

  t0 = performance.now();
  // Kinds that stop early (gbdt) watch the validation rows the threshold is chosen on.
  const Xval = transformFrame(pipeline, features, { rows: split.validation });
  timings.validation_transform_s = elapsed(t0);
  t0 = performance.now();
  const fitted: FittedDetector = prefitted
    ? { detector: prefitted.detector, report: prefitted.report, fitRows: 0, transformedRows: 0 }
    : await fitOnRows(
      { kind, params: config.params, resample: parseResample(config.resample) },
      { pipeline, ff: features, rows: split.fit, labels },
      {
        seed: config.seed,
        quiet: options.quiet,
        validation: { X: Xval, y: Int8Array.from(split.validation, (i) => labels[i]) },
      },
    );
  const { detector, report: fit } = fitted;
  log(
    prefitted
      ? `features: ${pipeline.columns.length} columns; ${kind.name} made elsewhere, not fitted here`
      : `features: ${pipeline.columns.length} columns; fitted ${kind.name} on ${fitted.fitRows} rows` +
        (fitted.transformedRows < fitted.fitRows
          ? ` (a sample of ${fitted.transformedRows} read)`
          : "") +
        (fitted.resampled
          ? `, resampled (${fitted.resampled.method}): ${fitted.resampled.added} synthetic fraud rows added, ${fitted.resampled.removed} legitimate rows left out`
          : ""),
  );
  timings.model_fit_s = elapsed(t0);

  t0 = performance.now();
  const valScores = await scoreBatch(detector, Xval);
  const times = ds.spec.time ? timesMs(ds.frame, ds.spec.time) : undefined;
  // Alerts per day on validation rows, counted in days of full traffic.
  const valDays = times ? dayEquivalents(times, split.validation) : 1;
  const strategy = parseStrategy(config.threshold);
  const amounts = ds.spec.amount ? numericColumn(ds.frame, ds.spec.amount) : undefined;
  const threshold = chooseThreshold(strategy, {
    labels: Int8Array.from(split.validation, (i) => labels[i]),
    scores: valScores,
    amounts: amounts ? Float64Array.from(split.validation, (i) => amounts[i]) : undefined,
    days: valDays,
  });
  const opts = {
    threshold: threshold.threshold,
    k: config.k,
    alertFee: config.alertFee,
    removeDetected: removeDetectedCards(config),
  };
  const validation = evaluateRows(ds, { rows: split.validation, scores: valScores, labels }, opts);
  const valLabels = Int8Array.from(split.validation, (i) => labels[i]);
  const calibration = config.calibration === "none"
    ? null
    : fitCalibration(config.calibration, valScores, valLabels);
  if (calibration) {
    const p = Float64Array.from(valScores, (s) => calibrate(calibration, s));
    addCalibration(validation.metrics, calibration.method, p, valLabels);
  }
  timings.validation_s = elapsed(t0);

  t0 = performance.now();
  const profile = referenceProfile(ds, {
    rows: split.fit,
    rowsLabel: `fit rows of ${split.description}`,
    sha256: dataset.sha256,
    seed: config.seed,
    created: null,
    prediction: { scores: valScores, threshold: threshold.threshold },
  });
  timings.profile_s = elapsed(t0);

  t0 = performance.now();
  const Xtest = transformFrame(pipeline, features, { rows: split.test });
  const t1 = performance.now();
  const testScores = await scoreBatch(detector, Xtest);
  const modelMs = performance.now() - t1;
  timings.score_test_model_s = elapsed(t1);
  timings.score_test_s = elapsed(t0);
  timings.score_rows_per_s = Math.round(split.test.length / Math.max(modelMs / 1000, 1e-6));
  const test = evaluateRows(ds, { rows: split.test, scores: testScores, labels }, opts);
  if (calibration) {
    const p = Float64Array.from(testScores, (s) => calibrate(calibration, s));
    addCalibration(
      test.metrics,
      calibration.method,
      p,
      Int8Array.from(split.test, (i) => labels[i]),
    );
  }
  const explain = topContributions(detector, { X: Xtest, scores: testScores });
  t0 = performance.now();
  const summary = contributionSummary(detector, Xtest);
  timings.explain_summary_s = elapsed(t0);

  const warnings = trainWarnings(ds, {
    split,
    labels,
    validationAp: validation.metrics.averagePrecision,
  });
  const root = options.root ?? artifactsRoot();
  const id = await runId(config, { data: dataset, root, source: prefitted?.source });
  await removeStaleTemps(runsDir(root));
  const writer = new RunWriter(runsDir(root), id);
  try {
    const modelFiles = await (async () => {
      await Deno.mkdir(writer.path("model"), { recursive: true });
      return await detector.save(writer.path("model"));
    })();
    await writer.json("run.json", {
      id,
      kind: kind.name,
      created: new Date().toISOString(),
      status: "finished",
      data: { path: config.data, sha256: dataset.sha256, rows: dataset.rows },
      threshold: threshold.threshold,
      test: headline(test.metrics),
      warnings,
      model_files: modelFiles,
      ...(prefitted ? { source: prefitted.source } : {}),
    });
    await writer.json("config.json", config);
    await writer.json("dataset.json", { ...dataset, split: split.description });
    await writer.json("spec.json", ds.spec);
    await writer.json("pipeline.json", pipeline);
    await writer.json("threshold.json", threshold);
    if (calibration) await writer.json("calibration.json", calibration);
    await writer.json("metrics.json", { validation: validation.metrics, test: test.metrics });
    await writer.json("curves.json", { validation: validation.curves, test: test.curves });
    await writer.json("explain.json", {
      explains: kind.explains,
      rows: Math.min(50, split.test.length),
      features: explain,
      summary,
    });
    await writer.json("fit.json", {
      kind: kind.name,
      params: config.params,
      rows: fitted.fitRows,
      transformed_rows: fitted.transformedRows,
      ...(fitted.resampled ? { resampled: fitted.resampled } : {}),
      ...fit,
    });
    await writer.file("profile.json", JSON.stringify(profile));
    await writer.json("timings.json", timings);
    for (const [name, value] of Object.entries(options.attach ?? {})) {
      await writer.json(name, value);
    }
    await writer.json("code.json", await codeVersion());
    const dir = await writer.commit();
    return {
      id,
      dir,
      config,
      dataset,
      split: split.description,
      warnings,
      threshold,
      validation: validation.metrics,
      test: test.metrics,
      curves: { validation: validation.curves, test: test.curves },
      scores: { validation: valScores, test: testScores },
      fit,
      timings,
      detector,
      pipeline,
      ds,
      validationRows: split.validation,
      testRows: split.test,
      Xtest,
      labels,
    };
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

/** The outcome of {@linkcode promoteIfBetter}. */
export interface PromotionDecision {
  promoted: boolean;
  metric: string;
  candidate: number;
  /** The champion's figure on the same test rows (null when there was no champion). */
  champion: number | null;
  championRun: string | null;
  margin: number;
  reason: string;
}

/**
 * Promotes a freshly trained run when it beats the current holder of the
 * alias on the same test rows by more than the margin. The champion is
 * re-scored on the candidate's test rows (its own pipeline and model), so
 * the comparison holds even when the champion was trained on other data.
 */
export async function promoteIfBetter(
  result: TrainResult,
  rule: { metric: string; margin: number },
  options: PromoteOptions = {},
): Promise<PromotionDecision> {
  const root = options.root ?? artifactsRoot();
  const name = options.model ?? result.ds.spec.name;
  const alias = options.alias ?? "champion";
  const candidate = headline(result.test)[rule.metric] ?? NaN;
  const reg = await readRegistry(root);
  const current = reg.models[name]?.aliases[alias];
  let champion: number | null = null, championRun: string | null = null;
  if (current !== undefined) {
    const run = await loadModelRef(`${name}@${alias}`, root);
    championRun = run.id;
    const { scores } = await scoreWithRun(run, result.ds, { rows: result.testRows });
    const part = evaluateRows(result.ds, { rows: result.testRows, scores, labels: result.labels }, {
      threshold: run.threshold.threshold,
      k: result.config.k,
      alertFee: result.config.alertFee,
    });
    champion = headline(part.metrics)[rule.metric] ?? NaN;
  }
  const better = champion === null || candidate > champion + rule.margin;
  const fmt = (v: number | null) => (v === null ? "none" : v.toFixed(4));
  const reason = `${rule.metric} ${fmt(candidate)} vs champion ${
    fmt(champion)
  } (margin ${rule.margin}) on ${result.testRows.length} test rows`;
  if (better) {
    await promote(result.id, {
      ...options,
      model: name,
      alias,
      root,
      reason: `promote-if-better: ${reason}`,
    });
  }
  return {
    promoted: better,
    metric: rule.metric,
    candidate,
    champion,
    championRun,
    margin: rule.margin,
    reason,
  };
}

/**
 * The validation or test rows of a trained run as threshold data (labels,
 * scores, amounts, days), e.g. to compare threshold strategies.
 *
 * @param r a trained run
 * @param part which rows
 * @returns their labels, scores, amounts and days
 *
 * @example
 * ```ts
 * import { exampleRun } from "../testing/examples.ts";
 * import { compareStrategies } from "../eval/threshold.ts";
 * import { thresholdData } from "./train.ts";
 * const run = await exampleRun();
 * const rows = { validation: thresholdData(run, "validation"), test: thresholdData(run, "test") };
 * console.log(compareStrategies(["max-f1", "budget:20"], rows).map((o) => o.test.recall));
 * ```
 */
export function thresholdData(r: TrainResult, part: "validation" | "test"): ThresholdData {
  const rows = part === "validation" ? r.validationRows : r.testRows;
  const spec = r.ds.spec;
  const amounts = spec.amount ? numericColumn(r.ds.frame, spec.amount) : undefined;
  const times = spec.time ? timesMs(r.ds.frame, spec.time) : undefined;
  return {
    labels: Int8Array.from(rows, (i) => r.labels[i]),
    scores: r.scores[part],
    amounts: amounts ? Float64Array.from(rows, (i) => amounts[i]) : undefined,
    days: times ? dayEquivalents(times, rows) : 1,
  };
}
