/**
 * The evaluation job: score a data file with a stored run (its spec,
 * pipeline and model) and evaluate it at the run's threshold, k and alert
 * fee; optionally only from a day on (earlier rows feed the velocity
 * history) and writing the scores.
 * @module
 */
import pl from "nodejs-polars";
import { type DatasetVersion, datasetVersion } from "../data/fingerprint.ts";
import { type Dataset, loadDataset } from "../data/load.ts";
import { labelsOf } from "../data/frame.ts";
import { type EvalMetrics, evaluateRows } from "../eval/evaluate.ts";
import { featureFrame, type Matrix, transformFrame } from "../features/pipeline.ts";
import { timesMs } from "../features/velocity.ts";
import { scoreBatch } from "../models/mod.ts";
import { loadRunRef } from "../registry/aliases.ts";
import { headline, type LoadedRun } from "../registry/runs.ts";
import { removeDetectedCards } from "../registry/config.ts";
import { writeFrame } from "../data/write.ts";
import { UserError } from "../util/errors.ts";

/** Scores rows of a dataset (all when omitted) with a run's pipeline and model. */
export async function scoreWithRun(
  run: Pick<LoadedRun, "pipeline" | "detector">,
  ds: Dataset,
  options: { rows?: Uint32Array } = {},
): Promise<{ scores: Float32Array; X: Matrix }> {
  const features = featureFrame(ds, run.pipeline.velocity);
  const X = transformFrame(run.pipeline, features, { rows: options.rows });
  return { scores: await scoreBatch(run.detector, X), X };
}

/** What {@linkcode runEvaluateJob} scores and where it writes. */
export interface EvaluateJob {
  /** The run: a loaded run, or a reference (RUN id, NAME@ALIAS, NAME@VERSION, an alias). */
  run: string | LoadedRun;
  /** Data file to score (CSV or Parquet, read with the run's spec). */
  data: string;
  /** Evaluate only rows from this UTC day (YYYY-MM-DD) on; earlier rows feed the history. */
  since?: string;
  /** Write id (when the spec has one), score and alert per evaluated row (CSV or Parquet). */
  out?: string;
  /** Artifacts root the reference is resolved in (default `artifacts/`). */
  root?: string;
}

/** The outcome of {@linkcode runEvaluateJob}. */
export interface EvaluateJobResult {
  /** The run that scored. */
  run: LoadedRun;
  /** Version of the scored data. */
  data: DatasetVersion;
  /** Seconds spent scoring (features, pipeline and model). */
  seconds: number;
  /** The run's threshold. */
  threshold: number;
  /** Every figure of the evaluated rows. */
  metrics: EvalMetrics;
  /** The figures a listing shows. */
  headline: Record<string, number | null>;
}

/**
 * Scores a data file with a stored run and evaluates it (see the module doc).
 *
 * @param job the run, the data, the first evaluated day, where scores go
 * @returns the metrics, the data version and the scoring time
 *
 * @example
 * ```ts
 * import { exampleData, exampleRun } from "../testing/examples.ts";
 * import { runEvaluateJob } from "./evaluate.ts";
 * const { path } = await exampleData();
 * const r = await runEvaluateJob({ run: (await exampleRun()).dir, data: path });
 * console.log(r.headline.averagePrecision, r.seconds);
 * ```
 */
export async function runEvaluateJob(job: EvaluateJob): Promise<EvaluateJobResult> {
  const run = typeof job.run === "string" ? await loadRunRef(job.run, job.root) : job.run;
  const ds = await loadDataset(job.data, run.spec);
  let rows: Uint32Array;
  if (job.since) {
    if (!ds.spec.time) throw new UserError(`--since needs a time column; ${job.data} has none`);
    const from = Date.parse(`${job.since}T00:00:00Z`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(job.since) || !Number.isFinite(from)) {
      throw new UserError(`--since: expected a day YYYY-MM-DD, got "${job.since}"`);
    }
    const times = timesMs(ds.frame, ds.spec.time);
    rows = Uint32Array.from(Array.from(times.keys()).filter((i) => times[i] >= from));
  } else rows = Uint32Array.from({ length: ds.frame.height }, (_, i) => i);
  const t0 = performance.now();
  const { scores } = await scoreWithRun(run, ds, { rows });
  const seconds = (performance.now() - t0) / 1000;
  const threshold = run.threshold.threshold;
  const { metrics } = evaluateRows(ds, { rows, scores, labels: labelsOf(ds) }, {
    threshold,
    k: run.config.k,
    alertFee: run.config.alertFee,
    removeDetected: removeDetectedCards(run.config),
  });
  if (job.out) {
    const cols: pl.Series[] = [];
    if (ds.spec.id) cols.push(ds.frame.getColumn(ds.spec.id).gather(Array.from(rows)));
    cols.push(
      pl.Series("score", scores),
      pl.Series("alert", Array.from(scores, (s) => s >= threshold)),
    );
    writeFrame(pl.DataFrame(cols), job.out);
  }
  return {
    run,
    data: datasetVersion(ds),
    seconds,
    threshold,
    metrics,
    headline: headline(metrics),
  };
}

/**
 * Scores a data file with a stored run and evaluates it at the run's
 * threshold, k and alert fee; with `since` (YYYY-MM-DD), only rows from that
 * day on are evaluated (earlier ones feed the velocity history).
 *
 * @param run a loaded run
 * @param path the data file
 * @param options the first evaluated day
 * @returns the metrics
 *
 * @example
 * ```ts
 * import { exampleData, exampleRun } from "../testing/examples.ts";
 * import { loadRun } from "../registry/runs.ts";
 * import { evaluateRunOn } from "./evaluate.ts";
 * const run = await loadRun((await exampleRun()).dir);
 * const m = await evaluateRunOn(run, (await exampleData()).path, { since: "2025-02-01" });
 * console.log(m.rows, m.averagePrecision);
 * ```
 */
export async function evaluateRunOn(
  run: LoadedRun,
  path: string,
  options: { since?: string } = {},
): Promise<EvalMetrics> {
  return (await runEvaluateJob({ run, data: path, since: options.since })).metrics;
}
