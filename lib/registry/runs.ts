/**
 * Runs: what a trained run holds ({@linkcode TrainResult}), and loading and
 * listing stored runs. The training job (`trainRun`) lives in
 * `lib/jobs/train.ts`; a stored run is an immutable, checksummed directory:
 *
 * ```
 * artifacts/runs/<run-id>/
 *   run.json        id, kind, created, status, headline metrics
 *   config.json     resolved config (re-run with --config)
 *   dataset.json    dataset version (sha256, rows, positives, schema hash)
 *   spec.json       the resolved dataset spec (the server validates input with it)
 *   pipeline.json   fitted feature pipeline
 *   model/          the kind's files
 *   threshold.json  strategy, threshold, validation objective
 *   metrics.json    validation and test metrics
 *   curves.json     ROC, PR, cost, alert-budget curves and score histograms
 *   explain.json    top contributing features over the top test alerts
 *   fit.json        what the fit reported (loss history, iterations, …)
 *   profile.json    reference profile of the fit rows and validation scores (drift)
 *   timings.json    seconds per stage (not part of reproducibility)
 *   code.json       git sha and dirty flag of the code that made it
 *   manifest.json   sha256 of every file above
 * ```
 * @module
 */
import type { Calibration } from "../eval/calibrate.ts";
import { join } from "node:path";
import type { DatasetVersion } from "../data/fingerprint.ts";
import type { Dataset } from "../data/load.ts";
import type { ResolvedSpec } from "../data/spec.ts";
import type { EvalCurves, EvalMetrics } from "../eval/evaluate.ts";
import { profileFromJSON, type ReferenceProfile } from "../drift/profile.ts";
import type { ChosenThreshold } from "../eval/threshold.ts";
import { type FittedPipeline, type Matrix, pipelineFromJSON } from "../features/pipeline.ts";
import { type Detector, type FitReport, getKind } from "../models/mod.ts";
import { UserError } from "../util/errors.ts";
import type { RunConfig } from "./config.ts";
import { artifactsRoot, runsDir, verifyRun } from "./store.ts";

/** One warning of a run (what `train` found that flatters its figures or makes them noise). */
export interface RunWarning {
  /** Which finding (lib/jobs/warnings.ts). */
  kind:
    | "few_fit_positives"
    | "few_validation_positives"
    | "perfect_validation"
    | "leakage"
    | "leakage_missingness"
    | "duplicates_across_split";
  /** One line for a person. */
  message: string;
}

/** The metrics a search can select on. */
export const TUNE_METRICS = ["ap", "auc", "cp100"] as const;
/** One of them. */
export type TuneMetric = typeof TUNE_METRICS[number];

/** A configuration's figures: per fold and their mean and standard deviation. */
export interface ConfigResult {
  /** The parameters it sets (over the run's). */
  params: Record<string, string | number | boolean>;
  /** Each fold's figures. */
  folds: Record<TuneMetric, number>[];
  /** Their mean and standard deviation. */
  mean: Record<TuneMetric, number>;
  std: Record<TuneMetric, number>;
  /** Seconds its folds took. */
  seconds: number;
}

/** What a tune stores (`tune.json` in the run it refits) and returns. */
export interface TuneReport {
  /** File format tag. */
  format: "fraudlab.tune/1";
  /** The kind searched. */
  model: string;
  /** The metric that picked the best. */
  metric: TuneMetric;
  /** "grid" or "random:N". */
  search: string;
  /** Each fold's windows (start inclusive, end exclusive) and its assessed rows and frauds. */
  folds: { train: [string, string]; assess: [string, string]; rows: number; frauds: number }[];
  /** One per configuration, in search order. */
  results: ConfigResult[];
  /** Index of the best in `results`. */
  best: number;
  /** Seconds the search took. */
  seconds: number;
}

/** The outcome of {@linkcode trainRun}. */
export interface TrainResult {
  /** Run id. */
  id: string;
  /** Its directory. */
  dir: string;
  /** The resolved config (re-runnable). */
  config: RunConfig;
  /** The dataset version it was trained on. */
  dataset: DatasetVersion;
  /** How rows were split, in words. */
  split: string;
  /** What the run warns about (see lib/jobs/warnings.ts). */
  warnings: RunWarning[];
  /** The threshold chosen on validation rows. */
  threshold: ChosenThreshold;
  /** Metrics of the validation rows. */
  validation: EvalMetrics;
  /** Metrics of the test rows. */
  test: EvalMetrics;
  /** Curves of the validation and test rows (what the run's report plots). */
  curves: { validation: EvalCurves; test: EvalCurves };
  /** Scores of the validation and test rows, in the order of `validationRows` and `testRows`. */
  scores: { validation: Float32Array; test: Float32Array };
  /** What the fit reported. */
  fit: FitReport;
  /** Seconds per stage. */
  timings: Record<string, number>;
  /** The fitted detector and pipeline (still in memory). */
  detector: Detector;
  /** The fitted feature pipeline. */
  pipeline: FittedPipeline;
  /** The loaded dataset and the test rows (to compare other models on the same rows). */
  ds: Dataset;
  /** Validation row indices into `ds`. */
  validationRows: Uint32Array;
  /** Test row indices into `ds`. */
  testRows: Uint32Array;
  /** The test rows' feature matrix (to explain or rescore them). */
  Xtest: Matrix;
  /** 0/1 labels of every row of `ds`. */
  labels: Int8Array;
}

