/**
 * Writer side of the prediction log: owns its own SQLite connection and
 * writes the batches and labels the server posts, so disk writes (and their
 * fsyncs, and waits behind another connection's lock) never block the
 * thread answering requests. Each batch is settled one way: written (rows
 * that fail alone quarantined, see `LogWriter.writeBatch`), or handed back
 * whole when the database cannot be written. Counts go to a shared array
 * the server can wait on: [settled, written, quarantined, dropped, closed].
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import type { Feedback } from "./predlog_schema.ts";
import { LogUnavailable, LogWriter, type RowBatch } from "./predlog_writer.ts";

/** The worker global scope, typed by what this worker uses. */
const scope = globalThis as unknown as {
  onmessage: (e: MessageEvent<Message>) => void;
  postMessage: (message: unknown) => void;
};

type Message =
  | {
    type: "open";
    path: string;
    counter: SharedArrayBuffer;
    busyTimeoutMs: number;
    quarantineFile: string;
  }
  | { type: "rows"; id: number; rows: RowBatch }
  | { type: "feedback"; id: number; fb: Feedback; receivedAt: number; source: string | null }
  | { type: "close" };

let db: DatabaseSync | null = null;
let counter: Int32Array | null = null;
let writer: LogWriter | null = null;

scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === "open") {
    db = new DatabaseSync(m.path);
    db.exec(`PRAGMA busy_timeout = ${m.busyTimeoutMs}; PRAGMA synchronous = NORMAL;`);
    counter = new Int32Array(m.counter);
    writer = new LogWriter(db, m.quarantineFile);
  } else if (m.type === "rows") {
    const n = m.rows.transaction_id.length;
    try {
      const out = writer!.writeBatch(m.rows);
      Atomics.add(counter!, 1, out.written);
      Atomics.add(counter!, 2, out.quarantined);
      Atomics.add(counter!, 3, out.dropped);
      scope.postMessage({ type: "done", id: m.id, ...out });
    } catch (err) {
      const error = err instanceof LogUnavailable ? err.message : String(err);
      scope.postMessage({ type: "unavailable", id: m.id, error }); // the server queues it again
    }
    Atomics.add(counter!, 0, n);
    Atomics.notify(counter!, 0);
  } else if (m.type === "feedback") {
    try {
      writer!.upsertFeedback(m.fb, { receivedAt: m.receivedAt, source: m.source });
      scope.postMessage({ type: "feedback", id: m.id, error: null });
    } catch (err) {
      scope.postMessage({
        type: "feedback",
        id: m.id,
        error: String((err as Error).message ?? err),
      });
    }
  } else if (m.type === "close") {
    db?.close();
    db = null;
    Atomics.store(counter!, 4, 1);
    Atomics.notify(counter!, 4);
  }
};
