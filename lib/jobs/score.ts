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
import { type DatasetChunk, DEFAULT_CHUNK_ROWS } from "../data/chunks.ts";
import { readDatasetChunksAhead } from "../data/chunks_ahead.ts";
import { loadDatasetFrame } from "../data/load.ts";
import { defaultLogPath, openExistingLog } from "../serving/predlog.ts";
import { parseLogWindow } from "./monitor.ts";
import type { Dataset } from "../data/load.ts";
import { groupedRows, numericColumn, stringColumn } from "../data/frame.ts";
import type { EntityRuns, OnlineVelocity } from "../features/online.ts";
import { outOfRangeRows } from "../features/pipeline.ts";
import { timesMs } from "../features/velocity.ts";
import type { ScorerAnswer, ScorerRequest } from "./score_worker.ts";
import { EXPLAIN_MODES, type ExplainMode } from "./score_part.ts";
import { artifactsRoot } from "../registry/store.ts";
import { loadServedModel, newHistory, type ServedModel } from "../serving/scorer.ts";
import { warmFromFile, type WarmReport } from "../serving/warm.ts";
import { type Progress, progress } from "../util/progress.ts";
import { UserError } from "../util/errors.ts";
import { dirname } from "node:path";

export { EXPLAIN_MODES, type ExplainMode };

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

