/**
 * The batch scoring job: new, unlabeled transactions (CSV or Parquet) scored
 * with a stored model part by part, with bounded memory, exactly as the
 * scoring server would score them arriving in file order.
 *
 * - Velocity features come from an entity history fed by the file itself (in
 *   file order) and, first, by an optional history file (its last retention
 *   window, labels included, as the server warms from its training data):
 *   the server's own history code, so the features are the server's.
 * - Each part is validated as the whole file would be; a row the model
 *   cannot score (a value too large for it, no event time when velocity
 *   features need one) is written with decision `refused` and the reason,
 *   never dropped, and never enters the history (as the server refuses it).
 * - Reasons (the top N input fields by contribution) are computed for the
 *   alerts (`explain: "alerts"`, the default), every row, or none.
 * - The output (CSV or Parquet) goes to a temporary file renamed at the end:
 *   a failed job leaves no half-written output.
 * @module
 */
import pl from "nodejs-polars";
import { type DatasetChunk, DEFAULT_CHUNK_ROWS, readDatasetChunks } from "../data/chunks.ts";
import { loadDatasetFrame } from "../data/load.ts";
import { defaultLogPath, openExistingLog } from "../serving/predlog.ts";
import { parseLogWindow } from "./monitor.ts";
import type { Dataset } from "../data/load.ts";
import { groupedRows, numericColumn, stringColumn } from "../data/frame.ts";
import { calibrate } from "../eval/calibrate.ts";
import type { OnlineVelocity } from "../features/online.ts";
import { outOfRangeRows, transformFrame } from "../features/pipeline.ts";
import { timesMs } from "../features/velocity.ts";
import { scoreBatch } from "../models/mod.ts";
import { artifactsRoot } from "../registry/store.ts";
import {
  fourDigits,
  loadServedModel,
  newHistory,
  type ServedModel,
  shortestFloat32,
  topGroups,
} from "../serving/scorer.ts";
import { warmFromFile, type WarmReport } from "../serving/warm.ts";
import { fourDecimals } from "../util/format.ts";
import { type Progress, progress } from "../util/progress.ts";
import { UserError } from "../util/errors.ts";
import { dirname } from "node:path";

/** Which rows get reasons: alerts only (default), every row, or none. */
export const EXPLAIN_MODES = ["alerts", "all", "none"] as const;
/** One of {@linkcode EXPLAIN_MODES}. */
export type ExplainMode = typeof EXPLAIN_MODES[number];

/** What {@linkcode runScoreJob} scores and where it writes. */
export interface ScoreJob {
  /** The model: NAME@ALIAS, NAME@VERSION, an alias, `run:ID`, or a loaded one. */
  model: string | ServedModel;
  /**
   * Transactions to score: a CSV or Parquet file (the model's spec; labels
   * not needed), or a window of the prediction log (`log:24h`,
   * `log:FROM..TO`): the logged requests re-scored, each at its logged event
   * time and with its logged transaction id.
   */
  data: string;
  /** The prediction log a `log:` window reads (default `$FRAUDLAB_LOG` or `<root>/predictions.sqlite`). */
  log?: string;
  /** Where the scores go (CSV or Parquet by extension). */
  out: string;
  /** Reasons per explained row. Default 3. */
  reasons?: number;
  /** Which rows are explained. Default "alerts". */
  explain?: ExplainMode;
  /** Earlier transactions (labels used when present) that feed the velocity history first. */
  history?: string;
  /** About how many rows a part holds. Default 250,000. */
  chunkRows?: number;
  /** Artifacts root (default `artifacts/`). */
  root?: string;
  /** No progress display. */
  quiet?: boolean;
}

/** The outcome of {@linkcode runScoreJob}. */
export interface ScoreJobResult {
  /** The model that scored. */
  model: { name: string; version: number; run_id: string; kind: string };
  /** Rows read, scored, alerted and refused. */
  rows: number;
  scored: number;
  alerts: number;
  refused: number;
  /** Refusals by reason (the reason's kind: out_of_range, no_time, non_finite). */
  refusedBy: Record<string, number>;
  /** Rows given reasons. */
  explained: number;
  /** sha256 of the scored file (CSV; null for Parquet, read in slices). */
  sha256: string | null;
  /** The history file's warm-up, when one was given. */
  warm: WarmReport | null;
  /** Wall time from start to the renamed output, and rows per second over it. */
  seconds: number;
  rowsPerSecond: number;
  /** Largest resident set size seen (bytes, sampled after each part). */
  peakRss: number;
  /** Seconds by stage: reading and validating, checks, velocity features, pipeline, model, decisions and reasons, output. */
  timings: Record<string, number>;
  /**
   * Parts whose velocity features were computed value by value (`grouped`:
   * the file in time order, no id twice) and row after row (`rows`); both
   * give the server's numbers (`OnlineVelocity.batchInto`).
   */
  velocityParts: { grouped: number; rows: number };
  /** The output file. */
  out: string;
}

