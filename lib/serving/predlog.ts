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
 * Feedback (`label`, `labeled_at`) is keyed by transaction id; the latest
 * label for an id wins. Monitoring joins the two tables.
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { dirname } from "node:path";
import { mkdirSync } from "node:fs";
import { UserError } from "../util/errors.ts";

/** One scored transaction. */
export interface PredictionRow {
  transaction_id: string;
  /** When the server scored it (epoch ms). */
  scored_at: number;
  /** The transaction's own time (epoch ms), null when it had none. */
  event_time: number | null;
  model: string;
  version: number;
  run_id: string;
  score: number;
  threshold: number;
  is_fraud: boolean;
  /** The record as the client sent it (JSON text). */
  input: string;
}

/** A logged prediction with its label, when feedback arrived. */
export interface LabeledPrediction extends PredictionRow {
  label: 0 | 1 | null;
  labeled_at: number | null;
}

/** Predictions of one UTC day and model version, with their feedback. */
export interface LogSummaryRow {
  day: string;
  model: string;
  version: number;
  run_id: string;
  predictions: number;
  alerts: number;
  /** Predictions with a label (feedback) so far. */
  labeled: number;
  /** Labeled predictions whose label is fraud. */
  frauds: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  mean_score: number;
}

/** One late label. */
export interface Feedback {
  transaction_id: string;
  label: 0 | 1;
  /** When the label became known (epoch ms). */
  labeled_at: number;
}

/** Options for {@linkcode PredictionLog.open}. */
export interface LogOptions {
  /** Longest a queued row waits before being written, ms. Default 10. */
  flushMs?: number;
  /** Queue length that triggers a write at once. Default 5000. */
  maxBatch?: number;
  /** Write from a worker thread (default true; an in-memory log writes inline). */
  worker?: boolean;
}

const INSERT = `INSERT INTO scored (transaction_id, scored_at, event_time, model_key, score,
  is_fraud, input) VALUES (?, ?, ?, ?, ?, ?, ?)`;
/** Values bound per row. */
const PER_ROW = 7;

/**
 * Queued rows, column by column: numbers in packed arrays and the model of
 * each row as an index into `models`, so a batch costs the request thread
 * little to hold and to hand to the writer (no object per row to copy).
 * `event_time` NaN stands for none.
 */
export interface RowBatch {
  models: { model: string; version: number; run_id: string; threshold: number }[];
  model: number[];
  transaction_id: string[];
  scored_at: number[];
  event_time: number[];
  score: number[];
  is_fraud: number[];
  input: string[];
}

function emptyBatch(): RowBatch {
  return {
    models: [],
    model: [],
    transaction_id: [],
    scored_at: [],
    event_time: [],
    score: [],
    is_fraud: [],
    input: [],
  };
}

/** Rows per multi-row INSERT: binding 64 rows in one call costs less than 64 calls. */
const INSERT_CHUNK = 64;
const INSERT_MANY = INSERT.replace(
  /VALUES \(.*\)$/s,
  "VALUES " + Array(INSERT_CHUNK).fill(`(${Array(PER_ROW).fill("?").join(", ")})`).join(", "),
);

/** A connection's prepared statements and the model keys it has looked up. */
interface Writer {
  one: StatementSync;
  many: StatementSync;
  addModel: StatementSync;
  modelKey: StatementSync;
  keys: Map<string, number>;
}

/** Each connection's writer state (statements prepared once, not per batch). */
const WRITERS = new WeakMap<DatabaseSync, Writer>();

function writerOf(db: DatabaseSync): Writer {
  let w = WRITERS.get(db);
  if (!w) {
    w = {
      one: db.prepare(INSERT),
      many: db.prepare(INSERT_MANY),
      addModel: db.prepare(
        `INSERT INTO models (model, version, run_id, threshold) VALUES (?, ?, ?, ?)
         ON CONFLICT DO NOTHING`,
      ),
      modelKey: db.prepare(
        `SELECT model_key FROM models WHERE model = ? AND version = ? AND run_id = ? AND threshold = ?`,
      ),
      keys: new Map(),
    };
    WRITERS.set(db, w);
  }
  return w;
}

/** The key of a model in the `models` table, added when new (inside the caller's transaction). */
function modelKeyOf(w: Writer, m: RowBatch["models"][number]): number {
  const id = `${m.model}\0${m.version}\0${m.run_id}\0${m.threshold}`;
  let key = w.keys.get(id);
  if (key === undefined) {
    w.addModel.run(m.model, m.version, m.run_id, m.threshold);
    const r = w.modelKey.get(m.model, m.version, m.run_id, m.threshold) as { model_key: number };
    key = Number(r.model_key);
    w.keys.set(id, key);
  }
  return key;
}

