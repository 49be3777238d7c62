/**
 * The prediction log: every scored transaction (its input record as JSON, score,
 * decision, model version, times) and every late label, in one embedded
 * SQLite database (`node:sqlite`, WAL journal).
 *
 * Scoring only queues a row; a timer hands the queue (every `flushMs`,
 * sooner when `maxBatch` rows wait) to a writer worker that inserts it in
 * one transaction on its own connection, so requests never wait on the
 * disk. Reads (and {@linkcode PredictionLog.flush}) first wait until the
 * worker has committed everything handed to it, so they see every row.
 * {@linkcode PredictionLog.close} writes what is left: the server calls it
 * after draining in-flight requests on SIGTERM.
 *
 * Nothing is lost silently. A batch that fails is retried row by row; a row
 * that still fails goes to the `quarantine` table with its error (or, when
 * even that fails, to `<log>.quarantine.jsonl`); a row nothing can hold is
 * dropped and counted. When the database cannot be written at all
 * (read-only, disk full, locked past the busy timeout) the log is
 * *unavailable*: the batch waits and is tried again with a backoff, the
 * reason is reported ({@linkcode PredictionLog.status}) and the server's
 * `/readyz` answers 503; past `maxPending` queued rows the oldest are
 * dropped and counted. Written, quarantined and dropped rows are counted
 * ({@linkcode PredictionLog.stats}).
 *
 * Feedback (`label`, `labeled_at`, the key that sent it) is keyed by
 * transaction id; the latest label for an id wins. Monitoring joins the two
 * tables. The server writes feedback through the writer worker too
 * ({@linkcode PredictionLog.addFeedbackAsync}), so a label never blocks the
 * thread answering requests.
 *
 * One file: the queue, the hand-off to the writer, the backoff and the
 * status are one state machine (tables, writer and queries have their own
 * files).
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { dirname } from "node:path";
import { mkdirSync } from "node:fs";
import { UserError } from "../util/errors.ts";
import {
  type Feedback,
  type LabeledPrediction,
  type LogSummaryRow,
  migrateLog,
  type PredictionRow,
} from "./predlog_schema.ts";
import {
  type BatchOutcome,
  emptyBatch,
  LogUnavailable,
  LogWriter,
  type RowBatch,
  rowLevel,
} from "./predlog_writer.ts";
import {
  type LoggedEvent,
  queryCount,
  queryEventsSince,
  queryNewestEvent,
  queryPredictions,
  querySummary,
  queryUnmatchedFeedback,
} from "./predlog_queries.ts";

export type {
  Feedback,
  LabeledPrediction,
  LogSummaryRow,
  PredictionRow,
} from "./predlog_schema.ts";
export { type BatchOutcome, LogUnavailable, type RowBatch } from "./predlog_writer.ts";
export type { LoggedEvent } from "./predlog_queries.ts";

/** Options for {@linkcode PredictionLog.open}. */
export interface LogOptions {
  /** Longest a queued row waits before being written, ms. Default 10. */
  flushMs?: number;
  /** Queue length that triggers a write at once. Default 5000. */
  maxBatch?: number;
  /** Write from a worker thread (default true; an in-memory log writes inline). */
  worker?: boolean;
  /** Most rows held while the database cannot be written; past it the oldest are dropped. Default 500,000. */
  maxPending?: number;
  /** How long a write waits for another connection's lock before the log counts as unavailable, ms. Default 2000. */
  busyTimeoutMs?: number;
}

/** Counts of what happened to the rows this process queued. */
export interface LogStats {
  /** Rows committed to the `scored` table. */
  written: number;
  /** Rows that failed and were kept in the quarantine instead. */
  quarantined: number;
  /** Rows lost: nothing could hold them, or the queue overflowed while the log was unavailable. */
  dropped: number;
  /** Rows queued or being written. */
  pending: number;
}

/** Whether the log can be written now. */
export interface LogStatus {
  available: boolean;
  /** Why not (the database's error), null when available. */
  reason: string | null;
  /** Since when (epoch ms), null when available. */
  since: number | null;
}

