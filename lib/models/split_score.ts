/**
 * Large batches scored on two threads: the second half of the rows goes to
 * a worker (copied once and transferred), the first half is scored here,
 * and the two halves are joined. The kinds that use it score each row on
 * its own, so the scores equal one thread's.
 * @module
 */
import type { Matrix } from "../features/pipeline.ts";

/** Rows from which batch scoring is split between this thread and a worker. */
export const PARALLEL_MIN_ROWS = 50_000;

/** What {@linkcode scoreSplit} needs of a kind. */
export interface SplitScoring {
  /** The worker module: it receives `job` plus `data`, `rows` and `cols`, and posts the scores. */
  worker: URL;
  /** The model part of the worker's message. */
  job: Record<string, unknown>;
  /** Scores rows on this thread. */
  local(X: Matrix): Float32Array;
  /** The kind, in errors. */
  name: string;
}

/**
 * Scores `X`, on two threads when it is large and the machine has two cores.
 *
 * @param X the rows
 * @param how the worker, its job, and this thread's scorer
 * @returns one score per row
 */
export async function scoreSplit(X: Matrix, how: SplitScoring): Promise<Float32Array> {
  const cores = navigator.hardwareConcurrency ?? 1;
  if (X.rows < PARALLEL_MIN_ROWS || cores < 2) return how.local(X);
  const half = Math.floor(X.rows / 2);
  const worker = new Worker(how.worker.href, { type: "module" });
  try {
    const tail = X.data.slice(half * X.cols);
    const done = new Promise<Float32Array>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<Float32Array>) => resolve(e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`${how.name} scoring worker failed: ${e.message}`));
      };
    });
    worker.postMessage({ ...how.job, data: tail, rows: X.rows - half, cols: X.cols }, [
      tail.buffer as ArrayBuffer,
    ]);
    const head = how.local({
      data: X.data.subarray(0, half * X.cols),
      rows: half,
      cols: X.cols,
      columns: X.columns,
    });
    const out = new Float32Array(X.rows);
    out.set(head, 0);
    out.set(await done, half);
    return out;
  } finally {
    worker.terminate();
  }
}