/** Inserts a batch in one transaction (shared by the inline path and the writer worker). */
export function insertRows(db: DatabaseSync, b: RowBatch): void {
  const n = b.transaction_id.length;
  const w = writerOf(db);
  const args: (string | number | null)[] = new Array(INSERT_CHUNK * PER_ROW);
  db.exec("BEGIN IMMEDIATE");
  try {
    const keys = b.models.map((m) => modelKeyOf(w, m));
    const put = (at: number, i: number) => {
      const ev = b.event_time[i];
      args[at] = b.transaction_id[i];
      args[at + 1] = b.scored_at[i];
      args[at + 2] = Number.isNaN(ev) ? null : ev;
      args[at + 3] = keys[b.model[i]];
      args[at + 4] = b.score[i];
      args[at + 5] = b.is_fraud[i];
      args[at + 6] = b.input[i];
    };
    let i = 0;
    for (; i + INSERT_CHUNK <= n; i += INSERT_CHUNK) {
      for (let r = 0; r < INSERT_CHUNK; r++) put(r * PER_ROW, i + r);
      w.many.run(...args);
    }
    for (; i < n; i++) {
      put(0, i);
      w.one.run(...args.slice(0, PER_ROW));
    }
    db.exec("COMMIT");
  } catch (e) {
    db.exec("ROLLBACK");
    // A rolled-back transaction may have added a model key this cache now holds.
    w.keys.clear();
    throw e;
  }
}

/**
 * Tables: each model version once in `models`; each scored transaction in
 * `scored`, pointing at its model (a row stays small: its input, score,
 * decision and times); late labels in `feedback`. The view `predictions`
 * reads scored rows with their model's name, version, run and threshold.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS models (
  model_key INTEGER PRIMARY KEY,
  model TEXT NOT NULL,
  version INTEGER NOT NULL,
  run_id TEXT NOT NULL,
  threshold REAL NOT NULL,
  UNIQUE (model, version, run_id, threshold)
);
CREATE TABLE IF NOT EXISTS scored (
  seq INTEGER PRIMARY KEY,
  transaction_id TEXT NOT NULL,
  scored_at INTEGER NOT NULL,
  event_time INTEGER,
  model_key INTEGER NOT NULL REFERENCES models (model_key),
  score REAL NOT NULL,
  is_fraud INTEGER NOT NULL,
  input TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS scored_scored_at ON scored (scored_at);
CREATE INDEX IF NOT EXISTS scored_transaction ON scored (transaction_id);
CREATE VIEW IF NOT EXISTS predictions AS
  SELECT s.seq, s.transaction_id, s.scored_at, s.event_time, m.model, m.version, m.run_id,
    s.score, m.threshold, s.is_fraud, s.input
  FROM scored s JOIN models m ON m.model_key = s.model_key;
CREATE TABLE IF NOT EXISTS feedback (
  transaction_id TEXT PRIMARY KEY,
  label INTEGER NOT NULL,
  labeled_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL
);
`;

/**
 * Moves a log written before the `models` table existed (one wide
 * `predictions` table) into the current tables, every row and its
 * sequence number kept, in one transaction.
 */
function migrateWideLog(db: DatabaseSync): void {
  const wide = db.prepare(
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'predictions'",
  ).get();
  if (!wide) return;
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(`
      ALTER TABLE predictions RENAME TO predictions_wide;
      DROP INDEX IF EXISTS predictions_scored_at;
      DROP INDEX IF EXISTS predictions_transaction;
      ${SCHEMA}
      INSERT OR IGNORE INTO models (model, version, run_id, threshold)
        SELECT model, version, run_id, threshold FROM predictions_wide ORDER BY seq;
      INSERT INTO scored (seq, transaction_id, scored_at, event_time, model_key, score, is_fraud,
          input)
        SELECT p.seq, p.transaction_id, p.scored_at, p.event_time, m.model_key, p.score,
          p.is_fraud, p.input
        FROM predictions_wide p JOIN models m ON m.model = p.model AND m.version = p.version
          AND m.run_id = p.run_id AND m.threshold = p.threshold;
      DROP TABLE predictions_wide;
      COMMIT;`);
  } catch (e) {
    db.exec("ROLLBACK");
    throw e;
  }
}

/** The prediction log of one server (see the module doc). */
export class PredictionLog {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #upsertFeedback: StatementSync;
  readonly #known: StatementSync;
  readonly #flushMs: number;
  readonly #maxBatch: number;
  #queue: RowBatch = emptyBatch();
  /** Batches the writer failed to insert, written again before the queue. */
  #retry: RowBatch[] = [];
  #timer: number | null = null;
  #closed = false;
  #written = 0;
  #worker: Worker | null = null;
  /** [rows the worker committed, rows it failed] */
  #counter: Int32Array | null = null;
  #handed = 0;