/** A message from the writer worker. */
type WorkerReply =
  | { type: "done"; id: number; written: number; quarantined: number; dropped: number }
  | { type: "unavailable"; id: number; error: string }
  | { type: "feedback"; id: number; error: string | null };

/** Options of {@linkcode PredictionLog.addFeedbackAsync}. */
export interface FeedbackOptions {
  /** When the server received it (epoch ms). Default now. */
  receivedAt?: number;
  /** Who sent it (the API key's name). */
  source?: string | null;
  /** Longest wait for the writer, ms. Default 5000. */
  timeoutMs?: number;
}

/** The prediction log of one server (see the module doc). */
export class PredictionLog {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #known: StatementSync;
  readonly #flushMs: number;
  readonly #maxBatch: number;
  readonly #maxPending: number;
  readonly #quarantineFile: string;
  /** Writes on this thread: in-memory logs, and reads' own labels (addFeedback). */
  readonly #writer: LogWriter;
  #queue: RowBatch = emptyBatch();
  /** Batches waiting to be written again (the database was unavailable), oldest first. */
  #retry: RowBatch[] = [];
  /** Batches handed to the writer and not yet settled, by message id. */
  readonly #inflight = new Map<number, RowBatch>();
  readonly #feedbackWaiters = new Map<number, (error: string | null) => void>();
  #nextId = 1;
  #timer: number | null = null;
  #closed = false;
  #worker: Worker | null = null;
  /** [rows settled by the writer, written, quarantined, dropped, writer closed] */
  #counter: Int32Array;
  #handed = 0;
  /** Rows the writer handed back unwritten (database unavailable), now waiting again. */
  #returned = 0;
  #dropped = 0;
  #status: LogStatus = { available: true, reason: null, since: null };
  #backoffMs = 0;