/** Reusable per-job state of the job's own thread. */
interface JobState {
  model: ServedModel;
  history: OnlineVelocity | null;
  refusedBy: Record<string, number>;
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
    refusedBy: {},
    ways: { grouped: 0, rows: 0 },
    distinctIds: history && spec.id && !job.data.startsWith("log:")
      ? distinctIds(job.data, spec.id)
      : false,
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
  let bar: Progress | null = null, done = 0;
  const partDir = outFormat === "parquet"
    ? await Deno.makeTempDir({ dir: dirname(job.out), prefix: ".score-" })
    : null;
  if (outFormat === "csv") (await Deno.open(tmp, { write: true, createNew: true })).close();
  let scorer: ScoringThread | null = null;
  try {
    scorer = await ScoringThread.start({
      type: "init",
      model: `run:${model.run.dir}`,
      root: job.root ?? artifactsRoot(),
      reasons,
      explain,
      names: history ? [...history.names] : [],
      format: outFormat,
      target: partDir ?? tmp,
    }, (a) => {
      totals.rows += a.rows;
      totals.scored += a.scored;
      totals.alerts += a.alerts;
      totals.explained += a.explained;
      for (const [k, v] of Object.entries<number>(a.refusedBy)) {
        state.refusedBy[k] = (state.refusedBy[k] ?? 0) + v;
      }
      for (const [k, v] of Object.entries<number>(a.timings)) timings[k] = (timings[k] ?? 0) + v;
      bar?.tick(a.rows);
    });
    const parts = job.data.startsWith("log:")
      ? logParts(job.data, model, {
        log: job.log ?? defaultLogPath(job.root ?? artifactsRoot()),
        rows: job.chunkRows ?? DEFAULT_CHUNK_ROWS,
      })
      : readDatasetChunksAhead(job.data, spec, {
        rows: job.chunkRows ?? DEFAULT_CHUNK_ROWS,
        group: history ? history.options.entities : [],
        // What this thread reads of a part; the scoring worker gets every column.
        columns: [
          ...new Set([
            ...[spec.id, spec.time, spec.amount].filter((c): c is string => !!c),
            ...model.run.pipeline.numeric.filter((s) => !s.derived).map((s) => s.name),
          ]),
        ],
        onHash: (h) => sha256 = h,
      });
    // Three threads: the reading worker reads ahead, this one features each part through the
    // entity history (which only it holds), the scoring worker scores and writes the part
    // before (the slowest of the three sets the pace; at most two parts wait for it).
    state.lap();
    for await (const part of parts) {
      state.lap("read_s");
      const n = part.ds.frame.height;
      if (!bar) {
        // Total rows estimated from the first part's share of the file.
        const est = Math.max(n, Math.round(n * part.total / Math.max(1, part.done)));
        bar = progress("score", est, { quiet: job.quiet });
      }
      const p = featurePart(state, part.ds, part.groups, scorer.spare.pop());
      await scorer.send({
        type: "part",
        ipc: part.ipc ?? new Uint8Array(part.ds.frame.writeIPC()),
        firstRow: part.firstRow,
        ...p,
      });
      state.lap("handoff_s");
      // A part's frames live in polars' native memory, which V8 does not see: collected every
      // few parts, since a collection here marks the whole history (130 ms a part for the
      // 10.4M-row file). `deno task score` runs with --expose-gc.
      if (++done % GC_PARTS === 0) (globalThis as { gc?: () => void }).gc?.();
      peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
    }
    await scorer.close();
    state.lap("handoff_s");
    bar?.done();
    if (partDir) pl.scanParquet(`${partDir}/*.parquet`).sinkParquet(tmp).collectSync();
    await Deno.rename(tmp, job.out);
  } catch (e) {
    scorer?.terminate();
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
  const parquet = path.toLowerCase().endsWith(".parquet");
  const scan = (asText: boolean) =>
    parquet ? pl.scanParquet(path) : pl.scanCSV(path, {
      hasHeader: true,
      sep: ",",
      quoteChar: '"',
      ...(asText ? { inferSchemaLength: 0 } : {}),
    });
  const twice = (frame: pl.LazyDataFrame, id: pl.Expr) =>
    // Sorted, a repeated id sits next to its twin: 1.7 s for 10M ids as text here, scan
    // included (7.0 s hashed); as integers 0.15 s from Parquet.
    Number(
      frame.select(id.alias("id")).filter(pl.col("id").isNotNull())
        .select(pl.col("id").sort().alias("id"))
        .select(pl.col("id").eq(pl.col("id").shift(1)).cast(pl.UInt32).sum().alias("twice"))
        .collectSync().getColumn("twice").get(0),
    );
  try {
    // Integers compared as integers: equal texts are equal integers, so integers all
    // distinct are texts all distinct ("007" and "7" only make it say no).
    const lazy = scan(false);
    const dtype = lazy.select(pl.col(column)).head(1).collectSync().getColumn(column).dtype;
    if (INTEGER_TYPES.some((t) => dtype.equals(t))) {
      try {
        return twice(lazy, pl.col(column)) === 0;
      } catch { /* a later value not an integer: compared as text */ }
    }
    return twice(scan(true), pl.col(column).cast(pl.Utf8)) === 0;
  } catch {
    return false;
  }
}

const INTEGER_TYPES = [
  pl.Int8,
  pl.Int16,
  pl.Int32,
  pl.Int64,
  pl.UInt8,
  pl.UInt16,
  pl.UInt32,
  pl.UInt64,
];

function outputFormat(path: string): "csv" | "parquet" {
  const lower = path.toLowerCase();
  if (lower.endsWith(".csv")) return "csv";
  if (lower.endsWith(".parquet")) return "parquet";
  throw new UserError(`--out ${path}: expected a .csv or .parquet file`);
}

/**
 * The scoring worker as the job sees it: parts sent in order (at most
 * {@linkcode SCORING_QUEUE} waiting), each answer handed to `onDone`.
 */
class ScoringThread {
  readonly #worker: Worker;
  #sent = 0;
  #answered = 0;
  #failed: Error | null = null;
  #wake: (() => void) | null = null;
  #closed = false;
  /** Velocity columns the worker handed back, to be filled again. */
  readonly spare: Float64Array[][] = [];

