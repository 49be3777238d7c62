/**
 * Tree building on two threads: this thread takes the A half of every
 * node's rows, a worker the B half (`trees.ts`'s `HistBuilder`), over one
 * shared memory (`trees_hist.ts`: binned rows, order, margins, gradients,
 * hessians, histogram slots). Histograms: each half's segment summed by the
 * WebAssembly kernel, the two added here, the same arithmetic as
 * `sequentialHists`. Partitions: each thread splits its own segments in
 * place, with nothing to join. Gradients: each half of the rows. So a model
 * is identical with one thread or two. One hand-off per tree level (all the
 * level's nodes at once), signalled with `Atomics.wait`/`notify`.
 * @module
 */
import type { Matrix } from "../features/pipeline.ts";
import {
  binRows,
  type Bins,
  type HistBuilder,
  paddedCuts,
  PARTITION_WORDS,
  SEGMENT_WORDS,
  sequentialHists,
} from "./trees.ts";
import { HistKernel, LEAF_ENTRIES } from "./trees_hist.ts";

/** Ranges handed over at once at most (larger levels go in several hand-offs). */
const MAX_RANGES = LEAF_ENTRIES;

/** Control words: [generation asked, generation done, ranges, features, closing, job, pos weight]. */
const ASKED = 0, DONE = 1, RANGES = 2, FEATURES = 3, CLOSING = 4, JOB = 5, BINNED = 6;
/** Jobs: histograms of the second halves, partitions of the second halves, gradients of the second half. */
const HIST = 0, PARTITION = 1, GRADIENTS = 2, LEAVES = 3;

/** Where the worker's half of the rows starts for gradients (even: the kernel works in pairs). */
export function half(rows: number): number {
  return (rows >> 1) & ~1;
}

/** {@linkcode HistBuilder} with a worker thread for the second halves. */
export class ParallelHists implements HistBuilder {
  readonly order: Int32Array;
  readonly gh: Float64Array;
  readonly margin: Float64Array;
  readonly labels: Int8Array;
  readonly #kernel: HistKernel;
  readonly #results: Int32Array;
  /** The positive weight of a gradients job. */
  readonly #weight = new Float64Array(new SharedArrayBuffer(8));
  readonly #rows: number;
  readonly #ctl: Int32Array;
  readonly #ranges: Int32Array;
  readonly #worker: Worker;
  #generation = 0;

