/**
 * Histograms on two threads: this thread sums the first half of each row
 * range, a worker the second, into shared memory, and the halves are added
 * here, the same arithmetic as {@linkcode sequentialHists}, so a model is
 * identical with one thread or two. The rows, gradients and bins live in
 * shared buffers the worker reads; one hand-off per tree level (all the
 * level's ranges at once), signalled with `Atomics.wait`/`notify`.
 * @module
 */
import { addRows, type HistBuilder, histLength } from "./trees.ts";

/** Ranges handed over at once at most (larger levels go in several hand-offs). */
const MAX_RANGES = 64;

/** Control words: [generation asked, generation done, ranges, features, closing]. */
const ASKED = 0, DONE = 1, RANGES = 2, FEATURES = 3, CLOSING = 4;

/** {@linkcode HistBuilder} with a worker thread for the second halves. */
export class ParallelHists implements HistBuilder {
  readonly order: Int32Array;
  readonly g: Float64Array;
  readonly h: Float64Array;
  readonly #binned: Uint8Array;
  readonly #cols: number;
  readonly #ctl: Int32Array;
  readonly #ranges: Int32Array;
  readonly #features: Int32Array;
  readonly #out: Float64Array;
  readonly #worker: Worker;
  #generation = 0;

  /**
   * @param data the row-major bins and the matrix's shape
   */
  constructor(data: { binned: Uint8Array; rows: number; cols: number }) {
    const n = data.rows, d = data.cols;
    const shared = <T>(make: (b: SharedArrayBuffer) => T, bytes: number) =>
      make(new SharedArrayBuffer(bytes));
    this.#binned = shared((b) => new Uint8Array(b), n * d);
    this.#binned.set(data.binned);
    this.#cols = d;
    this.order = shared((b) => new Int32Array(b), 4 * n);
    this.g = shared((b) => new Float64Array(b), 8 * n);
    this.h = shared((b) => new Float64Array(b), 8 * n);
    this.#ctl = shared((b) => new Int32Array(b), 4 * 8);
    this.#ranges = shared((b) => new Int32Array(b), 4 * 2 * MAX_RANGES);
    this.#features = shared((b) => new Int32Array(b), 4 * d);
    this.#out = shared((b) => new Float64Array(b), 8 * MAX_RANGES * histLength(d));
    this.#worker = new Worker(new URL("./trees_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.postMessage({
      binned: this.#binned,
      cols: d,
      order: this.order,
      g: this.g,
      h: this.h,
      ctl: this.#ctl,
      ranges: this.#ranges,
      features: this.#features,
      out: this.#out,
    });
  }

  build(ranges: Int32Array, features: Int32Array): Float64Array[] {
    const out: Float64Array[] = [];
    const len = histLength(features.length);
    this.#features.set(features);
    for (let at = 0; at < ranges.length; at += 2 * MAX_RANGES) {
      const part = ranges.subarray(at, Math.min(ranges.length, at + 2 * MAX_RANGES));
      const count = part.length / 2;
      this.#ranges.set(part);
      Atomics.store(this.#ctl, RANGES, count);
      Atomics.store(this.#ctl, FEATURES, features.length);
      const gen = ++this.#generation;
      Atomics.store(this.#ctl, ASKED, gen);
      Atomics.notify(this.#ctl, ASKED);
      const common = {
        binned: this.#binned,
        cols: this.#cols,
        g: this.g,
        h: this.h,
        order: this.order,
        features,
      };
      const mine: Float64Array[] = [];
      for (let k = 0; k < count; k++) {
        const start = part[2 * k], end = part[2 * k + 1], mid = start + ((end - start) >> 1);
        const a = new Float64Array(len);
        addRows(a, { ...common, start, end: mid });
        mine.push(a);
      }
      while (Atomics.load(this.#ctl, DONE) !== gen) Atomics.wait(this.#ctl, DONE, gen - 1, 1000);
      for (let k = 0; k < count; k++) {
        const a = mine[k], b = this.#out.subarray(k * len, (k + 1) * len);
        for (let q = 0; q < len; q++) a[q] += b[q];
        out.push(a);
      }
    }
    return out;
  }

  /** Stops the worker. */
  close(): void {
    Atomics.store(this.#ctl, CLOSING, 1);
    Atomics.store(this.#ctl, ASKED, ++this.#generation);
    Atomics.notify(this.#ctl, ASKED);
    this.#worker.terminate();
  }
}
