/**
 * Runs: their split, evaluation and explanation helpers, what a trained run
 * holds ({@linkcode TrainResult}), and loading and listing stored runs. The
 * training job itself (`trainRun`) lives in `lib/jobs/train.ts`; a stored
 * run is an immutable, checksummed directory:
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
import { join } from "node:path";
import pl from "nodejs-polars";
import { type DatasetVersion } from "../data/fingerprint.ts";
import { type Dataset, loadDataset } from "../data/load.ts";
import type { ResolvedSpec } from "../data/spec.ts";
import { splitMod5, splitPrefix, splitStratified, splitTimeWindows } from "../data/split.ts";
import {
  dayEquivalents,
  type EvalCurves,
  type EvalMetrics,
  evaluateScores,
} from "../eval/evaluate.ts";
import { profileFromJSON, type ReferenceProfile } from "../drift/profile.ts";
import { type ChosenThreshold, type ThresholdData } from "../eval/threshold.ts";
import {
  featureFrame,
  type FittedPipeline,
  type Matrix,
  pipelineFromJSON,
  transformFrame,
} from "../features/pipeline.ts";
import { numericColumn, stringColumn } from "../data/frame.ts";
import { timesMs } from "../features/velocity.ts";
import { descendingOrder } from "../eval/metrics.ts";
import { type Detector, type FitReport, getKind, scoreBatch } from "../models/mod.ts";
import { UserError } from "../util/errors.ts";
import { type RunConfig } from "./config.ts";
import { artifactsRoot, runsDir, verifyRun } from "./store.ts";
import { DAY_MS } from "../util/time.ts";

/** Row indices of the three parts a run uses. */
export interface RunSplit {
  fit: Uint32Array;
  validation: Uint32Array;
  test: Uint32Array;
  description: string;
}

/** Splits a dataset's rows as a run config says. */
export function splitForRun(config: RunConfig, ds: Dataset, labels: Int8Array): RunSplit {
  const split = config.split;
  if (split.method === "time") {
    if (!ds.spec.time) {
      throw new UserError(`--split time: spec "${ds.spec.name}" has no time column`);
    }
    if (split.trainDays < 2) {
      throw new UserError(
        "--split time: --train-days must be at least 2 (one day is held out to choose the threshold)",
      );
    }
    const t = timesMs(ds.frame, ds.spec.time);
    let max = -Infinity;
    for (let i = 0; i < t.length; i++) if (t[i] > max) max = t[i];
    const end = split.testEnd ? Date.parse(split.testEnd) : (Math.floor(max / DAY_MS) + 1) * DAY_MS;
    const startMs = end - (split.testDays + split.delayDays + split.trainDays) * DAY_MS;
    const s = splitTimeWindows(t, {
      trainDays: split.trainDays,
      gapDays: split.delayDays,
      testDays: split.testDays,
      startMs,
    });
    const inner = splitStratified(Int8Array.from(s.train, (i) => labels[i]), {
      testFraction: config.validationFraction,
      seed: config.seed + 1,
    });
    const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    return {
      fit: inner.train.map((j) => s.train[j]),
      validation: inner.test.map((j) => s.train[j]),
      test: s.test,
      description: `time: train ${iso(startMs)}..${iso(startMs + split.trainDays * DAY_MS)} ` +
        `(validation = stratified ${config.validationFraction} of it), label delay ${split.delayDays}d, ` +
        `test ${iso(end - split.testDays * DAY_MS)}..${iso(end)} (end exclusive)`,
    };
  }
  const base = split.method === "mod5"
    ? splitMod5(labels.length)
    : split.method === "prefix"
    ? splitPrefix(labels.length, split.trainFraction)
    : splitStratified(labels, { testFraction: split.testFraction, seed: config.seed });
  const trainLabels = Int8Array.from(base.train, (i) => labels[i]);
  const inner = splitStratified(trainLabels, {
    testFraction: config.validationFraction,
    seed: config.seed + 1,
  });
  return {
    fit: inner.train.map((j) => base.train[j]),
    validation: inner.test.map((j) => base.train[j]),
    test: base.test,
    description: `${base.method}; validation = stratified ${config.validationFraction} of train`,
  };
}