  /**
   * @param data the row-major bins and the matrix's shape
   */
  /**
   * @param X the training rows: this thread bins the first half into the
   *   shared memory while the worker bins the second
   * @param bins their cut points
   */
  constructor(X: Matrix, bins: Bins) {
    const data = { rows: X.rows, cols: X.cols };
    // Slot 0: this thread's halves; slots 1..MAX_RANGES: the worker's.
    this.#kernel = new HistKernel({ rows: data.rows, cols: data.cols, slots: 1 + MAX_RANGES });
    this.order = this.#kernel.order;
    this.gh = this.#kernel.gh;
    this.margin = this.#kernel.margin;
    this.labels = this.#kernel.labels;
    this.#rows = data.rows;
    this.#ctl = new Int32Array(new SharedArrayBuffer(4 * 8));
    this.#ranges = new Int32Array(new SharedArrayBuffer(4 * PARTITION_WORDS * MAX_RANGES));
    this.#results = new Int32Array(new SharedArrayBuffer(4 * MAX_RANGES));
    this.#worker = new Worker(new URL("./trees_worker.ts", import.meta.url).href, {
      type: "module",
    });
    // The worker's rows, copied where it can read them (X's own buffer is not shared).
    const mid = data.rows >> 1;
    const rest = new Float32Array(new SharedArrayBuffer(4 * (data.rows - mid) * data.cols));
    rest.set(X.data.subarray(mid * data.cols, data.rows * data.cols));
    const padded = paddedCuts(bins);
    this.#worker.postMessage({
      memory: this.#kernel.memory,
      layout: this.#kernel.layout,
      cols: data.cols,
      ctl: this.#ctl,
      ranges: this.#ranges,
      results: this.#results,
      weight: this.#weight,
      bin: { data: rest, first: mid, padded },
    });
    const out = { binned: this.#kernel.binned, columns: this.#kernel.columns, rows: data.rows };
    binRows({ data: X.data, cols: data.cols, first: 0 }, padded, out, { start: 0, end: mid });
    while (Atomics.load(this.#ctl, BINNED) !== 1) Atomics.wait(this.#ctl, BINNED, 0, 1000);
  }

  /** Hands a job to the worker and returns its generation (wait with {@linkcode ParallelHists.#wait}). */
  #ask(job: number, count: number, extra = 0): number {
    Atomics.store(this.#ctl, JOB, job);
    Atomics.store(this.#ctl, RANGES, count);
    Atomics.store(this.#ctl, FEATURES, extra);
    const gen = ++this.#generation;
    Atomics.store(this.#ctl, ASKED, gen);
    Atomics.notify(this.#ctl, ASKED);
    return gen;
  }

  #wait(gen: number): void {
    while (Atomics.load(this.#ctl, DONE) !== gen) Atomics.wait(this.#ctl, DONE, gen - 1, 1000);
  }

  partition(nodes: Int32Array): Int32Array {
    const kernel = this.#kernel, count = nodes.length / PARTITION_WORDS;
    const ends = new Int32Array(2 * count);
    for (let at = 0; at < count; at += MAX_RANGES) {
      const part = Math.min(MAX_RANGES, count - at);
      this.#ranges.set(nodes.subarray(PARTITION_WORDS * at, PARTITION_WORDS * (at + part)));
      const gen = this.#ask(PARTITION, part);
      for (let k = 0; k < part; k++) {
        const w = PARTITION_WORDS * (at + k);
        const split = { feature: nodes[w + 4], bin: nodes[w + 5], left: nodes[w + 6] };
        ends[2 * (at + k)] = nodes[w] + kernel.split(nodes[w], nodes[w + 1], split);
      }
      this.#wait(gen);
      for (let k = 0; k < part; k++) {
        ends[2 * (at + k) + 1] = nodes[PARTITION_WORDS * (at + k) + 2] + this.#results[k];
      }
    }
    return ends;
  }

  gradients(scalePosWeight: number): void {
    this.#weight[0] = scalePosWeight;
    const gen = this.#ask(GRADIENTS, 0);
    this.#kernel.gradients(0, half(this.#rows), scalePosWeight);
    this.#wait(gen);
  }

  addLeaves(leaves: Int32Array, values: Float64Array): void {
    const kernel = this.#kernel, count = leaves.length / PARTITION_WORDS;
    for (let at = 0; at < count; at += LEAF_ENTRIES) {
      const part = Math.min(LEAF_ENTRIES, count - at);
      this.#ranges.set(leaves.subarray(PARTITION_WORDS * at, PARTITION_WORDS * (at + part)));
      kernel.values.set(values.subarray(2 * at, 2 * (at + part)));
      const gen = this.#ask(LEAVES, part);
      for (let k = 0; k < part; k++) {
        const w = PARTITION_WORDS * (at + k);
        const split = { feature: leaves[w + 4], bin: leaves[w + 5], left: leaves[w + 6] };
        kernel.leafAdd(leaves[w], leaves[w + 1], split, k);
      }
      this.#wait(gen);
    }
  }

  build(nodes: Int32Array, features: Int32Array): Float64Array[] {
    const out: Float64Array[] = [];
    const kernel = this.#kernel;
    kernel.setFeatures(features);
    for (let at = 0; at < nodes.length; at += SEGMENT_WORDS * MAX_RANGES) {
      const part = nodes.subarray(at, Math.min(nodes.length, at + SEGMENT_WORDS * MAX_RANGES));
      const count = part.length / SEGMENT_WORDS;
      this.#ranges.set(part);
      const gen = this.#ask(HIST, count, features.length);
      const mine: Float64Array[] = [];
      for (let k = 0; k < count; k++) {
        const w = SEGMENT_WORDS * k;
        mine.push(kernel.add(0, part[w], part[w + 1]).slice());
      }
      this.#wait(gen);
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

/**
 * The tree builder for `threads` (1 or 2) over the rows of `X` binned by
 * `bins`; `close` stops its worker.
 *
 * @param X the training rows
 * @param bins their cut points
 * @param threads 1 or 2
 * @returns the builder
 */
export function treeBuilder(
  X: Matrix,
  bins: Bins,
  threads: number,
): HistBuilder & { close(): void } {
  if (threads > 1) return new ParallelHists(X, bins);
  return Object.assign(sequentialHists(X, bins), { close() {} });
}