/** One part's output columns. */
interface PartOut {
  frame: pl.DataFrame;
  scored: number;
  alerts: number;
  explained: number;
}

/** Reusable per-job state. */
interface JobState {
  model: ServedModel;
  history: OnlineVelocity | null;
  reasons: number;
  explain: ExplainMode;
  idName: string;
  refusedBy: Record<string, number>;
  contrib: Float32Array;
  sums: Float64Array;
  /** Adds the time since the last lap to stage `name` (no name: only restarts). */
  lap(name?: string): void;
  timings: Record<string, number>;
  ways: { grouped: number; rows: number };
  /** Every row of the file has its own id (or none): checked before the first part. */
  distinctIds: boolean;
}

/**
 * Scores a file with a stored model (see the module doc).
 *
 * @param job the model, the data, the output, reasons and history
 * @returns counts, rate, peak memory and the output path
 *
 * @example
 * ```ts
 * import { exampleData, exampleRun } from "../testing/examples.ts";
 * import { runScoreJob } from "./score.ts";
 * const { path, root } = await exampleData();
 * const run = await exampleRun();
 * const out = `${await Deno.makeTempDir()}/scores.csv`;
 * const r = await runScoreJob({ model: `run:${run.id}`, data: path, out, root, quiet: true });
 * console.log(r.rows, r.alerts, r.rowsPerSecond > 0);
 * ```
 */
export async function runScoreJob(job: ScoreJob): Promise<ScoreJobResult> {
  const t0 = performance.now();
  const reasons = job.reasons ?? 3;
  if (!(Number.isInteger(reasons) && reasons >= 0 && reasons <= 50)) {
    throw new UserError(`--reasons must be an integer in [0, 50], got ${job.reasons}`);
  }
  const explain = job.explain ?? "alerts";
  if (!EXPLAIN_MODES.includes(explain)) {
    throw new UserError(`--explain must be one of ${EXPLAIN_MODES.join(", ")}, got "${explain}"`);
  }
  const outFormat = outputFormat(job.out);
  const model = typeof job.model === "string"
    ? await loadServedModel(job.model, job.root ?? artifactsRoot())
    : job.model;
  const history = newHistory(model);
  const warm = job.history && history
    ? await warmFromFile(history, { model, path: job.history })
    : null;
  const spec = model.run.spec;
  const timings: Record<string, number> = {};
  let lastLap = performance.now();
  const state: JobState = {
    model,
    history,
    reasons: explain === "none" ? 0 : reasons,
    explain,
    idName: spec.id ?? "row",
    refusedBy: {},
    ways: { grouped: 0, rows: 0 },
    distinctIds: history && spec.id && !job.data.startsWith("log:")
      ? distinctIds(job.data, spec.id)
      : false,
    contrib: new Float32Array(model.run.pipeline.columns.length),
    sums: new Float64Array(model.groups.length),
    timings,
    lap: (name?: string) => {
      const now = performance.now();
      if (name) timings[name] = (timings[name] ?? 0) + (now - lastLap) / 1000;
      lastLap = now;
    },
  };
  const tmp = `${job.out}.tmp-${Deno.pid}-${Date.now()}`;
  await Deno.mkdir(dirname(job.out), { recursive: true });
  const totals = { rows: 0, scored: 0, alerts: 0, explained: 0 };
  let sha256: string | null = null, peakRss = Deno.memoryUsage().rss;
  let bar: Progress | null = null, parts = 0;
  const csv = outFormat === "csv" ? await Deno.open(tmp, { write: true, createNew: true }) : null;
  const partDir = outFormat === "parquet"
    ? await Deno.makeTempDir({ dir: dirname(job.out), prefix: ".score-" })
    : null;
  try {
    const parts_ = job.data.startsWith("log:")
      ? logParts(job.data, model, {
        log: job.log ?? defaultLogPath(job.root ?? artifactsRoot()),
        rows: job.chunkRows ?? DEFAULT_CHUNK_ROWS,
      })
      : readDatasetChunks(job.data, spec, {
        rows: job.chunkRows ?? DEFAULT_CHUNK_ROWS,
        onHash: (h) => sha256 = h,
      });
    for await (const part of parts_) {
      state.lap("read_s");
      const n = part.ds.frame.height;
      if (!bar) {
        // Total rows estimated from the first part's share of the file.
        const est = Math.max(n, Math.round(n * part.total / Math.max(1, part.done)));
        bar = progress("score", est, { quiet: job.quiet });
      }
      const o = await scorePart(state, part.ds, part.firstRow);
      if (csv) {
        const text = o.frame.writeCSV({ includeHeader: parts === 0 }) as unknown as Uint8Array;
        await writeAll(csv, text);
      } else {
        o.frame.writeParquet(`${partDir}/${String(parts).padStart(6, "0")}.parquet`);
      }
      state.lap("write_s");
      parts++;
      totals.rows += n;
      totals.scored += o.scored;
      totals.alerts += o.alerts;
      totals.explained += o.explained;
      bar.tick(n);
      // A part's frames live in polars' native memory, which V8 does not see: without a
      // collection after each part they pile up until one comes (10,414,237 rows: 5.3 GB
      // peak without, 2.4 GB with). `deno task score` runs with --expose-gc.
      (globalThis as { gc?: () => void }).gc?.();
      peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
    }
    bar?.done();
    if (csv) {
      csv.close();
      await Deno.rename(tmp, job.out);
    } else {
      pl.scanParquet(`${partDir}/*.parquet`).sinkParquet(tmp).collectSync();
      await Deno.rename(tmp, job.out);
    }
  } catch (e) {
    try {
      csv?.close();
    } catch { /* already closed */ }
    await Deno.remove(tmp).catch(() => {});
    throw e;
  } finally {
    if (partDir) await Deno.remove(partDir, { recursive: true }).catch(() => {});
  }
  const seconds = (performance.now() - t0) / 1000;
  const refused = Object.values(state.refusedBy).reduce((a, b) => a + b, 0);
  return {
    model: {
      name: model.name,
      version: model.version,
      run_id: model.run.id,
      kind: model.run.config.model,
    },
    ...totals,
    refused,
    refusedBy: state.refusedBy,
    sha256,
    warm,
    seconds,
    rowsPerSecond: totals.rows / seconds,
    peakRss,
    velocityParts: state.ways,
    timings: Object.fromEntries(
      Object.entries(state.timings).map(([k, v]) => [k, Number(v.toFixed(3))]),
    ),
    out: job.out,
  };
}