/** Labels of a dataset as 0/1 bytes. */
export function labelsOf(ds: { frame: pl.DataFrame; spec: ResolvedSpec }): Int8Array {
  return Int8Array.from(ds.frame.getColumn(ds.spec.label).cast(pl.Int8).toArray() as number[]);
}

/** The code version: git sha of the working tree and whether it has uncommitted changes. */
export async function codeVersion(): Promise<{ git: string; dirty: boolean | null }> {
  const root = new URL("../../", import.meta.url).pathname;
  const git = async (args: string[]) => {
    try {
      const out = await new Deno.Command("git", {
        args,
        cwd: root,
        stdout: "piped",
        stderr: "null",
      })
        .output();
      return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
    } catch {
      return null;
    }
  };
  const sha = await git(["rev-parse", "HEAD"]);
  if (!sha) return { git: "unknown", dirty: null };
  const status = await git(["status", "--porcelain", "--untracked-files=no"]);
  return { git: sha, dirty: status === null ? null : status.length > 0 };
}

/** Per-feature mean contribution over the top test alerts. */
export interface FeatureContribution {
  feature: string;
  meanContribution: number;
  meanAbsContribution: number;
}

/** Explains the `n` highest-scored rows and ranks features by mean |contribution|. */
export function topContributions(
  detector: Detector,
  X: Matrix,
  scores: Float32Array,
  n = 50,
): FeatureContribution[] {
  const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b).slice(
    0,
    n,
  );
  const sum = new Float64Array(X.cols), abs = new Float64Array(X.cols);
  for (const r of order) {
    const c = detector.explain(X.data.subarray(r * X.cols, (r + 1) * X.cols));
    for (let j = 0; j < X.cols; j++) {
      sum[j] += c[j];
      abs[j] += Math.abs(c[j]);
    }
  }
  return X.columns.map((feature, j) => ({
    feature,
    meanContribution: sum[j] / Math.max(order.length, 1),
    meanAbsContribution: abs[j] / Math.max(order.length, 1),
  })).sort((a, b) => b.meanAbsContribution - a.meanAbsContribution).slice(0, 15);
}

/** One explained row: its index in the matrix, its score and its largest contributions. */
export interface ExplainedRow {
  index: number;
  score: number;
  /** Largest contributions first; `share` is the contribution over the score. */
  reasons: { feature: string; contribution: number; share: number }[];
}

/** Explains the `n` highest-scored rows of `X`, each with its `k` largest contributions. */
export function explainTopRows(
  detector: Detector,
  X: Matrix,
  scores: Float32Array,
  options: { n?: number; k?: number } = {},
): ExplainedRow[] {
  const top = Array.from(descendingOrder(scores).slice(0, options.n ?? 10));
  return top.map((index) => {
    const c = detector.explain(X.data.subarray(index * X.cols, (index + 1) * X.cols));
    const order = Array.from(c.keys()).sort((a, b) => c[b] - c[a]).slice(0, options.k ?? 3);
    return {
      index,
      score: scores[index],
      reasons: order.map((j) => ({
        feature: X.columns[j],
        contribution: c[j],
        share: c[j] / scores[index],
      })),
    };
  });
}

/** What a run records about the rows it was evaluated on. */
export interface ScoredPart {
  metrics: EvalMetrics;
  curves: EvalCurves;
}

/** Evaluates scores of `rows` of a dataset with everything the spec offers. */
export function evaluateRows(
  ds: Dataset,
  scored: { rows: Uint32Array; scores: Float32Array; labels: Int8Array },
  opts: { threshold: number; k: number; alertFee: number },
): ScoredPart {
  const spec = ds.spec;
  const { rows, scores, labels } = scored;
  const pick = <T>(a: ArrayLike<T>) => Array.from(rows, (i) => a[i]);
  const times = spec.time ? timesMs(ds.frame, spec.time) : undefined;
  const entity = spec.entities[0];
  const amounts = spec.amount ? numericColumn(ds.frame, spec.amount) : undefined;
  return evaluateScores({
    labels: Int8Array.from(rows, (i) => labels[i]),
    scores,
    timesMs: times ? Float64Array.from(rows, (i) => times[i]) : undefined,
    entities: entity ? pick(stringColumn(ds.frame, entity)) : undefined,
    entityName: entity,
    amounts: amounts ? Float64Array.from(rows, (i) => amounts[i]) : undefined,
    threshold: opts.threshold,
    k: opts.k,
    alertFee: opts.alertFee,
    dayEquivalents: times ? dayEquivalents(times, rows) : undefined,
  });
}

