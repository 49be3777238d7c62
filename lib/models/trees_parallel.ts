/**
 * Histograms on two threads: this thread sums the first half of each row
 * range, a worker the second, with the same WebAssembly kernel over one
 * shared memory (`trees_hist.ts`: binned rows, order, gradients, hessians,
 * histogram slots), and the halves are added here, the same arithmetic as
 * {@linkcode sequentialHists}, so a model is identical with one thread or
 * two. One hand-off per tree level (all the level's ranges at once),
 * signalled with `Atomics.wait`/`notify`.
 * @module
 */
import type { HistBuilder } from "./trees.ts";
import { HistKernel } from "./trees_hist.ts";

/** Ranges handed over at once at most (larger levels go in several hand-offs). */
const MAX_RANGES = 64;

/** Control words: [generation asked, generation done, ranges, features, closing]. */
const ASKED = 0, DONE = 1, RANGES = 2, FEATURES = 3, CLOSING = 4;

/** {@linkcode HistBuilder} with a worker thread for the second halves. */
export class ParallelHists implements HistBuilder {
  readonly order: Int32Array;
  readonly g: Float64Array;
  readonly h: Float64Array;
  readonly #kernel: HistKernel;
  readonly #ctl: Int32Array;
  readonly #ranges: Int32Array;
  readonly #worker: Worker;
  #generation = 0;

  /**
   * @param data the row-major bins and the matrix's shape
   */
  constructor(data: { binned: Uint8Array; rows: number; cols: number }) {
    // Slot 0: this thread's halves; slots 1..MAX_RANGES: the worker's.
    this.#kernel = new HistKernel({ rows: data.rows, cols: data.cols, slots: 1 + MAX_RANGES });
    this.#kernel.binned.set(data.binned);
    this.order = this.#kernel.order;
    this.g = this.#kernel.g;
    this.h = this.#kernel.h;
    this.#ctl = new Int32Array(new SharedArrayBuffer(4 * 8));
    this.#ranges = new Int32Array(new SharedArrayBuffer(4 * 2 * MAX_RANGES));
    this.#worker = new Worker(new URL("./trees_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.postMessage({
      memory: this.#kernel.memory,
      layout: this.#kernel.layout,
      cols: data.cols,
      ctl: this.#ctl,
      ranges: this.#ranges,
    });
  }

  build(ranges: Int32Array, features: Int32Array): Float64Array[] {
    const out: Float64Array[] = [];
    const kernel = this.#kernel;
    kernel.setFeatures(features);
    for (let at = 0; at < ranges.length; at += 2 * MAX_RANGES) {
      const part = ranges.subarray(at, Math.min(ranges.length, at + 2 * MAX_RANGES));
      const count = part.length / 2;
      this.#ranges.set(part);
      Atomics.store(this.#ctl, RANGES, count);
      Atomics.store(this.#ctl, FEATURES, features.length);
      const gen = ++this.#generation;
      Atomics.store(this.#ctl, ASKED, gen);
      Atomics.notify(this.#ctl, ASKED);
      const mine: Float64Array[] = [];
      for (let k = 0; k < count; k++) {
        const start = part[2 * k], end = part[2 * k + 1], mid = start + ((end - start) >> 1);
        mine.push(kernel.add(0, start, mid).slice());
      }
      while (Atomics.load(this.#ctl, DONE) !== gen) Atomics.wait(this.#ctl, DONE, gen - 1, 1000);
      for (let k = 0; k < count; k++) {
        const a = mine[k], b = kernel.view(1 + k);
        for (let q = 0; q < a.length; q++) a[q] += b[q];
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