/**
 * The requests of a prediction-log window as parts of a dataset: each
 * logged record's fields, its logged event time (ISO) in the time column and
 * its logged transaction id in the id column, in scoring order.
 */
async function* logParts(
  window: string,
  model: ServedModel,
  options: { log: string; rows: number },
): AsyncGenerator<DatasetChunk> {
  const w = parseLogWindow(window);
  const log = openExistingLog(options.log);
  let rows;
  try {
    rows = log.predictions(w.from, w.to);
  } finally {
    log.close();
  }
  if (rows.length === 0) {
    throw new UserError(`${window}: no predictions logged in ${options.log} in that window`);
  }
  const fields = model.schema.fields;
  for (let first = 0; first < rows.length; first += options.rows) {
    const part = rows.slice(first, first + options.rows);
    const inputs = part.map((r) => JSON.parse(r.input) as Record<string, unknown>);
    const columns = fields.map((f) => {
      if (f.role === "time") {
        return pl.Series(
          f.name,
          part.map((r) => r.event_time === null ? null : new Date(r.event_time).toISOString()),
          pl.Utf8,
        );
      }
      if (f.role === "id") return pl.Series(f.name, part.map((r) => r.transaction_id), pl.Utf8);
      if (f.role === "numeric") {
        return pl.Series(
          f.name,
          inputs.map((v) => (typeof v[f.name] === "number" ? v[f.name] as number : null)),
          pl.Float64,
        );
      }
      return pl.Series(
        f.name,
        inputs.map((v) => (v[f.name] == null ? null : String(v[f.name]))),
        pl.Utf8,
      );
    });
    const ds = loadDatasetFrame(pl.DataFrame(columns), model.run.spec, {
      name: `${options.log} ${window}`,
      format: "parquet",
      labels: "optional",
      part: { rows: first, lines: first },
    });
    yield { ds, firstRow: first, done: first + part.length, total: rows.length };
  }
}