  private constructor(path: string, db: DatabaseSync, options: LogOptions) {
    this.path = path;
    this.#db = db;
    this.#flushMs = options.flushMs ?? 10;
    this.#maxBatch = options.maxBatch ?? 5000;
    if ((options.worker ?? true) && path !== ":memory:") {
      const sab = new SharedArrayBuffer(8);
      this.#counter = new Int32Array(sab);
      this.#worker = new Worker(new URL("./predlog_worker.ts", import.meta.url).href, {
        type: "module",
      });
      this.#worker.onmessage = (e: MessageEvent<{ type: string; rows?: RowBatch }>) => {
        // A failed batch is written again by the next flush: nothing is lost.
        if (e.data.type === "failed" && e.data.rows) {
          this.#retry.push(e.data.rows);
          this.#schedule(this.#flushMs);
        }
      };
      this.#worker.postMessage({ type: "open", path, counter: sab });
    }
    this.#upsertFeedback = db.prepare(
      `INSERT INTO feedback (transaction_id, label, labeled_at, received_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (transaction_id) DO UPDATE SET label = excluded.label,
         labeled_at = excluded.labeled_at, received_at = excluded.received_at`,
    );
    this.#known = db.prepare(`SELECT 1 FROM scored WHERE transaction_id = ? LIMIT 1`);
  }

  /** Opens (creating when needed) the log at `path` (":memory:" for tests). */
  static open(path: string, options: LogOptions = {}): PredictionLog {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
      // busy_timeout first: switching to WAL takes a lock another connection (a writer
      // worker still closing, another server) may hold for a moment; wait, don't fail.
      db.exec(
        "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
      );
      migrateWideLog(db);
      db.exec(SCHEMA);
    } catch (e) {
      throw new UserError(`prediction log ${path}: cannot open (${(e as Error).message})`);
    }
    return new PredictionLog(path, db, options);
  }

  /** Rows queued and not yet written. */
  get pending(): number {
    let n = this.#queue.transaction_id.length;
    for (const b of this.#retry) n += b.transaction_id.length;
    return n;
  }

  /** Rows written by this process. */
  get written(): number {
    return this.#counter ? Atomics.load(this.#counter, 0) : this.#written;
  }

  /** Queues one prediction (written by the next flush). */
  append(row: PredictionRow): void {
    if (this.#closed) throw new Error("prediction log is closed");
    const q = this.#queue;
    let m = q.models.length - 1;
    const last = q.models[m];
    if (
      !last || last.run_id !== row.run_id || last.version !== row.version ||
      last.model !== row.model || last.threshold !== row.threshold
    ) {
      m = q.models.length;
      q.models.push({
        model: row.model,
        version: row.version,
        run_id: row.run_id,
        threshold: row.threshold,
      });
    }
    q.model.push(m);
    q.transaction_id.push(row.transaction_id);
    q.scored_at.push(row.scored_at);
    q.event_time.push(row.event_time ?? NaN);
    q.score.push(row.score);
    q.is_fraud.push(row.is_fraud ? 1 : 0);
    q.input.push(row.input);
    if (q.transaction_id.length >= this.#maxBatch) this.#schedule(0);
    else if (this.#timer === null) this.#schedule(this.#flushMs);
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

  /** Hands the queue to the writer worker (or writes it inline). */
  #write(): void {
    const batches = this.#retry;
    if (this.#queue.transaction_id.length > 0) {
      batches.push(this.#queue);
      this.#queue = emptyBatch();
    }
    if (batches.length === 0) return;
    this.#retry = [];
    for (let i = 0; i < batches.length; i++) {
      const rows = batches[i];
      if (this.#worker) {
        this.#worker.postMessage({ type: "rows", rows });
        this.#handed += rows.transaction_id.length;
        continue;
      }
      try {
        insertRows(this.#db, rows);
      } catch (e) {
        this.#retry = batches.slice(i); // nothing lost: retried by the next flush
        throw e;
      }
      this.#written += rows.transaction_id.length;
    }
  }

  /**
   * Writes every queued row and waits until the writer has committed all
   * it was handed; returns how many rows this process has written so far.
   */
  flush(): number {
    this.#write();
    const c = this.#counter;
    if (c) {
      // Rows handed to the worker are either committed or failed; failed
      // batches come back by message and are re-queued by the handler.
      for (;;) {
        const done = Atomics.load(c, 0) + Atomics.load(c, 1);
        if (done >= this.#handed) break;
        Atomics.wait(c, 0, Atomics.load(c, 0), 50);
      }
      this.#written = Atomics.load(c, 0);
    }
    return this.#written;
  }

  /**
   * Records a late label. Returns whether a prediction with that id is in
   * the log (the label is kept either way: it may precede the log's copy).
   */
  addFeedback(fb: Feedback, receivedAt = Date.now()): { known: boolean } {
    this.flush();
    this.#upsertFeedback.run(fb.transaction_id, fb.label, fb.labeled_at, receivedAt);
    return { known: this.#known.get(fb.transaction_id) !== undefined };
  }

  /** Predictions scored in [fromMs, toMs), oldest first, with their labels. */
  predictions(fromMs: number, toMs: number): LabeledPrediction[] {
    this.flush();
    const rows = this.#db.prepare(
      `SELECT p.transaction_id, p.scored_at, p.event_time, p.model, p.version, p.run_id, p.score,
         p.threshold, p.is_fraud, p.input, f.label, f.labeled_at
       FROM predictions p LEFT JOIN feedback f ON f.transaction_id = p.transaction_id
       WHERE p.scored_at >= ? AND p.scored_at < ? ORDER BY p.seq`,
    ).all(
      fromMs,
      toMs,
    ) as unknown as (Omit<LabeledPrediction, "is_fraud"> & { is_fraud: number })[];
    return rows.map((r) => ({ ...r, is_fraud: r.is_fraud === 1 }));
  }

  /**
   * Predictions scored in [fromMs, toMs) counted per UTC day and model
   * version, joined with the feedback received so far: alerts, labeled
   * rows, and the confusion counts among labeled rows.
   */
  summary(fromMs: number, toMs: number): LogSummaryRow[] {
    this.flush();
    const rows = this.#db.prepare(
      `SELECT strftime('%Y-%m-%d', p.scored_at / 1000, 'unixepoch') AS day, p.model, p.version,
         p.run_id, count(*) AS predictions, sum(p.is_fraud) AS alerts,
         count(f.label) AS labeled, coalesce(sum(f.label), 0) AS frauds,
         coalesce(sum(p.is_fraud AND f.label = 1), 0) AS tp,
         coalesce(sum(p.is_fraud AND f.label = 0), 0) AS fp,
         coalesce(sum(NOT p.is_fraud AND f.label = 1), 0) AS fn,
         coalesce(sum(NOT p.is_fraud AND f.label = 0), 0) AS tn,
         avg(p.score) AS mean_score
       FROM predictions p LEFT JOIN feedback f ON f.transaction_id = p.transaction_id
       WHERE p.scored_at >= ? AND p.scored_at < ?
       GROUP BY day, p.model, p.version, p.run_id ORDER BY day, p.model, p.version`,
    ).all(fromMs, toMs) as unknown as LogSummaryRow[];
    return rows.map((r) => {
      const out = { ...r } as Record<string, unknown>;
      for (
        const k of ["version", "predictions", "alerts", "labeled", "frauds", "tp", "fp", "fn", "tn"]
      ) {
        out[k] = Number(out[k]);
      }
      return out as unknown as LogSummaryRow;
    });
  }

  /** Feedback received in [fromMs, toMs) for ids no logged prediction has. */
  unmatchedFeedback(fromMs: number, toMs: number): number {
    this.flush();
    const r = this.#db.prepare(
      `SELECT count(*) AS n FROM feedback f
       WHERE f.received_at >= ? AND f.received_at < ?
         AND NOT EXISTS (SELECT 1 FROM scored s WHERE s.transaction_id = f.transaction_id)`,
    ).get(fromMs, toMs) as { n: number };
    return Number(r.n);
  }

  /**
   * Logged transactions with an event time at or after `sinceMs`, oldest
   * event first, with labels: replayed into the entity history on start.
   */
  eventsSince(
    sinceMs: number,
  ): { transaction_id: string; event_time: number; input: string; label: number | null }[] {
    this.flush();
    return this.#db.prepare(
      `SELECT p.transaction_id, p.event_time, p.input, f.label
       FROM predictions p LEFT JOIN feedback f ON f.transaction_id = p.transaction_id
       WHERE p.event_time >= ? ORDER BY p.event_time, p.seq`,
    ).all(sinceMs) as unknown as {
      transaction_id: string;
      event_time: number;
      input: string;
      label: number | null;
    }[];
  }

  /** The newest event time in the log, or null. */
  newestEvent(): number | null {
    this.flush();
    const r = this.#db.prepare("SELECT max(event_time) AS t FROM scored").get() as {
      t: number | null;
    };
    return r.t === null ? null : Number(r.t);
  }

  /** Predictions logged in total. */
  count(): number {
    this.flush();
    const r = this.#db.prepare("SELECT count(*) AS n FROM scored").get() as { n: number };
    return Number(r.n);
  }

  /** Writes what is queued and closes the database. */
  close(): void {
    if (this.#closed) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.flush();
    this.#closed = true;
    this.#worker?.terminate();
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