/** The figures a listing shows for a run's test metrics. */
export function headline(m: EvalMetrics): Record<string, number | null> {
  return {
    rows: m.rows,
    positives: m.positives,
    rocAuc: m.rocAuc,
    averagePrecision: m.averagePrecision,
    recallAt1pctFpr: m.recallAt1pctFpr,
    precisionAtK: m.precisionAtK,
    dailyPrecisionAtK: m.dailyPrecisionAtK?.mean ?? null,
    entityPrecisionAtK: m.entityPrecisionAtK?.mean ?? null,
    precision: m.atThreshold.precision,
    recall: m.atThreshold.recall,
    f1: m.atThreshold.f1,
    ...(m.calibration ? { brier: m.calibration.brier } : {}),
  };
}

/** A run read back from disk, checksums verified. */
export interface LoadedRun {
  /** Run id. */
  id: string;
  /** Its directory. */
  dir: string;
  /** run.json: id, kind, creation time, status and threshold. */
  info: { id: string; kind: string; created: string; status: string; threshold: number | string };
  /** The resolved config. */
  config: RunConfig;
  /** The dataset version and the split, in words. */
  dataset: DatasetVersion & { split: string };
  /** The resolved spec the server validates input with. */
  spec: ResolvedSpec;
  /** The fitted feature pipeline. */
  pipeline: FittedPipeline;
  /** The fitted model. */
  detector: Detector;
  /** The threshold chosen on validation rows. */
  threshold: ChosenThreshold;
  /** Validation and test metrics. */
  metrics: { validation: EvalMetrics; test: EvalMetrics };
  /** The score-to-probability map fitted on validation rows (null when the run has none). */
  calibration: Calibration | null;
}

async function readJson<T>(dir: string, name: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(join(dir, name))) as T;
}

/** Resolves a run id (or a unique prefix of one) to its directory. */
export async function findRun(idOrPath: string, root = artifactsRoot()): Promise<string> {
  try {
    if ((await Deno.stat(join(idOrPath, "manifest.json"))).isFile) return idOrPath;
  } catch { /* not a path */ }
  const dir = runsDir(root);
  const matches: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory && !e.name.startsWith(".") && e.name.startsWith(idOrPath)) {
        matches.push(e.name);
      }
    }
  } catch { /* no runs yet */ }
  if (matches.length === 0) throw new UserError(`no run "${idOrPath}" in ${dir}`);
  if (matches.length > 1 && !matches.includes(idOrPath)) {
    throw new UserError(`run "${idOrPath}" is ambiguous: ${matches.sort().join(", ")}`);
  }
  return join(dir, matches.includes(idOrPath) ? idOrPath : matches[0]);
}

/** Loads a run after verifying every checksum (a tampered run is refused). */
export async function loadRun(idOrPath: string, root = artifactsRoot()): Promise<LoadedRun> {
  const dir = await findRun(idOrPath, root);
  const manifest = await verifyRun(dir);
  const config = await readJson<RunConfig>(dir, "config.json");
  const kind = getKind(config.model);
  const threshold = await readJson<ChosenThreshold>(dir, "threshold.json");
  threshold.threshold = Number(threshold.threshold);
  return {
    id: manifest.run_id,
    dir,
    info: await readJson(dir, "run.json"),
    config,
    dataset: await readJson(dir, "dataset.json"),
    spec: await readJson(dir, "spec.json"),
    pipeline: pipelineFromJSON(await readJson(dir, "pipeline.json")),
    // A parameter the kind gained after the run was trained takes its default (it shaped
    // fitting, not the stored model): a run from an earlier fraudlab still loads.
    detector: await kind.load(join(dir, "model"), { ...kind.defaults, ...config.params }),
    threshold,
    metrics: await readJson(dir, "metrics.json"),
    calibration: "calibration.json" in manifest.files
      ? await readJson<Calibration>(dir, "calibration.json")
      : null,
  };
}

/**
 * Reads a run's reference profile (written at training time): what drift
 * compares current data against.
 *
 * @param run a loaded run (its id and directory)
 * @returns the profile of its fit rows and validation scores
 *
 * @example
 * ```ts
 * import { exampleRun } from "../testing/examples.ts";
 * import { loadProfile } from "./runs.ts";
 * const profile = await loadProfile(await exampleRun());
 * console.log(profile.rows, profile.prediction?.threshold);
 * ```
 */
export async function loadProfile(run: Pick<LoadedRun, "id" | "dir">): Promise<ReferenceProfile> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(run.dir, "profile.json"));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UserError(
        `run ${run.id} has no reference profile (profile.json); it predates drift monitoring: retrain it`,
      );
    }
    throw e;
  }
  return profileFromJSON(JSON.parse(text), join(run.dir, "profile.json"));
}

/** One line per run for listings. */
export interface RunListing {
  id: string;
  kind: string;
  created: string;
  data: { path: string; sha256: string; rows: number };
  threshold: number | string;
  test: Record<string, number | null>;
}

/** Lists runs (newest first) from their run.json files; does not verify checksums. */
export async function listRuns(root = artifactsRoot()): Promise<RunListing[]> {
  const out: RunListing[] = [];
  try {
    for await (const e of Deno.readDir(runsDir(root))) {
      if (!e.isDirectory || e.name.startsWith(".")) continue;
      try {
        out.push(await readJson<RunListing>(join(runsDir(root), e.name), "run.json"));
      } catch { /* incomplete or foreign directory: skipped */ }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort((a, b) => b.id.localeCompare(a.id));
}