/**
 * Whether no id of a CSV or Parquet file is given twice (missing ids
 * aside), read as text as the parts read it; false when the file cannot be
 * scanned so (the parts then say what is wrong).
 */
function distinctIds(path: string, column: string): boolean {
  try {
    const scan = path.toLowerCase().endsWith(".parquet")
      ? pl.scanParquet(path)
      : pl.scanCSV(path, { hasHeader: true, sep: ",", quoteChar: '"', inferSchemaLength: 0 });
    const id = pl.col(column).cast(pl.Utf8);
    // Sorted, a repeated id sits next to its twin: 1.7 s for 10M ids here, scan included (7.0 s hashed).
    const r = scan.select(id.alias("id")).filter(pl.col("id").isNotNull())
      .select(pl.col("id").sort().alias("id"))
      .select(pl.col("id").eq(pl.col("id").shift(1)).cast(pl.UInt32).sum().alias("twice"))
      .collectSync();
    return Number(r.getColumn("twice").get(0)) === 0;
  } catch {
    return false;
  }
}

function outputFormat(path: string): "csv" | "parquet" {
  const lower = path.toLowerCase();
  if (lower.endsWith(".csv")) return "csv";
  if (lower.endsWith(".parquet")) return "parquet";
  throw new UserError(`--out ${path}: expected a .csv or .parquet file`);
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await file.write(bytes.subarray(at));
}

