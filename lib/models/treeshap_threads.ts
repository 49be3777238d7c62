/**
 * One row's tabled TreeSHAP on two threads, for serving: a worker holds a
 * walk of the ensemble's second part (`TabledWalk`), this thread the whole
 * ensemble. For each row this thread hands the row to the worker through
 * shared memory and wakes it (`Atomics.notify`), walks the first part, waits
 * for the worker's sums, and adds the two parts as a one-thread walk does:
 * the contributions are identical (tested).
 *
 * The worker sleeps in `Atomics.wait` between rows, so it needs no event
 * loop turn and no message per row. Until it is ready, after it failed to
 * answer within {@linkcode EXPLAIN_WORKER_TIMEOUT_MS}, or after `close`,
 * this thread walks both parts itself (the same numbers). It is ended after
 * {@linkcode EXPLAIN_WORKER_IDLE_MS} without a row, so an idle process can
 * exit, and started again by the next row.
 *
 * Measured (bench/treeshap_bench.ts, the serve bench's 300-tree champion,
 * 2 cores): 35.7–42.0 µs a row against 73.6–77.4 µs on one thread; served
 * with reasons on every answer, 14.3% of bare Hono's requests/s against
 * 10.7% on one thread in the same run (bench/serve_bench.ts).
 * @module
 */
import { FastTreeShap } from "./treeshap_fast.ts";
import type { Tree } from "./trees.ts";

/** How long the worker is kept without a row to explain. */
export const EXPLAIN_WORKER_IDLE_MS = 2000;
/** How long a row waits for the worker's half before the worker is given up. */
export const EXPLAIN_WORKER_TIMEOUT_MS = 1000;
/** Polls of the worker's answer once it took the row (about half a millisecond), then sleeps. */
const SPINS = 200_000;
/**
 * How long the worker polls for the next row before it sleeps (ms): a wake
 * from `Atomics.wait` costs several µs. On the serve bench (2 cores, wrk
 * beside the server), polling 0, 50 and 150 µs gave 12.0%, 13.1–13.3% and
 * 12.5–14.8% of bare Hono's requests/s, against 10–11.6% on one thread.
 */
export const EXPLAIN_WORKER_POLL_MS = 0.05;

// Control words (int32): the job's sequence number (−1: stop), the last one
// answered, ready (1 once the worker waits for rows), the last one taken
// (by the worker, or by this thread when the worker had not started it).
const JOB = 0, DONE = 1, READY = 2, TAKEN = 3;
/** Bytes before the row (the control words on their own cache line). */
const HEAD = 64;

/**
 * Job numbers run 1 … JOB_MAX and wrap (−1 is stop), so a server up for
 * months never overflows them; the words start at JOB_MAX, as if that job
 * were done.
 */
export const JOB_MAX = 2 ** 30;
export const nextJob = (j: number): number => j >= JOB_MAX ? 1 : j + 1;
export const previousJob = (j: number): number => j <= 1 ? JOB_MAX : j - 1;

/** The shared memory's layout for `cols` features: control words, the row (float32), the sums (float64). */
export function channelLayout(cols: number): { rowAt: number; sumsAt: number; bytes: number } {
  const rowAt = HEAD, sumsAt = (rowAt + 4 * cols + 7) & ~7;
  return { rowAt, sumsAt, bytes: sumsAt + 8 * cols };
}

/** What the worker is sent once. */
export interface ExplainWorkerInit {
  channel: SharedArrayBuffer;
  cols: number;
  pollMs: number;
  firstJob: number;
  trees: NonNullable<ReturnType<FastTreeShap["secondPart"]>>["trees"];
}

/** Explains one row at a time on this thread and a worker; see the module doc. */
export class ThreadedTreeShap {
  readonly #fast: FastTreeShap;
  readonly #channel: SharedArrayBuffer;
  readonly #control: Int32Array;
  readonly #row: Float32Array;
  readonly #sums: Float64Array;
  #worker: Worker | null = null;
  #seq = JOB_MAX;
  readonly #start0: number;
  #uses = 0;
  #seen = 0;
  #idle: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** Rows explained with the worker's half, and rows this thread walked alone. */
  shared = 0;
  alone = 0;
  /** Times the worker failed (did not answer in time, or threw): each is also logged. */
  failures = 0;

  /**
   * @param fast the tables
   * @param options `firstJob`: the job number the words start at (tests: near
   *   {@linkcode JOB_MAX}, to wrap)
   */
  constructor(fast: FastTreeShap, options: { firstJob?: number } = {}) {
    this.#fast = fast;
    this.#start0 = options.firstJob ?? JOB_MAX;
    const cols = fast.walk?.cols ?? 0;
    const layout = channelLayout(cols);
    this.#channel = new SharedArrayBuffer(layout.bytes);
    this.#control = new Int32Array(this.#channel, 0, 4);
    this.#row = new Float32Array(this.#channel, layout.rowAt, cols);
    this.#sums = new Float64Array(this.#channel, layout.sumsAt, cols);
  }

  /** Whether a worker is up and waiting for rows. */
  get ready(): boolean {
    return this.#worker !== null && Atomics.load(this.#control, READY) === 1;
  }