/** The outcome of {@linkcode trainRun}. */
export interface TrainResult {
  id: string;
  dir: string;
  config: RunConfig;
  dataset: DatasetVersion;
  split: string;
  threshold: ChosenThreshold;
  validation: EvalMetrics;
  test: EvalMetrics;
  /** Curves of the validation and test rows (what the run's report plots). */
  curves: { validation: EvalCurves; test: EvalCurves };
  /** Scores of the validation and test rows, in the order of `validationRows` and `testRows`. */
  scores: { validation: Float32Array; test: Float32Array };
  fit: FitReport;
  timings: Record<string, number>;
  /** The fitted detector and pipeline (still in memory). */
  detector: Detector;
  pipeline: FittedPipeline;
  /** The loaded dataset and the test rows (to compare other models on the same rows). */
  ds: Dataset;
  validationRows: Uint32Array;
  testRows: Uint32Array;
  /** The test rows' feature matrix (to explain or rescore them). */
  Xtest: Matrix;
  labels: Int8Array;
}

/** Options for {@linkcode trainRun}. */
/**
 * The validation or test rows of a trained run as threshold data (labels,
 * scores, amounts, days), e.g. to compare threshold strategies.
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

/**
 * Scores a data file with a stored run and evaluates it at the run's
 * threshold, k and alert fee; with `since` (YYYY-MM-DD), only rows from that
 * day on are evaluated (earlier ones feed the velocity history).
 */
export async function evaluateRunOn(
  run: LoadedRun,
  path: string,
  options: { since?: string } = {},
): Promise<EvalMetrics> {
  const ds = await loadDataset(path, run.spec);
  let rows: Uint32Array | undefined;
  if (options.since) {
    if (!ds.spec.time) throw new UserError(`--since needs a time column; ${path} has none`);
    const times = timesMs(ds.frame, ds.spec.time);
    const from = Date.parse(`${options.since}T00:00:00Z`);
    rows = Uint32Array.from(Array.from(times.keys()).filter((i) => times[i] >= from));
  } else rows = Uint32Array.from({ length: ds.frame.height }, (_, i) => i);
  const { scores } = await scoreWithRun(run, ds, rows);
  return evaluateRows(ds, { rows, scores, labels: labelsOf(ds) }, {
    threshold: run.threshold.threshold,
    k: run.config.k,
    alertFee: run.config.alertFee,
  }).metrics;
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
  };
}

/** A run read back from disk, checksums verified. */
export interface LoadedRun {
  id: string;
  dir: string;
  info: { id: string; kind: string; created: string; status: string; threshold: number | string };
  config: RunConfig;
  dataset: DatasetVersion & { split: string };
  spec: ResolvedSpec;
  pipeline: FittedPipeline;
  detector: Detector;
  threshold: ChosenThreshold;
  metrics: { validation: EvalMetrics; test: EvalMetrics };
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
    detector: await kind.load(join(dir, "model"), config.params),
    threshold,
    metrics: await readJson(dir, "metrics.json"),
  };
}

/** Reads a run's reference profile (written at training time). */
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

/** Scores rows of a dataset (all when omitted) with a run's pipeline and model. */
export async function scoreWithRun(
  run: Pick<LoadedRun, "pipeline" | "detector">,
  ds: Dataset,
  rows?: Uint32Array,
): Promise<{ scores: Float32Array; X: Matrix }> {
  const features = featureFrame(ds, run.pipeline.velocity);
  const X = transformFrame(run.pipeline, features, rows);
  return { scores: await scoreBatch(run.detector, X), X };
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