/** Scores one part: features in row order through the history, the matrix, scores, reasons. */
async function scorePart(state: JobState, ds: Dataset, firstRow: number): Promise<PartOut> {
  const lap = state.lap;
  lap();
  const { model, history } = state;
  const fp = model.run.pipeline, spec = model.run.spec;
  const frame = ds.frame, n = frame.height;
  const refused: (string | null)[] = new Array(n).fill(null);
  const refuse = (i: number, kind: string, why: string) => {
    refused[i] = why;
    state.refusedBy[kind] = (state.refusedBy[kind] ?? 0) + 1;
  };
  const bad = outOfRangeRows(fp, frame);
  for (let i = 0; i < n; i++) {
    if (bad[i] >= 0) {
      const field = fp.numeric[bad[i]].name;
      refuse(i, "out_of_range", model.outOfRangeMessage(field, numericColumn(frame, field)[i]));
    }
  }
  // The history needs the ids only to count a transaction given twice once: not when every id
  // of the file is distinct and none is remembered from the history file (no id reaches the
  // history then, as none could be found again; a job takes no labels).
  let ids = !spec.id || (state.distinctIds && history?.idsHeld === 0)
    ? null
    : stringColumn(frame, spec.id);
  if (ids && state.distinctIds && !ids.some((id) => id !== null && history!.remembers(id))) {
    ids = null;
  }
  lap("check_s");
  const given = new Map<string, Float64Array>();
  let derived: Float64Array[] | null = null;
  const names = history ? history.names : [];
  if (history) {
    const times = timesMs(frame, spec.time!);
    const skip = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (refused[i] !== null) skip[i] = 1;
      else if (times[i] !== times[i]) {
        refuse(i, "no_time", `"${spec.time}" is missing: velocity features need the event time`);
        skip[i] = 1;
      }
    }
    const columns = names.map(() => new Float64Array(n));
    state.ways[
      history.batchInto({
        times,
        entities: history.options.entities.map((e) => groupedRows(frame, e)),
        amounts: spec.amount ? numericColumn(frame, spec.amount) : null,
        ids,
        skip,
      }, columns)
    ]++;
    names.forEach((name, k) => given.set(name, columns[k]));
    derived = columns;
  }
  lap("velocity_s");
  const X = transformFrame(fp, { frame }, { columns: given });
  lap("pipeline_s");
  const detector = model.run.detector;
  const scores = await scoreBatch(detector, X);
  lap("model_s");
  const calibration = model.run.calibration;
  const probOut = calibration ? new Float64Array(n) : null;
  // 0 pass, 1 alert, 2 refused
  const decision = new Int8Array(n);
  const k = state.reasons;
  /** The explained rows and their reasons (few: alerts by default), joined on after. */
  const explainedRows: number[] = [];
  const reasonCols = Array.from({ length: k }, () => ({
    feature: [] as (string | null)[],
    contribution: [] as (number | null)[],
    value: [] as (string | null)[],
  }));
  let scored = 0, alerts = 0;
  const cols = X.cols;
  const derivedAt = new Map(names.map((nm, j) => [nm, j]));
  const inputs = new Map<string, Float64Array | (string | null)[] | null>();
  /** A reason's value: a derived value to four decimals, an input value as read. */
  const valueOf = (field: string, i: number): string | null => {
    const d = derivedAt.get(field);
    if (d !== undefined && derived) {
      const v = derived[d][i];
      return v === v ? String(fourDecimals(v)) : null;
    }
    let col = inputs.get(field);
    if (col === undefined) {
      col = !frame.columns.includes(field)
        ? null
        : frame.getColumn(field).isNumeric()
        ? numericColumn(frame, field)
        : stringColumn(frame, field);
      inputs.set(field, col);
    }
    if (col === null) return null;
    const v = col[i];
    return typeof v === "number" ? (v === v ? String(v) : null) : v;
  };
  for (let i = 0; i < n; i++) {
    if (refused[i] !== null) {
      decision[i] = 2;
      continue;
    }
    const s = scores[i];
    if (!Number.isFinite(s)) {
      refuse(i, "non_finite", "the model produced a non-finite score");
      decision[i] = 2;
      continue;
    }
    scored++;
    if (probOut) probOut[i] = calibrate(calibration!, s);
    const alert = s >= model.threshold;
    if (alert) {
      alerts++;
      decision[i] = 1;
    }
    if (k > 0 && (alert || state.explain === "all")) {
      const row = X.data.subarray(i * cols, (i + 1) * cols);
      if (detector.scoreOne) detector.scoreOne(row, state.contrib);
      else state.contrib.set(detector.explain(row));
      const top = topGroups(model.groupOf, state.contrib, { sums: state.sums, n: k });
      explainedRows.push(i);
      for (let r = 0; r < k; r++) {
        const g = top[r];
        const field = g === -1 ? null : model.groups[g];
        reasonCols[r].feature.push(field);
        reasonCols[r].contribution.push(g === -1 ? null : fourDigits(state.sums[g]));
        reasonCols[r].value.push(field === null ? null : valueOf(field, i));
      }
    }
  }
  // Scores and probabilities written as the server answers them (shortestFloat32):
  // the shortest decimal that reads back as the same float32 (ties as the server breaks them).
  const scoreOut = new Float64Array(n);
  for (let i = 0; i < n; i++) scoreOut[i] = shortestFloat32(scores[i]);
  if (probOut) {
    for (let i = 0; i < n; i++) {
      probOut[i] = shortestFloat32(Math.fround(probOut[i]));
    }
  }
  lap("decide_s");
  const refusedAt = refused.flatMap((why, i) => (why === null ? [] : [i]));
  const isRefused = pl.col("decision").eq(2);
  let table = pl.DataFrame([
    spec.id
      ? frame.getColumn(spec.id).rename(state.idName)
      : pl.Series(state.idName, Float64Array.from({ length: n }, (_, i) => firstRow + i + 1))
        .cast(pl.Int64),
    pl.Series("score", scoreOut, pl.Float64),
    ...(probOut ? [pl.Series("probability", probOut, pl.Float64)] : []),
    pl.Series("decision", decision, pl.Int8),
  ]).withRowIndex("__row").withColumns(
    pl.when(isRefused).then(pl.lit(null)).otherwise(pl.col("score")).alias("score"),
    ...(probOut
      ? [
        pl.when(isRefused).then(pl.lit(null)).otherwise(pl.col("probability")).alias("probability"),
      ]
      : []),
    pl.when(pl.col("decision").eq(1)).then(pl.lit("alert")).when(isRefused).then(pl.lit("refused"))
      .otherwise(pl.lit("pass")).alias("decision"),
  );
  if (k > 0) {
    const reasonFrame = pl.DataFrame([
      pl.Series("__row", explainedRows, pl.UInt32),
      ...reasonCols.flatMap((c, r) => [
        pl.Series(`reason_${r + 1}`, c.feature, pl.Utf8),
        pl.Series(`contribution_${r + 1}`, c.contribution, pl.Float64),
        pl.Series(`value_${r + 1}`, c.value, pl.Utf8),
      ]),
    ]);
    table = table.join(reasonFrame, { on: "__row", how: "left" });
  }
  const errors = pl.DataFrame([
    pl.Series("__row", refusedAt, pl.UInt32),
    pl.Series("error", refusedAt.map((i) => refused[i]), pl.Utf8),
  ]);
  table = table.join(errors, { on: "__row", how: "left" }).sort("__row").drop("__row");
  lap("output_s");
  return { frame: table, scored, alerts, explained: explainedRows.length };
}
