/**
 * Model selection the Handbook's way (chapter 5): every configuration of a
 * grid or a random search is fitted and assessed on prequential folds, the
 * best by a metric is refitted as a run (its own time split, threshold and
 * test) and the search is stored in that run (`tune.json`) and its report.
 *
 * Folds (the book's validation folds, before the run's test window): with
 * the run's training window starting at s, fold f trains on
 * [s − D − F − f·F, … + T), waits the label delay D, and is assessed on the
 * next F days (T training days, F = `foldDays`): fold 0 is assessed on the
 * run's training window itself, as the book's validation is, and no fold
 * reaches the run's validation or test rows.
 * An assessment window drops cards known to be compromised (a fraud from
 * the fold's training window on, the delay before their day), and card
 * precision@k leaves out cards detected on earlier days, as the run's test
 * does. The features are computed once; each fold fits its own pipeline.
 * The configurations are spread over worker threads, one per core
 * (`tune_worker.ts`; their tree kinds then on one thread each), with the
 * figures one thread gives (tested).
 * @module
 */
import { loadSpec } from "../data/datasets.ts";
import { loadDataset } from "../data/load.ts";
import { labelsOf, stringColumn } from "../data/frame.ts";
import { splitTimeWindows } from "../data/split.ts";
import { averagePrecision } from "../eval/curves.ts";
import { entityPrecisionAtK, rocAuc } from "../eval/metrics.ts";
import {
  type FeatureFrame,
  featureFrame,
  fitPipeline,
  type FittedPipeline,
  type Matrix,
  type PipelineConfig,
  transformFrame,
  velocityOptionsFor,
} from "../features/pipeline.ts";
import type { Dataset } from "../data/load.ts";
import { timesMs } from "../features/velocity.ts";
import {
  type DetectorKind,
  fitOnRows,
  getKind,
  type Params,
  resolveParams,
  scoreBatch,
} from "../models/mod.ts";
import { resolveRunConfig, type RunConfigInput } from "../registry/config.ts";
import {
  type ConfigResult,
  type TrainResult,
  TUNE_METRICS,
  type TuneMetric,
  type TuneReport,
} from "../registry/runs.ts";

export { type ConfigResult, TUNE_METRICS, type TuneMetric, type TuneReport };
import { progress } from "../util/progress.ts";
import { Rng } from "../util/rng.ts";
import { UserError } from "../util/errors.ts";
import { DAY_MS } from "../util/time.ts";
import { meanStd } from "../util/stats.ts";
import { dropKnownCompromised } from "./split.ts";
import { parseResample, type Resample } from "../models/resample.ts";
import { type TrainOptions, trainRun } from "./train.ts";

/** A parameter's search space: listed values, or a range a random search draws from. */
export type ParamSpace =
  | { values: (number | string | boolean)[] }
  | { lo: number; hi: number; integer: boolean; log: boolean };

/**
 * Reads `NAME=v1,v2,…` (values) or `NAME=lo..hi` (a range: integers when
 * both ends are, log-uniform when 0 < lo and hi ≥ 10·lo); a one-line
 * UserError otherwise.
 */
export function parseParamSpace(text: string): [string, ParamSpace] {
  const m = /^([A-Za-z][A-Za-z0-9_]*)=(.+)$/.exec(text);
  if (!m) throw new UserError(`--param ${text}: expected NAME=v1,v2,... or NAME=lo..hi`);
  const [, name, rest] = m;
  const range = /^(-?[\d.eE+-]+)\.\.(-?[\d.eE+-]+)$/.exec(rest);
  if (range) {
    const lo = Number(range[1]), hi = Number(range[2]);
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi)) {
      throw new UserError(`--param ${text}: a range needs two numbers lo < hi`);
    }
    const integer = !/[.eE]/.test(range[1]) && !/[.eE]/.test(range[2]);
    return [name, { lo, hi, integer, log: lo > 0 && hi >= 10 * lo }];
  }
  const values = rest.split(",").map((v) => v.trim());
  if (values.some((v) => v === "")) throw new UserError(`--param ${text}: an empty value`);
  return [name, {
    values: values.map((v) =>
      v === "true" ? true : v === "false" ? false : Number.isFinite(Number(v)) ? Number(v) : v
    ),
  }];
}

/**
 * The configurations to try: every combination of listed values (grid), or
 * `random` draws (seeded) from the spaces. A grid takes listed values only.
 */
