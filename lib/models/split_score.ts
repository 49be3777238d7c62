/**
 * Large batches scored on two threads: the second half of the rows goes to
 * a worker, the first half is scored here, and the two halves are joined.
 * The kinds that use it score each row on its own, so the scores equal one
 * thread's.
 *
 * The worker reads the rows from, and writes its scores into, shared
 * memory (posting a 12 MB buffer to a worker copies it: 11 ms; sharing it:
 * 0.5 ms), and it stays up between batches, ended
 * {@linkcode SCORING_WORKER_IDLE_MS} after its last answer (starting one
 * costs 10–17 ms). `node:worker_threads`, which could leave an idle worker
 * unreferenced, copies even shared buffers under Deno (150–190 ms for
 * 12 MB), so the web Worker it is.
 * @module
 */
import type { Matrix } from "../features/pipeline.ts";

/** How long an idle scoring worker is kept (the process exits no later than this after a batch). */
export const SCORING_WORKER_IDLE_MS = 200;

/** Rows from which batch scoring is split between this thread and a worker. */
export const PARALLEL_MIN_ROWS = 50_000;

/** What {@linkcode scoreSplit} needs of a kind. */
export interface SplitScoring {
  /** The worker module: it calls {@linkcode serveScoring} with its scorer. */
  worker: URL;
  /** The model part of the worker's message. */
  job: Record<string, unknown>;
  /** Scores rows on this thread. */
  local(X: Matrix): Float32Array;
  /** The kind, in errors. */
  name: string;
}

interface Pending {
  resolve(): void;
  reject(e: Error): void;
}

/** One scoring worker: its thread, the requests it has not answered yet, its idle timer. */
class ScoringWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  #idle: ReturnType<typeof setTimeout> | undefined;

  constructor(url: URL, readonly onEnd: () => void) {
    this.#worker = new Worker(url.href, { type: "module" });
    this.#worker.onmessage = (e: MessageEvent<{ id: number; error?: string }>) => {
      const p = this.#pending.get(e.data.id);
      if (!p) return;
      this.#pending.delete(e.data.id);
      if (e.data.error === undefined) p.resolve();
      else p.reject(new Error(e.data.error));
      if (this.#pending.size === 0) {
        this.#idle = setTimeout(() => this.#end(), SCORING_WORKER_IDLE_MS);
      }
    };
    this.#worker.onerror = (e) => {
      e.preventDefault();
      this.#end(new Error(e.message));
    };
  }

  #end(e?: Error): void {
    clearTimeout(this.#idle);
    this.#worker.terminate();
    this.onEnd();
    for (const p of this.#pending.values()) p.reject(e ?? new Error("the worker ended"));
    this.#pending.clear();
  }

  /** Scores shared rows into shared scores. */
  score(job: Record<string, unknown>, io: { data: Float32Array; out: Float32Array; cols: number }) {
    clearTimeout(this.#idle);
    const id = this.#next++;
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...job, id, ...io, rows: io.out.length });
    });
  }
}

const WORKERS = new Map<string, ScoringWorker>();

function workerFor(url: URL): ScoringWorker {
  let w = WORKERS.get(url.href);
  if (!w) {
    w = new ScoringWorker(url, () => WORKERS.delete(url.href));
    WORKERS.set(url.href, w);
  }
  return w;
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
  const data = new Float32Array(new SharedArrayBuffer(4 * (X.rows - half) * X.cols));
  data.set(X.data.subarray(half * X.cols));
  const out = new Float32Array(X.rows);
  const shared = new Float32Array(new SharedArrayBuffer(4 * (X.rows - half)));
  const done = workerFor(how.worker).score(how.job, { data, out: shared, cols: X.cols })
    .catch((e: Error) => {
      throw new Error(`${how.name} scoring worker failed: ${e.message}`);
    });
  const head = how.local({
    data: X.data.subarray(0, half * X.cols),
    rows: half,
    cols: X.cols,
    columns: X.columns,
  });
  out.set(head, 0);
  await done;
  out.set(shared, half);
  return out;
}

/**
 * The worker side: scores each request's shared rows with `score(job,
 * rows)` into its shared scores, then answers its id (or the error's
 * message).
 *
 * @param score scores a request's rows with its job
 */
export function serveScoring<Job>(score: (job: Job, X: Matrix) => Float32Array): void {
  const scope = globalThis as unknown as {
    onmessage: (e: MessageEvent) => void;
    postMessage: (message: unknown) => void;
  };
  scope.onmessage = (e: MessageEvent) => {
    const m = e.data as Job & { id: number; data: Float32Array; out: Float32Array; cols: number };
    try {
      m.out.set(score(m, { data: m.data, rows: m.out.length, cols: m.cols, columns: [] }));
      scope.postMessage({ id: m.id });
    } catch (err) {
      scope.postMessage({ id: m.id, error: (err as Error).message });
    }
  };
}