  private constructor(path: string, db: DatabaseSync, options: LogOptions) {
    this.path = path;
    this.#db = db;
    this.#flushMs = options.flushMs ?? 10;
    this.#maxBatch = options.maxBatch ?? 5000;
    this.#maxPending = options.maxPending ?? 500_000;
    this.#quarantineFile = `${path}.quarantine.jsonl`;
    const sab = new SharedArrayBuffer(20);
    this.#counter = new Int32Array(sab);
    if ((options.worker ?? true) && path !== ":memory:") {
      this.#worker = new Worker(new URL("./predlog_worker.ts", import.meta.url).href, {
        type: "module",
      });
      this.#worker.onmessage = (e: MessageEvent<WorkerReply>) => this.#onReply(e.data);
      this.#worker.postMessage({
        type: "open",
        path,
        counter: sab,
        busyTimeoutMs: options.busyTimeoutMs ?? 2000,
        quarantineFile: this.#quarantineFile,
      });
    }
    this.#known = db.prepare(`SELECT 1 FROM scored WHERE transaction_id = ? LIMIT 1`);
    this.#writer = new LogWriter(db, this.#quarantineFile);
  }

  /** Opens (creating when needed) the log at `path` (":memory:" for tests). */
  static open(path: string, options: LogOptions = {}): PredictionLog {
    let db: DatabaseSync;
    try {
      if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
      db = new DatabaseSync(path);
      // busy_timeout first: switching to WAL takes a lock another connection (a writer
      // worker still closing, another server) may hold for a moment; wait, don't fail.
      db.exec(
        `PRAGMA busy_timeout = ${
          options.busyTimeoutMs ?? 5000
        }; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;`,
      );
      migrateLog(db);
      // A log that cannot be written is an error now, not rows lost later.
      db.exec(
        "BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS write_probe (x); DROP TABLE write_probe; COMMIT",
      );
      // Reads on this (the serving) thread must not wait long behind another writer.
      db.exec(`PRAGMA busy_timeout = ${options.busyTimeoutMs ?? 2000}`);
    } catch (e) {
      throw new UserError(
        `prediction log ${path}: cannot open for writing (${(e as Error).message})`,
      );
    }
    return new PredictionLog(path, db, options);
  }

  #onReply(m: WorkerReply): void {
    if (m.type === "feedback") {
      this.#feedbackWaiters.get(m.id)?.(m.error);
      this.#feedbackWaiters.delete(m.id);
      // A label that could not be written says the database cannot be, as a batch would.
      if (m.error === null) this.#writable();
      else if (!rowLevel(m.error)) this.#unavailable(m.error);
      return;
    }
    const rows = this.#inflight.get(m.id);
    this.#inflight.delete(m.id);
    if (m.type === "done") {
      this.#writable();
      return;
    }
    // Unavailable: nothing of the batch was written; it waits and is tried again.
    if (rows) {
      this.#retry.unshift(rows);
      this.#returned += rows.transaction_id.length;
    }
    this.#unavailable(m.error);
  }

  /** A write succeeded: available again, and what waited goes to the writer now. */
  #writable(): void {
    const was = this.#status.available;
    this.#status = { available: true, reason: null, since: null };
    this.#backoffMs = 0;
    if (!was && (this.#retry.length > 0 || this.#queue.transaction_id.length > 0)) {
      this.#schedule(0);
    }
  }

  #unavailable(reason: string): void {
    if (this.#status.available) {
      this.#status = { available: false, reason, since: Date.now() };
    } else this.#status = { ...this.#status, reason };
    this.#backoffMs = Math.min(5000, Math.max(100, this.#backoffMs * 2));
    this.#shed();
    this.#schedule(this.#backoffMs);
  }

  /** Past `maxPending` rows, the oldest waiting batches are dropped (counted). */
  #shed(): void {
    let pending = this.pending;
    while (pending > this.#maxPending && this.#retry.length > 0) {
      const b = this.#retry.shift()!;
      pending -= b.transaction_id.length;
      this.#dropped += b.transaction_id.length;
    }
  }

  /** Rows queued and not yet written (waiting, or handed to the writer and not settled). */
  get pending(): number {
    let n = this.#queue.transaction_id.length;
    for (const b of this.#retry) n += b.transaction_id.length;
    return n + this.#unsettled();
  }

  /** Rows handed to the writer that it has not written, quarantined or dropped, nor handed back. */
  #unsettled(): number {
    const c = this.#counter;
    if (!this.#worker) return 0;
    return this.#handed - this.#returned - Atomics.load(c, 1) - Atomics.load(c, 2) -
      Atomics.load(c, 3);
  }

  /** Rows written by this process. */
  get written(): number {
    return Atomics.load(this.#counter, 1);
  }

  /** What happened to the rows this process queued. */
  get stats(): LogStats {
    const c = this.#counter;
    return {
      written: Atomics.load(c, 1),
      quarantined: Atomics.load(c, 2),
      dropped: Atomics.load(c, 3) + this.#dropped,
      pending: this.pending,
    };
  }

  /** Whether the database can be written now, and why not. */
  get status(): LogStatus {
    return this.#status;
  }

  /** Queues one prediction (written by the next flush). */
  append(row: PredictionRow): void {
    if (this.#closed) throw new Error("prediction log is closed");
    const q = this.#queue;
    const role = row.role ?? "served";
    // The batch's models: a served model and its shadow alternate, so the last two are looked at.
    let m = -1;
    for (let k = q.models.length - 1; k >= 0 && k >= q.models.length - 2; k--) {
      const c = q.models[k];
      if (
        c.run_id === row.run_id && c.version === row.version && c.model === row.model &&
        c.threshold === row.threshold && c.role === role
      ) {
        m = k;
        break;
      }
    }
    if (m < 0) {
      m = q.models.length;
      q.models.push({
        model: row.model,
        version: row.version,
        run_id: row.run_id,
        threshold: row.threshold,
        role,
      });
    }
    q.model.push(m);
    q.transaction_id.push(row.transaction_id);
    q.scored_at.push(row.scored_at);
    q.event_time.push(row.event_time ?? NaN);
    q.score.push(row.score);
    q.is_fraud.push(row.is_fraud ? 1 : 0);
    q.input.push(row.input);
    if (q.transaction_id.length >= this.#maxBatch) {
      if (this.#status.available) this.#schedule(0);
      else {
        // Unavailable: full batches wait in line (and are shed past maxPending).
        this.#retry.push(q);
        this.#queue = emptyBatch();
        this.#shed();
      }
    } else if (this.#timer === null) this.#schedule(this.#flushMs);
  }

  #schedule(ms: number): void {
    if (this.#timer !== null) {
      if (ms > 0) return;
      clearTimeout(this.#timer);
    }
    const timer = setTimeout(() => {
      this.#timer = null;
      this.#write();
    }, ms) as unknown as number;
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Hands waiting batches and the queue to the writer worker (or writes them inline). */
  #write(): void {
    if (this.#queue.transaction_id.length > 0) {
      this.#retry.push(this.#queue);
      this.#queue = emptyBatch();
    }
    if (this.#retry.length === 0) return;
    if (!this.#status.available && this.#inflight.size > 0) return; // a probe is under way
    // While unavailable, one batch at a time probes the database.
    const batches = this.#status.available ? this.#retry : this.#retry.slice(0, 1);
    this.#retry = this.#status.available ? [] : this.#retry.slice(1);
    for (let i = 0; i < batches.length; i++) {
      const rows = batches[i];
      if (this.#worker) {
        const id = this.#nextId++;
        this.#inflight.set(id, rows);
        this.#worker.postMessage({ type: "rows", id, rows });
        this.#handed += rows.transaction_id.length;
        continue;
      }
      let out: BatchOutcome;
      try {
        out = this.#writer.writeBatch(rows);
      } catch (e) {
        if (!(e instanceof LogUnavailable)) throw e;
        this.#retry = [...batches.slice(i), ...this.#retry];
        this.#unavailable(e.message);
        return;
      }
      const c = this.#counter;
      c[0] += rows.transaction_id.length;
      c[1] += out.written;
      c[2] += out.quarantined;
      c[3] += out.dropped;
      this.#status = { available: true, reason: null, since: null };
      this.#backoffMs = 0;
    }
  }

  /**
   * Hands every queued row to the writer and waits (blocking this thread,
   * at most `timeoutMs`) until it has settled all it was handed; returns
   * how many rows this process has written so far. Rows that could not be
   * written stay queued. For readers (tasks, tests): the server never
   * calls it while answering requests.
   */
  flush(timeoutMs = 30_000): number {
    this.#write();
    if (this.#worker) {
      const c = this.#counter, until = Date.now() + timeoutMs;
      while (Atomics.load(c, 0) < this.#handed && Date.now() < until) {
        Atomics.wait(c, 0, Atomics.load(c, 0), 50);
      }
    }
    return this.written;
  }

  /** Whether the transaction id is queued or in flight to the writer (not yet in the database). */
  #isPending(id: string): boolean {
    if (this.#queue.transaction_id.includes(id)) return true;
    for (const b of this.#retry) if (b.transaction_id.includes(id)) return true;
    for (const b of this.#inflight.values()) if (b.transaction_id.includes(id)) return true;
    return false;
  }

  /**
   * Whether the log holds a prediction with this id: queued rows are
   * looked up in memory, written ones in the database (a read, which
   * another connection's write lock does not hold up in WAL mode).
   */
  hasPrediction(id: string): boolean {
    if (this.#isPending(id)) return true;
    return this.#known.get(id) !== undefined;
  }

  /**
   * Records a late label, synchronously (tasks and tests). Returns whether
   * a prediction with that id is in the log; the label is kept either way.
   */
  addFeedback(fb: Feedback, receivedAt = Date.now(), source: string | null = null): {
    known: boolean;
  } {
    this.flush();
    this.#writer.upsertFeedback(fb, { receivedAt, source });
    return { known: this.#known.get(fb.transaction_id) !== undefined };
  }

  /**
   * Records a late label through the writer worker, without blocking this
   * thread; resolves when it is committed, rejects with
   * {@linkcode LogUnavailable} when it cannot be written within the timeout.
   */
  addFeedbackAsync(fb: Feedback, options: FeedbackOptions = {}): Promise<void> {
    const receivedAt = options.receivedAt ?? Date.now(), source = options.source ?? null;
    if (!this.#worker) {
      try {
        this.#writer.upsertFeedback(fb, { receivedAt, source });
        return Promise.resolve();
      } catch (e) {
        return Promise.reject(new LogUnavailable(String((e as Error).message ?? e)));
      }
    }
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#feedbackWaiters.delete(id);
        reject(new LogUnavailable(this.#status.reason ?? `not written within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#feedbackWaiters.set(id, (error) => {
        clearTimeout(timer);
        if (error === null) resolve();
        else reject(new LogUnavailable(error));
      });
      this.#worker!.postMessage({ type: "feedback", id, fb, receivedAt, source });
    });
  }

  /** Predictions scored in [fromMs, toMs), oldest first, with their labels. */
  predictions(fromMs: number, toMs: number): LabeledPrediction[] {
    this.flush();
    return queryPredictions(this.#db, { from: fromMs, to: toMs });
  }

  /** What shadow models scored in [fromMs, toMs), oldest first, with the labels. */
  shadowPredictions(fromMs: number, toMs: number): LabeledPrediction[] {
    this.flush();
    return queryPredictions(this.#db, { from: fromMs, to: toMs }, { shadow: true });
  }

  /**
   * Predictions scored in [fromMs, toMs) counted per UTC day and model
   * version, joined with the feedback received so far: alerts, labeled
   * rows, and the confusion counts among labeled rows.
   */
  summary(fromMs: number, toMs: number): LogSummaryRow[] {
    this.flush();
    return querySummary(this.#db, { from: fromMs, to: toMs });
  }

  /** Feedback received in [fromMs, toMs) for ids no logged prediction has. */
  unmatchedFeedback(fromMs: number, toMs: number): number {
    this.flush();
    return queryUnmatchedFeedback(this.#db, { from: fromMs, to: toMs });
  }

  /**
   * Logged transactions with an event time at or after `sinceMs`, oldest
   * event first, with labels: replayed into the entity history on start.
   */
  eventsSince(sinceMs: number): LoggedEvent[] {
    this.flush();
    return queryEventsSince(this.#db, sinceMs);
  }

  /** The newest event time in the log, or null. */
  newestEvent(): number | null {
    this.flush();
    return queryNewestEvent(this.#db);
  }

  /** Predictions logged in total. */
  count(): number {
    this.flush();
    return queryCount(this.#db);
  }

  /** Writes what is queued (blocking, up to 30 s) and closes the database; rows it could not write are counted as dropped. */
  close(): void {
    if (this.#closed) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.flush();
    this.#finish();
  }

  /**
   * Writes what is queued, waiting without blocking up to `timeoutMs`
   * (retrying while the database is unavailable), then closes; returns
   * the final counts, rows still unwritten counted as dropped.
   */
  async closeWithin(timeoutMs: number): Promise<LogStats> {
    if (!this.#closed) {
      const until = Date.now() + timeoutMs;
      this.#write();
      while (this.pending > 0 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 20));
        if (this.#timer === null || this.#status.available) this.#write();
      }
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#timer = null;
      this.#finish();
    }
    return this.stats;
  }

  #finish(): void {
    this.#closed = true;
    // Never written: counted, not claimed. Rows handed to the writer and not
    // settled there (or handed back, not yet re-queued) are among them.
    this.#dropped += this.pending;
    this.#queue = emptyBatch();
    this.#retry = [];
    this.#inflight.clear();
    if (this.#worker) {
      // The writer closes its connection (releasing its locks) before it is ended.
      this.#worker.postMessage({ type: "close" });
      Atomics.wait(this.#counter, 4, 0, 2000);
      this.#worker.terminate();
    }
    this.#db.close();
  }
}

/** Opens an existing log for reading (monitoring); a missing file is a user error. */
export function openExistingLog(path: string): PredictionLog {
  let isFile = false;
  try {
    isFile = Deno.statSync(path).isFile;
  } catch { /* missing: reported below */ }
  if (!isFile) throw new UserError(`no prediction log at ${path} (set --log or FRAUDLAB_LOG)`);
  return PredictionLog.open(path, { worker: false });
}

/** Default log path: $FRAUDLAB_LOG, else artifacts/predictions.sqlite. */
export function defaultLogPath(artifacts: string): string {
  return Deno.env.get("FRAUDLAB_LOG") ?? `${artifacts}/predictions.sqlite`;
}
