/**
 * Writing the prediction log: queued rows as a batch of columns, and a
 * {@linkcode LogWriter} per connection (statements prepared once) that
 * writes a batch so every row ends up somewhere and upserts labels. The
 * writer worker and the log's inline path (in-memory logs) both use it.
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { appendFileSync } from "node:fs";
import type { Feedback } from "./predlog_schema.ts";

/** What {@linkcode LogWriter.writeBatch} did with a batch. */
export interface BatchOutcome {
  written: number;
  quarantined: number;
  dropped: number;
}

/** The database cannot be written at all (not one row's fault). */
export class LogUnavailable extends Error {}

/** Whether a failed insert is a row's own fault (a constraint) rather than the database's. */
export function rowLevel(e: unknown): boolean {
  return /constraint|mismatch|too big|out of range|bind/i.test(String((e as Error)?.message ?? e));
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
  models: { model: string; version: number; run_id: string; threshold: number; role: string }[];
  model: number[];
  transaction_id: string[];
  scored_at: number[];
  event_time: number[];
  score: number[];
  is_fraud: number[];
  input: string[];
}

/** A batch with no rows. */
export function emptyBatch(): RowBatch {
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
interface Statements {
  one: StatementSync;
  many: StatementSync;
  addModel: StatementSync;
  modelKey: StatementSync;
  keys: Map<string, number>;
}

/** The key of a model in the `models` table, added when new (inside the caller's transaction). */
function modelKeyOf(w: Statements, m: RowBatch["models"][number]): number {
  const id = `${m.model}\0${m.version}\0${m.run_id}\0${m.threshold}\0${m.role}`;
  let key = w.keys.get(id);
  if (key === undefined) {
    w.addModel.run(m.model, m.version, m.run_id, m.threshold, m.role);
    const r = w.modelKey.get(m.model, m.version, m.run_id, m.threshold, m.role) as
      | { model_key: number }
      | undefined;
    if (!r) {
      throw new Error(
        `this log predates shadow logging and already holds ${m.model} v${m.version} as served: log its shadow to a new log file`,
      );
    }
    key = Number(r.model_key);
    w.keys.set(id, key);
  }
  return key;
}

/** Inserts a batch in one transaction (shared by the inline path and the writer worker). */
function insertRows(db: DatabaseSync, w: Statements, b: RowBatch): void {
  const n = b.transaction_id.length;
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
    try {
      db.exec("ROLLBACK");
    } catch {
      /* SQLite already rolled back (a full disk does): the first error is the one to report */
    }
    // A rolled-back transaction may have added a model key this cache now holds.
    w.keys.clear();
    throw e;
  }
}

/** One row of a batch as a plain object (quarantine copies). */
function rowOf(b: RowBatch, i: number): Record<string, unknown> {
  const m = b.models[b.model[i]];
  return {
    transaction_id: b.transaction_id[i],
    scored_at: b.scored_at[i],
    event_time: Number.isNaN(b.event_time[i]) ? null : b.event_time[i],
    model: m?.model,
    version: m?.version,
    run_id: m?.run_id,
    score: b.score[i],
    threshold: m?.threshold,
    is_fraud: b.is_fraud[i] === 1,
    input: b.input[i],
  };
}

/** The rows of a batch at `at` (one-row batches for the row-by-row retry). */
function sliceBatch(b: RowBatch, at: number): RowBatch {
  return {
    models: b.models,
    model: [b.model[at]],
    transaction_id: [b.transaction_id[at]],
    scored_at: [b.scored_at[at]],
    event_time: [b.event_time[at]],
    score: [b.score[at]],
    is_fraud: [b.is_fraud[at]],
    input: [b.input[at]],
  };
}

/**
 * Writes a batch so that every row ends up somewhere: in one transaction;
 * failing that row by row, a failing row going to the quarantine table
 * (then to `quarantineFile`, then counted as dropped). Throws
 * {@linkcode LogUnavailable} when the database itself cannot be written,
 * with nothing of the batch written.
 */
function writeBatch(
  db: DatabaseSync,
  w: Statements,
  b: RowBatch,
  quarantineFile: string,
): BatchOutcome {
  try {
    insertRows(db, w, b);
    return { written: b.transaction_id.length, quarantined: 0, dropped: 0 };
  } catch (e) {
    if (!rowLevel(e)) throw new LogUnavailable(String((e as Error).message ?? e));
  }
  const out = { written: 0, quarantined: 0, dropped: 0 };
  for (let i = 0; i < b.transaction_id.length; i++) {
    try {
      insertRows(db, w, sliceBatch(b, i));
      out.written++;
      continue;
    } catch (e) {
      if (!rowLevel(e) && out.written === 0 && out.quarantined === 0) {
        throw new LogUnavailable(String((e as Error).message ?? e));
      }
      const error = String((e as Error).message ?? e);
      const text = JSON.stringify(rowOf(b, i));
      try {
        db.prepare("INSERT INTO quarantine (quarantined_at, error, row) VALUES (?, ?, ?)")
          .run(Date.now(), error, text);
        out.quarantined++;
      } catch {
        try {
          appendFileSync(
            quarantineFile,
            JSON.stringify({ at: Date.now(), error, row: text }) + "\n",
          );
          out.quarantined++;
        } catch {
          out.dropped++;
        }
      }
    }
  }
  return out;
}

const UPSERT_FEEDBACK =
  `INSERT INTO feedback (transaction_id, label, labeled_at, received_at, source) VALUES (?, ?, ?, ?, ?)
   ON CONFLICT (transaction_id) DO UPDATE SET label = excluded.label,
     labeled_at = excluded.labeled_at, received_at = excluded.received_at, source = excluded.source`;

/** One connection's writer: prepared statements and the model keys it has looked up. */
export class LogWriter {
  readonly #db: DatabaseSync;
  readonly #statements: Statements;
  readonly #quarantineFile: string;
  readonly #upsert;

  /**
   * @param db an open connection to a migrated log
   * @param quarantineFile where rows go that not even the quarantine table can hold
   */
  constructor(db: DatabaseSync, quarantineFile: string) {
    this.#db = db;
    this.#quarantineFile = quarantineFile;
    this.#statements = {
      one: db.prepare(INSERT),
      many: db.prepare(INSERT_MANY),
      addModel: db.prepare(
        `INSERT INTO models (model, version, run_id, threshold, role) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING`,
      ),
      modelKey: db.prepare(
        `SELECT model_key FROM models
         WHERE model = ? AND version = ? AND run_id = ? AND threshold = ? AND role = ?`,
      ),
      keys: new Map(),
    };
    this.#upsert = db.prepare(UPSERT_FEEDBACK);
  }

  /**
   * Writes a batch so that every row ends up somewhere: in one transaction;
   * failing that row by row, a failing row going to the quarantine table
   * (then to the quarantine file, then counted as dropped). Throws
   * {@linkcode LogUnavailable} when the database itself cannot be written,
   * with nothing of the batch written.
   */
  writeBatch(b: RowBatch): BatchOutcome {
    return writeBatch(this.#db, this.#statements, b, this.#quarantineFile);
  }

  /** Upserts one label: the latest label for an id wins. */
  upsertFeedback(fb: Feedback, options: { receivedAt: number; source: string | null }): void {
    this.#upsert.run(
      fb.transaction_id,
      fb.label,
      fb.labeled_at,
      options.receivedAt,
      options.source,
    );
  }
}
