/**
 * Trees on histograms, the builder the tree kinds share: per-feature cut
 * points from the training rows (at most 255 bins, a missing value in a bin
 * of its own), a binned column-major matrix, and depth-wise or leaf-wise growth from
 * gradient and hessian sums per bin, the smaller child's histogram built
 * and the larger one's taken by subtraction from its parent (LightGBM's
 * histogram subtraction). A split sends `x < threshold` left; a missing
 * value goes the way that gained most in training (its default direction).
 *
 * The trees are flat typed arrays: node `i` splits on `feature[i]` (−1 for
 * a leaf) at `threshold[i]`, children `left[i]` and `right[i]`, missing
 * values to the left when `defaultLeft[i]` is 1; `value[i]` is a leaf's
 * output, `cover[i]` the hessian sum (the row weight) that reached the
 * node in training and `gain[i]` the split's loss reduction. TreeSHAP reads
 * `cover`.
 *
 * One file: binning, histograms, the split search and the tree layout are
 * one algorithm whose parts index the same bin layout.
 * @module
 */
import type { Matrix } from "../features/pipeline.ts";
import { Rng } from "../util/rng.ts";
import { sortFloat64 } from "../util/sort.ts";
import { HistKernel, LEAF_ENTRIES } from "./trees_hist.ts";

/** Bins per feature at most (bin 255 holds missing values). */
export const MAX_BINS = 255;
/** The bin of a missing value. */
export const MISSING_BIN = 255;

/** Cut points per feature: bin(x) = how many cuts are ≤ x; `x < cuts[b]` ⇔ bin(x) ≤ b. */
export interface Bins {
  /** Per feature, strictly increasing float32 cut values (at most 254). */
  cuts: Float32Array[];
}

/** Rows the cut points are computed from at most (an even stride through the rows). */
export const BIN_SAMPLE_ROWS = 200_000;

/**
 * Cut points from training rows: every distinct value when a feature has at
 * most `maxBins`, else bins of about equal counts that never split a run of
 * equal values, each bin taking an equal share of the rows the earlier bins
 * left (so a value held by many rows, a zero-inflated feature's 0, takes one
 * bin and the other values share the rest, as LightGBM's bins do); computed
 * from at most {@linkcode BIN_SAMPLE_ROWS} rows taken at an even stride (as
 * LightGBM samples for its bins). Cuts are actual (float32) values, so
 * `x < cut` splits exactly the rows the bins do.
 *
 * Plain equal-count quantiles spent all but a few bins on such a value: on
 * the Handbook's features (terminal risks are mostly 0), a depth-2 tree's
 * test AP was 0.486 against scikit-learn's 0.573 on the same matrices
 * (bench/handbook.ts --peer); see docs/benchmarks.md for the figures now.
 *
 * @param X the training matrix
 * @param options bins at most (default 255)
 * @returns the cut points
 */
