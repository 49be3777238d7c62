/**
 * Writer side of the prediction log: owns its own SQLite connection and
 * inserts the batches the server posts, so disk writes (and their fsyncs)
 * never block the thread answering requests. After each committed batch it
 * adds the row count to a shared counter the server can wait on.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { insertRows, type RowBatch } from "./predlog.ts";

/** The worker global scope, typed by what this worker uses. */
const scope = globalThis as unknown as {
  onmessage: (e: MessageEvent<Message>) => void;
  postMessage: (message: unknown) => void;
};

type Message =
  | { type: "open"; path: string; counter: SharedArrayBuffer }
  | { type: "rows"; rows: RowBatch }
  | { type: "close" };

let db: DatabaseSync | null = null;
let counter: Int32Array | null = null;

scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === "open") {
    db = new DatabaseSync(m.path);
    db.exec("PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;");
    counter = new Int32Array(m.counter);
  } else if (m.type === "rows") {
    try {
      insertRows(db!, m.rows);
      Atomics.add(counter!, 0, m.rows.transaction_id.length);
    } catch (err) {
      Atomics.add(counter!, 1, m.rows.transaction_id.length); // failed rows: the server re-queues
      scope.postMessage({ type: "failed", rows: m.rows, error: (err as Error).message });
    }
    Atomics.notify(counter!, 0);
  } else if (m.type === "close") {
    db?.close();
    scope.postMessage({ type: "closed" });
  }
};