export function configurations(
  spaces: [string, ParamSpace][],
  search: { random?: number; seed: number },
): Params[] {
  if (search.random === undefined) {
    let out: Params[] = [{}];
    for (const [name, space] of spaces) {
      if (!("values" in space)) {
        throw new UserError(
          `--param ${name}: a range needs --search random:N (a grid takes listed values)`,
        );
      }
      out = out.flatMap((p) => space.values.map((v) => ({ ...p, [name]: v })));
    }
    return out;
  }
  const rng = new Rng(search.seed + 7919);
  return Array.from({ length: search.random }, () => {
    const p: Params = {};
    for (const [name, space] of spaces) {
      if ("values" in space) p[name] = space.values[rng.int(space.values.length)];
      else if (space.log) {
        const x = Math.exp(rng.uniform(Math.log(space.lo), Math.log(space.hi)));
        p[name] = space.integer ? Math.round(x) : x;
      } else {
        p[name] = space.integer
          ? space.lo + rng.int(space.hi - space.lo + 1)
          : rng.uniform(space.lo, space.hi);
      }
    }
    return p;
  });
}

/** One prequential fold: its rows, pipeline and assessment matrix. */
export interface PrequentialFold {
  train: Uint32Array;
  assess: Uint32Array;
  pipeline: FittedPipeline;
  X: Matrix;
  y: Int8Array;
  times: Float64Array;
  cards: (string | null)[] | null;
  window: TuneReport["folds"][number];
}

/**
 * Prequential folds (the Handbook's `prequentialSplit`): fold f trains on
 * `trainDays` from `firstTrainStart` − f · `foldDays`, waits `delayDays`,
 * and is assessed on the next `foldDays`, without known-compromised cards
 * when asked; each fold fits its own pipeline on its training rows.
 */
export function prequentialFolds(
  data: { ds: Dataset; ff: FeatureFrame; labels: Int8Array; times: Float64Array },
  o: {
    firstTrainStart: number;
    trainDays: number;
    delayDays: number;
    foldDays: number;
    folds: number;
    dropCompromised: boolean;
    features: PipelineConfig;
  },
): PrequentialFold[] {
  const { ds, ff, labels, times: t } = data;
  const card = ds.spec.entities[0];
  const cards = card ? stringColumn(ds.frame, card) : null;
  const folds: PrequentialFold[] = [];
  for (let f = 0; f < o.folds; f++) {
    const start = o.firstTrainStart - f * o.foldDays * DAY_MS;
    const s = splitTimeWindows(t, {
      trainDays: o.trainDays,
      gapDays: o.delayDays,
      testDays: o.foldDays,
      startMs: start,
    });
    const assess = cards && o.dropCompromised
      ? dropKnownCompromised(s.test, { times: t, labels, cards }, {
        fromMs: start,
        delayDays: o.delayDays,
      })
      : s.test;
    const frauds = (rows: Uint32Array) => rows.reduce((n, i) => n + labels[i], 0);
    if (frauds(s.train) === 0 || frauds(assess) === 0) {
      throw new UserError(
        `tune: fold ${f} (train from ${iso(start)}) has no fraud to ${
          frauds(s.train) ? "assess" : "fit"
        }: use fewer --folds or more data`,
      );
    }
    const pipeline = fitPipeline(ff, s.train, o.features);
    const assessFrom = start + (o.trainDays + o.delayDays) * DAY_MS;
    folds.push({
      train: s.train,
      assess,
      pipeline,
      X: transformFrame(pipeline, ff, { rows: assess }),
      y: Int8Array.from(assess, (i) => labels[i]),
      times: Float64Array.from(assess, (i) => t[i]),
      cards: cards ? Array.from(assess, (i) => cards[i]) : null,
      window: {
        train: [iso(start), iso(start + o.trainDays * DAY_MS)],
        assess: [iso(assessFrom), iso(assessFrom + o.foldDays * DAY_MS)],
        rows: assess.length,
        frauds: frauds(assess),
      },
    });
  }
  return folds;
}

/** Fits one configuration on every fold's training rows and assesses it: AP, ROC-AUC, card precision@k per fold. */
export async function assessOnFolds(
  model: { kind: DetectorKind; params: Params; resample: Resample },
  folds: PrequentialFold[],
  o: {
    seed: number;
    k: number;
    removeDetected: boolean;
    labels: Int8Array;
    ff: FeatureFrame;
    tick?: () => void;
  },
): Promise<Record<TuneMetric, number>[]> {
  const out: Record<TuneMetric, number>[] = [];
  for (const fold of folds) {
    const { detector } = await fitOnRows(
      model,
      { pipeline: fold.pipeline, ff: o.ff, rows: fold.train, labels: o.labels },
      { seed: o.seed, quiet: true },
    );
    out.push(foldFigures(fold, await scoreBatch(detector, fold.X), o));
    o.tick?.();
  }
  return out;
}