  private constructor(readonly onDone: (a: Extract<ScorerAnswer, { type: "done" }>) => void) {
    this.#worker = new Worker(new URL("./score_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.onmessage = (e: MessageEvent<ScorerAnswer>) => {
      const a = e.data;
      if (a.type === "done") {
        this.#answered++;
        if (a.derived) this.spare.push(a.derived);
        this.onDone(a);
      } else if (a.type === "error") {
        this.#failed = a.user
          ? new UserError(a.message)
          : new Error(`scoring worker: ${a.message}`);
      } else if (a.type === "closed") this.#closed = true;
      else if (a.type === "ready") this.#answered++;
      this.#wake?.();
    };
    this.#worker.onerror = (e) => {
      e.preventDefault();
      this.#failed = new Error(`the scoring worker failed: ${e.message}`);
      this.#wake?.();
    };
  }

  /** Starts the worker and waits until it has loaded the model. */
  static async start(
    init: Extract<ScorerRequest, { type: "init" }>,
    onDone: (a: Extract<ScorerAnswer, { type: "done" }>) => void,
  ): Promise<ScoringThread> {
    const t = new ScoringThread(onDone);
    t.#worker.postMessage(init);
    t.#sent++;
    await t.#until(() => t.#answered >= 1);
    return t;
  }

  async #until(done: () => boolean): Promise<void> {
    while (!done()) {
      if (this.#failed) throw this.#failed;
      await new Promise<void>((r) => this.#wake = r);
      this.#wake = null;
    }
    if (this.#failed) throw this.#failed;
  }

  /** Sends a part (its buffers moved), then waits while too many are unanswered. */
  async send(part: Omit<Extract<ScorerRequest, { type: "part" }>, "seq">): Promise<void> {
    if (this.#failed) throw this.#failed;
    const moved: Transferable[] = [
      part.ipc.buffer as ArrayBuffer,
      part.refusedAt.buffer as ArrayBuffer,
    ];
    for (const d of part.derived ?? []) moved.push(d.buffer as ArrayBuffer);
    this.#worker.postMessage({ ...part, seq: this.#sent++ }, moved);
    await this.#until(() => this.#sent - this.#answered <= SCORING_QUEUE);
  }

  /** Waits for every part, closes the output and ends the worker. */
  async close(): Promise<void> {
    await this.#until(() => this.#answered === this.#sent);
    this.#worker.postMessage({ type: "close" } satisfies ScorerRequest);
    await this.#until(() => this.#closed);
    this.#worker.terminate();
  }

  terminate(): void {
    this.#worker.terminate();
  }
}

/** Parts between two collections on the job's thread. */
const GC_PARTS = 8;

/** Parts sent to the scoring worker and not yet answered, at most. */
const SCORING_QUEUE = 2;

/** A featured part as the scoring worker takes it. */
type Featured = Pick<
  Extract<ScorerRequest, { type: "part" }>,
  "refusedAt" | "refusedWhy" | "derived"
>;

/** Features one part: range checks, then velocity features in row order through the history. */
function featurePart(
  state: JobState,
  ds: Dataset,
  groups?: Record<string, EntityRuns>,
  spare?: Float64Array[],
): Featured {
  const lap = state.lap;
  lap();
  const { model, history } = state;
  const fp = model.run.pipeline, spec = model.run.spec;
  const frame = ds.frame, n = frame.height;
  const refused: (string | null)[] = new Array(n).fill(null);
  const refusedAt: number[] = [], refusedWhy: string[] = [];
  const refuse = (i: number, kind: string, why: string) => {
    refused[i] = why;
    refusedAt.push(i);
    refusedWhy.push(why);
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
  let derived: Float64Array[] | null = null;
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
    // Columns handed back by the scoring worker are filled again (allocating 21 columns a part
    // costs collections of the whole history).
    derived = history.names.map((_, k) =>
      spare && spare[k].length === n ? spare[k].fill(0) : new Float64Array(n)
    );
    state.ways[
      history.batchInto({
        times,
        entities: history.options.entities.map((e) => groups?.[e] ?? groupedRows(frame, e)),
        amounts: spec.amount ? numericColumn(frame, spec.amount) : null,
        ids,
        skip,
      }, derived)
    ]++;
  }
  lap("velocity_s");
  // Refusals in row order, as the output lists them.
  const order = refusedAt.map((_, k) => k).sort((a, b) => refusedAt[a] - refusedAt[b]);
  return {
    refusedAt: Int32Array.from(order, (k) => refusedAt[k]),
    refusedWhy: order.map((k) => refusedWhy[k]),
    derived,
  };
}