export function fitBins(X: Matrix, options: { maxBins?: number } = {}): Bins {
  const maxBins = Math.min(options.maxBins ?? MAX_BINS, MAX_BINS);
  const { rows: n, cols: d, data } = X;
  const step = Math.max(1, Math.ceil(n / BIN_SAMPLE_ROWS));
  const cuts: Float32Array[] = [];
  // The sampled rows' columns, read in one row-major pass (reading a column
  // of a row-major matrix one value per cache line costs several times more).
  const rows = Math.ceil(n / step);
  const columns = Array.from({ length: d }, () => new Float64Array(rows));
  const filled = new Int32Array(d);
  for (let i = 0; i < n; i += step) {
    const base = i * d;
    for (let j = 0; j < d; j++) {
      const v = data[base + j];
      if (v === v) columns[j][filled[j]++] = v;
    }
  }
  for (let j = 0; j < d; j++) {
    const m = filled[j];
    const sorted = sortFloat64(columns[j].subarray(0, m));
    let distinct = m > 0 ? 1 : 0;
    for (let i = 1; i < m && distinct <= maxBins; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
    const c: number[] = [];
    if (distinct <= maxBins) {
      for (let i = 1; i < m; i++) if (sorted[i] !== sorted[i - 1]) c.push(sorted[i]);
    } else {
      // Each bin: an equal share of the rows left, extended to the end of its last value's run.
      let pos = 0;
      for (let left = maxBins; left > 1 && pos < m; left--) {
        let end = Math.min(m, pos + Math.max(1, Math.round((m - pos) / left)));
        const last = sorted[end - 1];
        while (end < m && sorted[end] === last) end++;
        if (end >= m) break;
        c.push(sorted[end]);
        pos = end;
      }
    }
    cuts.push(Float32Array.from(c));
  }
  return { cuts };
}

/**
 * Each feature's cuts padded to 256 with NaN (never ≤ x), for the
 * branch-free search of {@linkcode binRows}.
 *
 * @param bins cut points from {@linkcode fitBins}
 * @returns 256 float32 a feature
 */
export function paddedCuts(bins: Bins): Float32Array {
  const padded = new Float32Array(bins.cuts.length * 256).fill(NaN);
  bins.cuts.forEach((c, j) => padded.set(c, j * 256));
  return padded;
}

/**
 * Bins rows [start, end) of a matrix into the row-major
 * (`binned[i * cols + j]`: a histogram pass reads a row's bins together)
 * and column-major (`columns[j * rows + i]`: a partition reads one
 * feature's column) byte matrices of all `rows`. The rows come from `data`,
 * whose first row is row `first`; two threads may bin two ranges at once.
 *
 * @param x the rows' values, their width and the index of their first row
 * @param padded from {@linkcode paddedCuts}
 * @param out the two byte matrices and their row count
 * @param range the rows to bin
 */
export function binRows(
  x: { data: Float32Array; cols: number; first: number },
  padded: Float32Array,
  out: { binned: Uint8Array; columns: Uint8Array; rows: number },
  range: { start: number; end: number },
): void {
  const { data, cols: d, first } = x;
  const { binned, columns, rows: n } = out;
  // A branch-free search of 8 fixed halvings counts the cuts ≤ x (a branching binary search on
  // random values mispredicted so often it cost 60 ns a value).
  for (let i = range.start; i < range.end; i++) {
    for (let j = 0, p = 0, s = (i - first) * d; j < d; j++, p += 256, s++) {
      const v = data[s];
      let bin = MISSING_BIN;
      if (v === v) {
        let lo = p;
        lo += 128 & -Number(padded[lo + 127] <= v);
        lo += 64 & -Number(padded[lo + 63] <= v);
        lo += 32 & -Number(padded[lo + 31] <= v);
        lo += 16 & -Number(padded[lo + 15] <= v);
        lo += 8 & -Number(padded[lo + 7] <= v);
        lo += 4 & -Number(padded[lo + 3] <= v);
        lo += 2 & -Number(padded[lo + 1] <= v);
        lo += 1 & -Number(padded[lo] <= v);
        bin = lo - p;
      }
      binned[i * d + j] = bin;
      columns[j * n + i] = bin;
    }
  }
}

/**
 * Builds gradient histograms of nodes' rows. The rows of `order` are held
 * in two fixed halves, A = positions [0, count/2) and B = [count/2, count),
 * and each node's rows are one segment of each: a partition splits each
 * half's segment in place, and a histogram sums the A segment, then the B
 * segment, and adds the two. One thread or two (each taking one half) do
 * the same arithmetic, so they give the same numbers.
 */
export interface HistBuilder {
  /** Row indices, grouped by node within each half as a tree grows (the builder's memory). */
  readonly order: Int32Array;
  /** Gradient (at 2i) and hessian (at 2i + 1) of row i (the builder's memory; filled each round). */
  readonly gh: Float64Array;
  /** Margins per row (the builder's memory; gbdt keeps its margins here). */
  readonly margin: Float64Array;
  /** Labels per row (the builder's memory; gbdt fills them once). */
  readonly labels: Int8Array;
  /**
   * One histogram (features × 256 bins × (g, h)) per node of `nodes`:
   * {@linkcode SEGMENT_WORDS} words a node (a0, a1, b0, b1), its rows
   * order[a0..a1) and order[b0..b1).
   */
  build(nodes: Int32Array, features: Int32Array): Float64Array[];
  /**
   * Partitions nodes' rows, each segment stably in place, left rows first:
   * `nodes` holds {@linkcode PARTITION_WORDS} words a node (a0, a1, b0, b1,
   * feature, bin, missing-left); returns per node the end of its left rows
   * in each segment (two words).
   */
  partition(nodes: Int32Array): Int32Array;
  /** Log-loss gradients and hessians of every row from `margin` and `labels`. */
  gradients(scalePosWeight: number): void;
  /**
   * Adds a tree's leaf values to the margins of its rows: `leaves` as
   * {@linkcode growTree} returns them ({@linkcode PARTITION_WORDS} words an
   * entry, its split sending rows to `values[2k]` or `values[2k + 1]`).
   */
  addLeaves(leaves: Int32Array, values: Float64Array): void;
}

/** Words per node in a {@linkcode HistBuilder.build} request: a0, a1, b0, b1. */
export const SEGMENT_WORDS = 4;
/** Words per node in a {@linkcode HistBuilder.partition} request: the segments, then feature, bin, missing-left. */
export const PARTITION_WORDS = 7;

/** Entries of one histogram: features × 256 bins × (g, h). */
export function histLength(features: number): number {
  return features * BIN_SLOTS * 2;
}

/**
 * Adds rows `order[start .. end)` into `hist` (feature-major, 256 (g, h)
 * pairs a feature), reading each row's bins together.
 *
 * @param hist the histogram, added to
 * @param data the row-major bins, gradients, hessians, rows, features
 */
export function addRows(
  hist: Float64Array,
  data: {
    binned: Uint8Array;
    cols: number;
    gh: Float64Array;
    order: Int32Array;
    features: Int32Array;
    start: number;
    end: number;
  },
): void {
  const { binned, cols: d, gh, order, features, start, end } = data;
  const nf = features.length;
  if (nf === d) {
    // Every feature (no colsample): bins read in row order, no indirection.
    for (let r = start; r < end; r++) {
      const i = order[r];
      const gi = gh[2 * i], hi = gh[2 * i + 1];
      let base = i * d, at = 0;
      for (let k = 0; k < nf; k++, base++, at += BIN_SLOTS * 2) {
        const b = at + (binned[base] << 1);
        hist[b] += gi;
        hist[b + 1] += hi;
      }
    }
    return;
  }
  for (let r = start; r < end; r++) {
    const i = order[r];
    const gi = gh[2 * i], hi = gh[2 * i + 1], base = i * d;
    for (let k = 0, at = 0; k < nf; k++, at += BIN_SLOTS * 2) {
      const b = at + 2 * binned[base + features[k]];
      hist[b] += gi;
      hist[b + 1] += hi;
    }
  }
}

/**
 * Histograms on this thread (both halves of each node, summed as
 * {@linkcode HistBuilder} says), over the rows of `X` binned by `bins`.
 */
export function sequentialHists(X: Matrix, bins: Bins): HistBuilder {
  const data = { rows: X.rows, cols: X.cols };
  const kernel = new HistKernel({ rows: data.rows, cols: data.cols, slots: 1 });
  binRows({ data: X.data, cols: X.cols, first: 0 }, paddedCuts(bins), {
    binned: kernel.binned,
    columns: kernel.columns,
    rows: X.rows,
  }, { start: 0, end: X.rows });
  return {
    order: kernel.order,
    gh: kernel.gh,
    margin: kernel.margin,
    labels: kernel.labels,
    build(nodes, features) {
      kernel.setFeatures(features);
      const out: Float64Array[] = [];
      for (let w = 0; w < nodes.length; w += SEGMENT_WORDS) {
        const a = kernel.add(0, nodes[w], nodes[w + 1]).slice();
        const b = kernel.add(0, nodes[w + 2], nodes[w + 3]);
        for (let q = 0; q < a.length; q++) a[q] += b[q];
        out.push(a);
      }
      return out;
    },
    partition(nodes) {
      const ends = new Int32Array((2 * nodes.length) / PARTITION_WORDS);
      for (let k = 0, w = 0; k < ends.length; k += 2, w += PARTITION_WORDS) {
        const split = { feature: nodes[w + 4], bin: nodes[w + 5], left: nodes[w + 6] };
        ends[k] = nodes[w] + kernel.split(nodes[w], nodes[w + 1], split);
        ends[k + 1] = nodes[w + 2] + kernel.split(nodes[w + 2], nodes[w + 3], split);
      }
      return ends;
    },
    gradients(spw) {
      kernel.gradients(0, data.rows, spw);
    },
    addLeaves(leaves, values) {
      for (let k = 0, w = 0; w < leaves.length; k++, w += PARTITION_WORDS) {
        const entry = k % LEAF_ENTRIES;
        kernel.values[2 * entry] = values[2 * k];
        kernel.values[2 * entry + 1] = values[2 * k + 1];
        const split = { feature: leaves[w + 4], bin: leaves[w + 5], left: leaves[w + 6] };
        kernel.leafAdd(leaves[w], leaves[w + 1], split, entry);
        kernel.leafAdd(leaves[w + 2], leaves[w + 3], split, entry);
      }
    },
  };
}

/** A fitted tree in flat arrays (see the module doc). */
export interface Tree {
  feature: Int32Array;
  threshold: Float32Array;
  left: Int32Array;
  right: Int32Array;
  defaultLeft: Uint8Array;
  value: Float64Array;
  cover: Float64Array;
  gain: Float64Array;
}

/** How a tree grows. */
export interface GrowOptions {
  /** Deepest level (edges from the root to a leaf). */
  maxDepth: number;
  /**
   * Leaves at most, grown leaf-wise (the best-gaining leaf split first, as
   * LightGBM does); 0 or absent: depth-wise, level by level.
   */
  maxLeaves?: number;
  /** Least hessian sum a child may hold. */
  minChildWeight: number;
  /** L2 penalty on leaf values. */
  lambda: number;
  /** Least loss reduction a split must bring. */
  gamma: number;
  /** Leaf values are scaled by this (the learning rate). */
  shrinkage: number;
  /** Features a split may use (colsample), ascending. */
  features: Int32Array;
  /**
   * When set, each split considers only this many of `features`, drawn
   * anew at every node from `rng` (a random forest's max_features).
   */
  perSplit?: { count: number; rng: Rng };
}

/** Rows of one node: `order[a0 .. a1)` and `order[b0 .. b1)`, with its gradient and hessian sums. */
interface NodeRows {
  node: number;
  a0: number;
  a1: number;
  b0: number;
  b1: number;
  g: number;
  h: number;
  depth: number;
  /** Its histogram: per feature 256 bins of (g, h), feature-major. */
  hist: Float64Array | null;
}

/** The best split of a node. */
interface Split {
  gain: number;
  feature: number;
  bin: number;
  defaultLeft: boolean;
  gl: number;
  hl: number;
}

const BIN_SLOTS = 256;

/**
 * Grows one tree on gradients `g` and hessians `h` of the rows `rows`
 * (every row when omitted): depth-wise, or leaf-wise with `maxLeaves`.
 *
 * @param data the matrix's row count and the cut points (the builder holds the bins)
 * @param options growth settings, the builder and rows
 * @returns the tree, and its leaves as margin updates ({@linkcode HistBuilder.addLeaves}): a
 *   leaf's rows (bin 255: all go to its value), or a last level's split of a
 *   node's rows between its two leaves, which are not partitioned
 */
export function growTree(
  data: { rows: number; bins: Bins },
  options: GrowOptions & {
    /** Builds the histograms of row ranges of its `order` (it holds g and h). */
    builder: HistBuilder;
    rows?: Int32Array;
  },
): { tree: Tree; leaves: Int32Array; values: Float64Array } {
  const { rows: n, bins } = data;
  const { maxDepth, minChildWeight, lambda, gamma, shrinkage, features } = options;
  const builder = options.builder;
  const order = builder.order;
  const count = options.rows ? options.rows.length : n;
  if (options.rows) order.set(options.rows);
  else for (let i = 0; i < n; i++) order[i] = i;
  const nf = features.length;
  const feature: number[] = [], threshold: number[] = [], left: number[] = [], right: number[] = [];
  const defaultLeft: number[] = [],
    value: number[] = [],
    cover: number[] = [],
    gainOut: number[] = [];
  const newNode = () => {
    feature.push(-1), threshold.push(0), left.push(-1), right.push(-1);
    defaultLeft.push(0), value.push(0), cover.push(0), gainOut.push(0);
    return feature.length - 1;
  };
  const score = (G: number, H: number) => (G * G) / (H + lambda);
  // Positions into `features` a node's split may use (all, or a fresh sample per node).
  const slots = Int32Array.from({ length: nf }, (_, k) => k);
  const perSplit = options.perSplit;
  const bestSplit = (nr: NodeRows): Split | null => {
    const hist = nr.hist!;
    const G = nr.g, H = nr.h;
    const parent = score(G, H);
    // The best so far in locals (no object per improvement): gain, feature, bin, side, GL, HL.
    let bestGain = -Infinity, bestF = -1, bestBin = 0, bestSide = 0, bestGL = 0, bestHL = 0;
    let use = nf;
    if (perSplit && perSplit.count < nf) {
      use = perSplit.count;
      for (let q = 0; q < use; q++) {
        const j = q + Math.floor(perSplit.rng.random() * (nf - q));
        const t = slots[q];
        slots[q] = slots[j];
        slots[j] = t;
      }
      slots.subarray(0, use).sort();
    }
    for (let u = 0; u < use; u++) {
      const k = slots[u];
      const f = features[k], nb = bins.cuts[f].length + 1;
      if (nb < 2) continue;
      const off = k * BIN_SLOTS * 2;
      const gm = hist[off + 2 * MISSING_BIN], hm = hist[off + 2 * MISSING_BIN + 1];
      // With no missing value here, sending them left gains exactly what right does: one side.
      const sides = gm === 0 && hm === 0 ? 1 : 2;
      let gl = 0, hl = 0;
      for (let b = 0, at = off; b < nb - 1; b++, at += 2) {
        gl += hist[at];
        hl += hist[at + 1];
        // Hessians are not negative: once the right side is too light, it stays so.
        if (H - hl < minChildWeight) break;
        // Missing values right, then left.
        for (let side = 0; side < sides; side++) {
          const GL = side ? gl + gm : gl, HL = side ? hl + hm : hl;
          const GR = G - GL, HR = H - HL;
          if (HL < minChildWeight || HR < minChildWeight) continue;
          const gain = 0.5 * ((GL * GL) / (HL + lambda) + (GR * GR) / (HR + lambda) - parent) -
            gamma;
          if (gain > 1e-12 && gain > bestGain) {
            bestGain = gain;
            bestF = f;
            bestBin = b;
            bestSide = side;
            bestGL = GL;
            bestHL = HL;
          }
        }
      }
    }
    if (bestF < 0) return null;
    return {
      gain: bestGain,
      feature: bestF,
      bin: bestBin,
      defaultLeft: bestSide === 1,
      gl: bestGL,
      hl: bestHL,
    };
  };
  const root = newNode();
  const half = count >> 1;
  let level: NodeRows[] = [{
    node: root,
    a0: 0,
    a1: half,
    b0: half,
    b1: count,
    g: 0,
    h: 0,
    depth: 0,
    hist: null,
  }];
  const segments = (list: NodeRows[]) => {
    const out = new Int32Array(SEGMENT_WORDS * list.length);
    list.forEach((c, k) => out.set([c.a0, c.a1, c.b0, c.b1], SEGMENT_WORDS * k));
    return out;
  };
  const size = (c: NodeRows) => c.a1 - c.a0 + c.b1 - c.b0;
  const rootHist = level[0].hist = builder.build(segments(level), features)[0];
  // The root's sums: its first feature's bins (every row is in one of them).
  for (let b = 0; b < BIN_SLOTS; b++) {
    level[0].g += rootHist[2 * b];
    level[0].h += rootHist[2 * b + 1];
  }
  /** Margin updates: PARTITION_WORDS words and two values each. */
  const leaves: number[] = [], leafValues: number[] = [];
  const leafRows = (nr: NodeRows) => {
    leaves.push(nr.a0, nr.a1, nr.b0, nr.b1, 0, MISSING_BIN, 1);
    leafValues.push(value[nr.node], value[nr.node]);
  };
  /** The two children of a node whose segments `partition` split at `ends` (A's, B's). */
  const splitNode = (nr: NodeRows, split: Split, ends: ArrayLike<number>): [NodeRows, NodeRows] => {
    const node = nr.node, ea = ends[0], eb = ends[1];
    const l = newNode(), r = newNode();
    feature[node] = split.feature;
    threshold[node] = bins.cuts[split.feature][split.bin];
    left[node] = l;
    right[node] = r;
    defaultLeft[node] = split.defaultLeft ? 1 : 0;
    gainOut[node] = split.gain;
    const depth = nr.depth + 1;
    const L = {
      node: l,
      a0: nr.a0,
      a1: ea,
      b0: nr.b0,
      b1: eb,
      g: split.gl,
      h: split.hl,
      depth,
      hist: null,
    };
    const R = {
      node: r,
      a0: ea,
      a1: nr.a1,
      b0: eb,
      b1: nr.b1,
      g: nr.g - split.gl,
      h: nr.h - split.hl,
      depth,
      hist: null,
    };
    return [L, R];
  };
  /** The partition request of nodes and their splits. */
  const request = (pairs: { nr: NodeRows; split: Split }[]) => {
    const nodes = new Int32Array(PARTITION_WORDS * pairs.length);
    pairs.forEach(({ nr, split }, k) => {
      nodes.set(
        [nr.a0, nr.a1, nr.b0, nr.b1, split.feature, split.bin, split.defaultLeft ? 1 : 0],
        PARTITION_WORDS * k,
      );
    });
    return builder.partition(nodes);
  };
  /** A node's value and cover, and its best split (null: it stays a leaf, listed in `leaves`). */
  const leafValue = (nr: NodeRows) => {
    cover[nr.node] = nr.h;
    value[nr.node] = (-nr.g / (nr.h + lambda)) * shrinkage;
  };
  const settle = (nr: NodeRows): Split | null => {
    leafValue(nr);
    const split = nr.depth < maxDepth ? bestSplit(nr) : null;
    if (!split) {
      nr.hist = null;
      leafRows(nr);
    }
    return split;
  };
  if (options.maxLeaves) {
    // Leaf-wise (LightGBM): split the open leaf whose best split gains most
    // (the earliest opened on a tie) until there are maxLeaves leaves.
    const open: { nr: NodeRows; split: Split }[] = [];
    const first = settle(level[0]);
    if (first) open.push({ nr: level[0], split: first });
    for (let grown = 1; grown < options.maxLeaves && open.length; grown++) {
      let k = 0;
      for (let q = 1; q < open.length; q++) if (open[q].split.gain > open[k].split.gain) k = q;
      const { nr, split } = open[k];
      open.splice(k, 1);
      const [L, R] = splitNode(nr, split, request([{ nr, split }]));
      if (L.depth < maxDepth) {
        const small = size(L) <= size(R) ? L : R;
        const sh = builder.build(segments([small]), features)[0];
        const ph = nr.hist!;
        for (let q = 0; q < ph.length; q++) ph[q] -= sh[q];
        small.hist = sh;
        (small === L ? R : L).hist = ph;
      }
      nr.hist = null;
      for (const c of [L, R]) {
        const s = settle(c);
        if (s) open.push({ nr: c, split: s });
      }
    }
    for (const o of open) {
      o.nr.hist = null;
      leafRows(o.nr);
    }
    level = [];
  }
  while (level.length) {
    const next: NodeRows[] = [];
    // Children whose histograms are built (the smaller of each pair), with their parents'.
    const small: NodeRows[] = [], large: NodeRows[] = [], parents: Float64Array[] = [];
    const pairs: { nr: NodeRows; split: Split }[] = [];
    for (const nr of level) {
      const split = settle(nr);
      if (split) pairs.push({ nr, split });
    }
    if (pairs.length && pairs[0].nr.depth + 1 === maxDepth) {
      // The children are leaves: no partition, their margins updated by the split itself.
      for (const { nr, split } of pairs) {
        const [L, R] = splitNode(nr, split, [nr.a1, nr.b1]);
        leafValue(L);
        leafValue(R);
        nr.hist = null;
        leaves.push(
          nr.a0,
          nr.a1,
          nr.b0,
          nr.b1,
          split.feature,
          split.bin,
          split.defaultLeft ? 1 : 0,
        );
        leafValues.push(value[L.node], value[R.node]);
      }
      break;
    }
    const leftEnds = pairs.length ? request(pairs) : new Int32Array(0);
    pairs.forEach(({ nr, split }, k) => {
      const [L, R] = splitNode(nr, split, leftEnds.subarray(2 * k, 2 * k + 2));
      if (L.depth < maxDepth) {
        // Histogram subtraction: build the smaller child, derive the other.
        const s = size(L) <= size(R) ? L : R;
        small.push(s);
        large.push(s === L ? R : L);
        parents.push(nr.hist!);
      }
      nr.hist = null;
      next.push(L, R);
    });
    if (small.length) {
      const built = builder.build(segments(small), features);
      for (let k = 0; k < small.length; k++) {
        const ph = parents[k], sh = built[k];
        for (let q = 0; q < ph.length; q++) ph[q] -= sh[q];
        small[k].hist = sh;
        large[k].hist = ph;
      }
    }
    level = next;
  }
  const tree: Tree = {
    feature: Int32Array.from(feature),
    threshold: Float32Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    defaultLeft: Uint8Array.from(defaultLeft),
    value: Float64Array.from(value),
    cover: Float64Array.from(cover),
    gain: Float64Array.from(gainOut),
  };
  return { tree, leaves: Int32Array.from(leaves), values: Float64Array.from(leafValues) };
}

/**
 * The leaf a row reaches in a tree: `x < threshold` goes left, a missing
 * value its node's default way.
 *
 * @param tree the tree
 * @param row the row's features
 * @returns the leaf's node index
 */
export function leafOf(tree: Tree, row: ArrayLike<number>): number {
  return leafAt(tree, { data: row, offset: 0 });
}

/**
 * The leaf row `i` of a row-major matrix reaches (no view made per row).
 *
 * @param tree the tree
 * @param at the row's data and where it starts
 * @returns the leaf's node index
 */
export function leafAt(tree: Tree, at: { data: ArrayLike<number>; offset: number }): number {
  const { feature, threshold, left, right, defaultLeft } = tree;
  const data = at.data, base = at.offset;
  let node = 0;
  while (feature[node] >= 0) {
    const x = data[base + feature[node]];
    node = x !== x
      ? (defaultLeft[node] ? left[node] : right[node])
      : x < threshold[node]
      ? left[node]
      : right[node];
  }
  return node;
}

/**
 * Rows (ascending) and features (ascending) a tree is grown on: a seeded
 * sample of each without replacement (subsample, colsample_bytree).
 *
 * @param rng the ensemble's random stream
 * @param options population sizes and shares
 * @returns the chosen rows (null: all) and features
 */
export function sampleTree(
  rng: Rng,
  options: { rows: number; cols: number; subsample: number; colsample: number },
): { rows: Int32Array | null; features: Int32Array } {
  const pick = (n: number, share: number): Int32Array | null => {
    if (share >= 1) return null;
    const k = Math.max(1, Math.round(n * share));
    const idx = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(rng.random() * (n - i));
      const t = idx[i];
      idx[i] = idx[j];
      idx[j] = t;
    }
    return idx.subarray(0, k).sort();
  };
  const rows = pick(options.rows, options.subsample);
  const features = pick(options.cols, options.colsample) ??
    Int32Array.from({ length: options.cols }, (_, i) => i);
  return { rows, features };
}

/**
 * Global importance of each feature over an ensemble: the split gain and
 * the cover (training weight) of every split on it, summed.
 *
 * @param trees the trees
 * @param cols the number of features
 * @returns per feature, total gain and total cover
 */
export function treeImportance(trees: Tree[], cols: number): { gain: number[]; cover: number[] } {
  const gain = new Array<number>(cols).fill(0), cover = new Array<number>(cols).fill(0);
  for (const t of trees) {
    for (let i = 0; i < t.feature.length; i++) {
      const f = t.feature[i];
      if (f < 0) continue;
      gain[f] += t.gain[i];
      cover[f] += t.cover[i];
    }
  }
  return { gain, cover };
}