  /**
   * Adds the ensemble's Shapley values for `row` into `phi` (the same
   * values as `FastTreeShap.explain`).
   */
  explain(row: ArrayLike<number>, phi: Float64Array): void {
    const walk = this.#fast.walk;
    if (!walk || this.#closed || row.length < walk.cols || phi.length < walk.cols) {
      this.alone++;
      this.#fast.explain(row, phi);
      return;
    }
    this.#uses++;
    if (!this.#worker) this.#start();
    if (!this.ready) {
      this.alone++;
      walk.explain(row, phi);
      return;
    }
    const ctl = this.#control, cols = walk.cols;
    for (let j = 0; j < cols; j++) this.#row[j] = row[j];
    const prev = this.#seq, seq = nextJob(prev);
    this.#seq = seq;
    Atomics.store(ctl, JOB, seq);
    Atomics.notify(ctl, JOB, 1);
    walk.load(row);
    walk.run(0);
    // The worker not started on it yet (not scheduled: the cores are busy), this thread takes
    // the second part too; the worker skips a row it could not take.
    if (Atomics.compareExchange(ctl, TAKEN, prev, seq) === prev || !this.#answered(seq, prev)) {
      this.alone++;
      walk.run(1);
      walk.addInto(phi);
      return;
    }
    walk.sums(1).set(this.#sums);
    walk.addInto(phi);
    this.shared++;
  }

  /** Waits for the worker's answer to `seq`: false (the worker given up) after the timeout. */
  #answered(seq: number, prev: number): boolean {
    const ctl = this.#control;
    for (let s = 0; s < SPINS; s++) if (Atomics.load(ctl, DONE) === seq) return true;
    const deadline = performance.now() + EXPLAIN_WORKER_TIMEOUT_MS;
    while (Atomics.load(ctl, DONE) !== seq) {
      const left = deadline - performance.now();
      if (left <= 0) {
        this.#fail(`did not answer within ${EXPLAIN_WORKER_TIMEOUT_MS} ms`);
        return false;
      }
      Atomics.wait(ctl, DONE, prev, left);
    }
    return true;
  }

  #fail(why: string): void {
    this.failures++;
    console.error(`treeshap: the explanation worker ${why}; this thread explains alone`);
    this.#stop();
    this.#closed = true;
  }

  #start(): void {
    const part = this.#fast.secondPart()!;
    const ctl = this.#control;
    Atomics.store(ctl, READY, 0);
    for (const w of [JOB, DONE, TAKEN]) Atomics.store(ctl, w, this.#start0);
    this.#seq = this.#start0;
    const worker = new Worker(new URL("./treeshap_worker.ts", import.meta.url).href, {
      type: "module",
    });
    worker.onerror = (e) => {
      e.preventDefault();
      if (this.#worker === worker) this.#fail(`threw: ${e.message}`);
    };
    const init: ExplainWorkerInit = {
      channel: this.#channel,
      cols: part.cols,
      trees: part.trees,
      pollMs: EXPLAIN_WORKER_POLL_MS,
      firstJob: this.#start0,
    };
    worker.postMessage(init);
    this.#worker = worker;
    this.#seen = this.#uses;
    this.#idle = setTimeout(() => this.#idleCheck(), EXPLAIN_WORKER_IDLE_MS);
  }

  #idleCheck(): void {
    if (this.#uses === this.#seen) {
      this.#stop();
      return;
    }
    this.#seen = this.#uses;
    this.#idle = setTimeout(() => this.#idleCheck(), EXPLAIN_WORKER_IDLE_MS);
  }

  #stop(): void {
    clearTimeout(this.#idle);
    const worker = this.#worker;
    if (!worker) return;
    this.#worker = null;
    const ctl = this.#control;
    Atomics.store(ctl, READY, 0);
    Atomics.store(ctl, JOB, -1);
    Atomics.notify(ctl, JOB);
    worker.terminate();
  }

  /** Ends the worker for good: later rows are walked on this thread alone. */
  close(): void {
    this.#stop();
    this.#closed = true;
  }
}

/** Threads a served tree model explains one row on: two where the machine has two cores. */
export const DEFAULT_EXPLAIN_THREADS = Math.min(2, navigator.hardwareConcurrency ?? 1);

/**
 * A tree model's explainer: tabled on the first row, on one thread or two
 * ({@linkcode RowExplainer.threads}), the same values either way.
 */
export class RowExplainer {
  #fast: FastTreeShap | null = null;
  #threaded: ThreadedTreeShap | null = null;
  #threads = 1;

  constructor(readonly trees: Tree[], readonly options: { maxDepth: number; budget?: number }) {}

  /** The tables (built on first use). */
  get fast(): FastTreeShap {
    return this.#fast ??= new FastTreeShap(this.trees, this.options);
  }

  /** Explains on `n` threads from now on (1: this thread alone; the worker, if any, is ended). */
  set threads(n: number) {
    this.#threads = n;
    if (n < 2) {
      this.#threaded?.close();
      this.#threaded = null;
    }
  }

  get threads(): number {
    return this.#threads;
  }

  /** Adds the ensemble's Shapley values for `row` into `phi`. */
  explain(row: ArrayLike<number>, phi: Float64Array): void {
    if (this.#threads < 2) {
      this.fast.explain(row, phi);
      return;
    }
    (this.#threaded ??= new ThreadedTreeShap(this.fast)).explain(row, phi);
  }
}