/** A fold's figures for assessment scores. */
export function foldFigures(
  fold: Pick<PrequentialFold, "y" | "times" | "cards">,
  scores: Float32Array,
  o: { k: number; removeDetected: boolean },
): Record<TuneMetric, number> {
  return {
    ap: averagePrecision(fold.y, scores),
    auc: rocAuc(fold.y, scores),
    cp100: fold.cards
      ? entityPrecisionAtK(fold.y, scores, {
        timesMs: fold.times,
        entities: fold.cards,
        k: o.k,
        removeDetected: o.removeDetected,
      }).mean
      : NaN,
  };
}

/** What a search worker is sent: the folds as matrices, and its share of the configurations. */
export interface TuneWorkerJob {
  kind: string;
  configs: { index: number; params: Params }[];
  folds: {
    Xtrain: Matrix;
    ytrain: Int8Array;
    X: Matrix;
    y: Int8Array;
    times: Float64Array;
    cards: (string | null)[] | null;
  }[];
  resample: Resample;
  seed: number;
  k: number;
  removeDetected: boolean;
}

/** A worker's answer: one fold of one configuration done, or one configuration's figures. */
export type TuneWorkerReply =
  | { tick: true }
  | { index: number; folds: Record<TuneMetric, number>[]; seconds: number }
  | { error: string };

/**
 * Assesses configurations on worker threads, one configuration at a time
 * each (their tree kinds on one thread each): the folds' matrices are sent
 * once, and the figures are the one-thread path's, fitted on the same
 * matrices with the same seed. For kinds fitted on every row (supervised,
 * no sampling); `null` otherwise, or with one core.
 */
async function assessInWorkers(
  kind: DetectorKind,
  configs: Params[],
  folds: PrequentialFold[],
  o: {
    seed: number;
    k: number;
    removeDetected: boolean;
    resample: Resample;
    ff: FeatureFrame;
    labels: Int8Array;
    tick: () => void;
    workers: number;
  },
): Promise<{ folds: Record<TuneMetric, number>[]; seconds: number }[] | null> {
  const cores = Math.min(o.workers, configs.length);
  if (cores < 2 || kind.fitOn !== "all" || kind.fitSample) return null;
  const data = folds.map((f) => ({
    Xtrain: transformFrame(f.pipeline, o.ff, { rows: f.train }),
    ytrain: Int8Array.from(f.train, (i) => o.labels[i]),
    X: f.X,
    y: f.y,
    times: f.times,
    cards: f.cards,
  }));
  const threaded = "threads" in kind.defaults;
  const out: { folds: Record<TuneMetric, number>[]; seconds: number }[] = new Array(configs.length);
  await Promise.all(Array.from({ length: cores }, (_, w) => {
    const mine = configs.flatMap((params, index) =>
      index % cores === w ? [{ index, params: threaded ? { ...params, threads: 1 } : params }] : []
    );
    const worker = new Worker(new URL("./tune_worker.ts", import.meta.url).href, {
      type: "module",
    });
    const job: TuneWorkerJob = {
      kind: kind.name,
      configs: mine,
      folds: data,
      resample: o.resample,
      seed: o.seed,
      k: o.k,
      removeDetected: o.removeDetected,
    };
    return new Promise<void>((resolve, reject) => {
      let left = mine.length;
      worker.onmessage = (e: MessageEvent<TuneWorkerReply>) => {
        const r = e.data;
        if ("tick" in r) o.tick();
        else if ("error" in r) {
          worker.terminate();
          reject(new UserError(`tune: ${r.error}`));
        } else {
          out[r.index] = { folds: r.folds, seconds: r.seconds };
          if (--left === 0) {
            worker.terminate();
            resolve();
          }
        }
      };
      worker.onerror = (e) => {
        e.preventDefault();
        worker.terminate();
        reject(new Error(`tune worker: ${e.message}`));
      };
      if (left === 0) {
        worker.terminate();
        resolve();
      } else worker.postMessage(job);
    });
  }));
  return out;
}

/** The folds' mean and standard deviation per metric. */
function summarize(
  perFold: Record<TuneMetric, number>[],
): { mean: Record<TuneMetric, number>; std: Record<TuneMetric, number> } {
  const mean = {} as Record<TuneMetric, number>, std = {} as Record<TuneMetric, number>;
  for (const m of TUNE_METRICS) {
    const { mean: mu, sd } = meanStd(perFold.map((p) => p[m]));
    mean[m] = mu;
    std[m] = sd;
  }
  return { mean, std };
}

/** What {@linkcode tuneRun} is asked. */
export interface TuneInput {
  /** The run config (a time split); its params are the base every configuration overrides. */
  config: RunConfigInput;
  spaces: [string, ParamSpace][];
  /** Random search with this many draws; a grid when absent. */
  random?: number;
  folds?: number;
  foldDays?: number;
  metric?: TuneMetric;
  /** Threads the configurations are spread over (default: the cores; 1: this thread alone). */
  workers?: number;
}

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Runs the search (see the module doc) and trains the best configuration
 * as a run holding `tune.json`.
 */
export async function tuneRun(
  input: TuneInput,
  options: TrainOptions = {},
): Promise<{ report: TuneReport; run: TrainResult }> {
  const started = performance.now();
  const config = resolveRunConfig(input.config);
  const split = config.split;
  if (split.method !== "time") throw new UserError("tune: needs --split time (prequential folds)");
  const metric = input.metric ?? "ap";
  const nFolds = input.folds ?? 4;
  const foldDays = input.foldDays ?? split.testDays;
  const kind = getKind(config.model);
  const resample = parseResample(config.resample);
  const candidates = configurations(input.spaces, { random: input.random, seed: config.seed });
  for (const c of candidates) resolveParams(kind, { ...config.params, ...c }); // names and types
  for (const c of candidates) kind.create(resolveParams(kind, { ...config.params, ...c })); // ranges

  const ds = await loadDataset(config.data, await loadSpec(config.spec));
  if (!ds.spec.time) throw new UserError(`tune: spec "${ds.spec.name}" has no time column`);
  const labels = labelsOf(ds);
  const t = timesMs(ds.frame, ds.spec.time);
  let max = -Infinity;
  for (let i = 0; i < t.length; i++) if (t[i] > max) max = t[i];
  // The run's training window start, as its split computes it.
  const end = split.testEnd ? Date.parse(split.testEnd) : (Math.floor(max / DAY_MS) + 1) * DAY_MS;
  const testStart = end - split.testDays * DAY_MS;
  const valStart = split.validation === "time"
    ? testStart - split.validationDays * DAY_MS
    : testStart;
  const runStart = valStart - (split.delayDays + split.trainDays) * DAY_MS;
  const ff = featureFrame(ds, velocityOptionsFor(ds.spec, config.features));
  const folds = prequentialFolds({ ds, ff, labels, times: t }, {
    firstTrainStart: runStart - (split.delayDays + foldDays) * DAY_MS,
    trainDays: split.trainDays,
    delayDays: split.delayDays,
    foldDays,
    folds: nFolds,
    dropCompromised: split.compromised === "drop",
    features: config.features,
  });

  const bar = progress(`tune ${kind.name}`, candidates.length * nFolds, {
    unit: "fits",
    quiet: options.quiet,
  });
  const results: ConfigResult[] = [];
  const parallel = await assessInWorkers(
    kind,
    candidates.map((c) => resolveParams(kind, { ...config.params, ...c })),
    folds,
    {
      seed: config.seed,
      k: config.k,
      removeDetected: split.detectedCards !== "keep",
      resample,
      ff,
      labels,
      tick: () => bar.tick(),
      workers: input.workers ?? navigator.hardwareConcurrency ?? 1,
    },
  );
  for (const [i, c] of candidates.entries()) {
    if (parallel) {
      const { folds: perFold, seconds } = parallel[i];
      results.push({ params: c, folds: perFold, ...summarize(perFold), seconds });
      continue;
    }
    const c0 = performance.now();
    const params = resolveParams(kind, { ...config.params, ...c });
    const perFold = await assessOnFolds({ kind, params, resample }, folds, {
      seed: config.seed,
      k: config.k,
      removeDetected: split.detectedCards !== "keep",
      labels,
      ff,
      tick: () => bar.tick(),
    });
    results.push({
      params: c,
      folds: perFold,
      ...summarize(perFold),
      seconds: (performance.now() - c0) / 1000,
    });
  }
  bar.done();
  let best = 0;
  for (let i = 1; i < results.length; i++) {
    if (results[i].mean[metric] > results[best].mean[metric]) best = i;
  }
  const report: TuneReport = {
    format: "fraudlab.tune/1",
    model: kind.name,
    metric,
    search: input.random === undefined ? "grid" : `random:${input.random}`,
    folds: folds.map((f) => f.window),
    results,
    best,
    seconds: 0,
  };
  report.seconds = (performance.now() - started) / 1000;
  const run = await trainRun(
    { ...input.config, params: { ...config.params, ...results[best].params } },
    { ...options, attach: { "tune.json": report } },
  );
  return { report, run };
}
