/**
 * Isolation Forest (Liu, Ting and Zhou, 2008) with scikit-learn's semantics.
 * Written by hand because no maintained npm package implements it with these
 * semantics and flat typed-array trees (the JS ports on npm build object
 * trees and differ in split rules).
 *
 * - each of `trees` trees is grown on `maxSamples` rows drawn without
 *   replacement (ψ = min(maxSamples, n));
 * - a node splits on a feature drawn at random among those not constant in
 *   the node (a feature is constant when max − min ≤ 1e-7), at a threshold
 *   drawn uniformly in [min, max) (a draw equal to max becomes min); a row
 *   goes left iff float32(x) ≤ threshold;
 * - growth stops at depth ⌈log2 ψ⌉, at one row, or when every feature is
 *   constant;
 * - h(x) = edges from the root to the leaf + c(n_leaf), with
 *   c(n) = 2(ln(n − 1) + γ) − 2(n − 1)/n (c(1) = 0, c(2) = 1);
 * - score(x) = 2^(−E[h(x)] / c(ψ)), higher = more anomalous.
 *
 * Explanation: each tree's shortfall c(ψ) − h(x) (positive when x is
 * isolated faster than an average point) is shared equally among the splits
 * on x's path and credited to their features; averaged over trees the
 * contributions sum to c(ψ) − E[h(x)], a monotone transform of the score.
 * @module
 */
import { join } from "node:path";
import type { Matrix } from "../features/pipeline.ts";
import { Rng } from "../util/rng.ts";
import { progress } from "../util/progress.ts";
import { UserError } from "../util/errors.ts";
import { buildWasmWalk, type WasmWalk } from "./iforest_wasm.ts";
import {
  checkParam,
  type Detector,
  type DetectorKind,
  type FitOptions,
  type FitReport,
  packArrays,
  type Params,
  unpackArrays,
} from "./detector.ts";

const EULER_GAMMA = 0.5772156649015329;
const FEATURE_THRESHOLD = 1e-7;

/** Average path length of an unsuccessful BST search among n points, c(n). */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

/** A fitted forest in flat arrays (every tree's nodes, concatenated). */
export interface Forest {
  /** Split feature per node; -1 for a leaf. */
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  /** Leaf: depth + c(n_leaf). Internal node: depth (for explanations). */
  value: Float64Array;
  /** Index of each tree's root. */
  roots: Int32Array;
  /** ψ, the samples per tree. */
  psi: number;
  cols: number;
}

/** Grows one isolation tree on `idx` (row indices into X); appends to the node lists. */
function growTree(
  X: Matrix,
  idx: Int32Array,
  maxDepth: number,
  rng: Rng,
  nodes: {
    feature: number[];
    threshold: number[];
    left: number[];
    right: number[];
    value: number[];
  },
): number {
  const cols = X.cols, data = X.data;
  const candidates = new Int32Array(cols);
  const root = nodes.feature.length;
  // Explicit stack: [start, end, depth, nodeIndex].
  const stack: number[] = [];
  const push = (start: number, end: number, depth: number): number => {
    const id = nodes.feature.length;
    nodes.feature.push(-1);
    nodes.threshold.push(0);
    nodes.left.push(-1);
    nodes.right.push(-1);
    nodes.value.push(0);
    stack.push(start, end, depth, id);
    return id;
  };
  push(0, idx.length, 0);
  while (stack.length) {
    const id = stack.pop()!, depth = stack.pop()!, end = stack.pop()!, start = stack.pop()!;
    const n = end - start;
    let split = -1, lo = 0, hi = 0;
    if (depth < maxDepth && n > 1) {
      // Draw features without replacement until one is not constant in this node.
      for (let f = 0; f < cols; f++) candidates[f] = f;
      let remaining = cols;
      while (remaining > 0) {
        const pick = rng.int(remaining);
        const f = candidates[pick];
        candidates[pick] = candidates[--remaining];
        let mn = Infinity, mx = -Infinity;
        for (let i = start; i < end; i++) {
          const v = data[idx[i] * cols + f];
          if (v < mn) mn = v;
          if (v > mx) mx = v;
        }
        if (mx - mn > FEATURE_THRESHOLD) {
          split = f;
          lo = mn;
          hi = mx;
          break;
        }
      }
    }
    if (split < 0) {
      nodes.value[id] = depth + averagePathLength(n);
      continue;
    }
    let thr = lo + rng.random() * (hi - lo);
    if (thr >= hi) thr = lo;
    // Partition idx[start, end) so rows with x <= thr come first.
    let i = start, j = end - 1;
    while (i <= j) {
      if (data[idx[i] * cols + split] <= thr) i++;
      else {
        const t = idx[i];
        idx[i] = idx[j];
        idx[j--] = t;
      }
    }
    nodes.feature[id] = split;
    nodes.threshold[id] = thr;
    nodes.value[id] = depth;
    nodes.left[id] = push(start, i, depth + 1);
    nodes.right[id] = push(i, end, depth + 1);
  }
  return root;
}

/**
 * The rows each tree is grown on: `trees` draws of ψ = min(maxSamples, n)
 * distinct rows of an n-row fit set, tree after tree (ψ per tree, in draw
 * order). A partial Fisher–Yates over a virtual identity array: only the
 * displaced entries are stored, so a draw costs O(ψ) whatever n is. The same
 * `rng` then grows the trees, so the draws come first in its stream.
 */
function drawSamples(n: number, trees: number, maxSamples: number, rng: Rng): Int32Array {
  const psi = Math.min(maxSamples, n);
  const out = new Int32Array(trees * psi);
  const moved = new Map<number, number>();
  for (let t = 0, at = 0; t < trees; t++) {
    moved.clear();
    for (let i = 0; i < psi; i++) {
      const j = i + rng.int(n - i);
      const vi = moved.get(i) ?? i, vj = moved.get(j) ?? j;
      moved.set(j, vi);
      out[at++] = vj;
    }
  }
  return out;
}

/**
 * The rows of an n-row fit set that {@linkcode fitForest} reads with this
 * seed, ascending: at most trees × ψ of them. A trainer transforms only these
 * rows and passes them as a sample (FitOptions.sample); the forest is the
 * same as one fitted on every row.
 */
export function forestSample(
  n: number,
  options: { trees: number; maxSamples: number; seed: number },
): Int32Array {
  const drawn = drawSamples(n, options.trees, options.maxSamples, new Rng(options.seed));
  const unique = Int32Array.from(new Set(drawn)).sort();
  return unique;
}

/** Position of `value` in the ascending array `a` (which holds it). */
function positionOf(a: Int32Array, value: number): number {
  let lo = 0, hi = a.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  if (a[lo] !== value) throw new Error(`iforest: row ${value} is not in the fit sample`);
  return lo;
}

/**
 * Fits a forest (the algorithm in the module doc). With `sample`, X holds
 * only the rows `sample.rows` (ascending, from {@linkcode forestSample}) of
 * a `sample.of`-row fit set.
 */
export function fitForest(
  X: Matrix,
  options: {
    trees: number;
    maxSamples: number;
    seed: number;
    quiet?: boolean;
    sample?: { of: number; rows: Int32Array };
  },
): Forest {
  const sample = options.sample;
  if (sample && sample.rows.length !== X.rows) {
    throw new Error(`iforest: the sample lists ${sample.rows.length} rows, X has ${X.rows}`);
  }
  const n = sample ? sample.of : X.rows;
  if (n === 0) throw new UserError("iforest: no rows to fit on");
  const psi = Math.min(options.maxSamples, n);
  const maxDepth = Math.ceil(Math.log2(Math.max(psi, 2)));
  const rng = new Rng(options.seed);
  const drawn = drawSamples(n, options.trees, options.maxSamples, rng);
  if (sample) {
    for (let i = 0; i < drawn.length; i++) drawn[i] = positionOf(sample.rows, drawn[i]);
  }
  const nodes = { feature: [], threshold: [], left: [], right: [], value: [] } as {
    feature: number[];
    threshold: number[];
    left: number[];
    right: number[];
    value: number[];
  };
  const roots = new Int32Array(options.trees);
  const bar = progress("iforest fit", options.trees, { quiet: options.quiet, unit: "trees" });
  for (let t = 0; t < options.trees; t++) {
    roots[t] = growTree(X, drawn.slice(t * psi, (t + 1) * psi), maxDepth, rng, nodes);
    bar.tick();
  }
  bar.done();
  return {
    feature: Int32Array.from(nodes.feature),
    threshold: Float64Array.from(nodes.threshold),
    left: Int32Array.from(nodes.left),
    right: Int32Array.from(nodes.right),
    value: Float64Array.from(nodes.value),
    roots,
    psi,
    cols: X.cols,
  };
}

/**
 * The forest rearranged for branch-free walks, one 16-byte record per node
 * (so a step touches one cache line, not four arrays): at 4i the split
 * feature, at 4i+1 where to go when x ≤ threshold (the left child's record
 * offset; the right child is the next record), at 4i+2 a leaf's slot (its
 * index among the forest's leaves, for its credits), and at 4i+3 the
 * threshold as a float32 (the `thr` view).
 * A leaf reads feature 0, has threshold NaN (x ≤ NaN is false for every x,
 * NaN included, so the walk always steps "right") and its left offset one
 * record back: it steps to itself. So every row can take exactly the
 * tree's depth in steps and several walks run in lockstep. Walk positions
 * are record offsets (node id × 4).
 *
 * The threshold is the largest float32 ≤ the fitted float64 threshold: for
 * a float32 x (rows are float32), x ≤ that ⇔ x ≤ the float64 threshold, so
 * the walk is exact.
 */
interface WalkLayout {
  node: Int32Array;
  thr: Float32Array;
  /** Record offset of each tree's root. */
  roots: Int32Array;
  /** Levels of each tree (edges from the root to its deepest leaf). */
  depth: Int32Array;
  /** Deepest of each group of four consecutive trees (the lockstep walks of one row). */
  groupDepth: Int32Array;
  /** Leaves in the forest (slots 0 … leaves − 1). */
  leaves: number;
}

const LAYOUTS = new WeakMap<Forest, WalkLayout>();

const F32 = new Float32Array(1);
const F32_BITS = new Int32Array(F32.buffer);

/** The largest float32 ≤ t. */
export function float32AtMost(t: number): number {
  F32[0] = t;
  if (F32[0] <= t || Number.isNaN(t)) return F32[0];
  // Rounded up: step one float32 toward −∞.
  if (F32[0] === 0) F32_BITS[0] = 0x80000001; // −(smallest subnormal)
  else if (F32[0] > 0) F32_BITS[0] -= 1;
  else F32_BITS[0] += 1;
  return F32[0];
}

/** The walk layout of a forest (built once per forest); refuses a corrupt one. */
function walkLayout(forest: Forest): WalkLayout {
  let layout = LAYOUTS.get(forest);
  if (layout) return layout;
  const { feature: f, left, right, roots, threshold } = forest;
  const m = f.length;
  const node = new Int32Array(4 * m);
  const thr = new Float32Array(node.buffer);
  let leaves = 0;
  for (let i = 0; i < m; i++) {
    const at = 4 * i;
    if (f[i] >= 0) {
      if (right[i] !== left[i] + 1 || left[i] <= i || left[i] + 1 >= m) {
        throw new UserError("iforest: corrupt model (children not side by side)");
      }
      node[at] = f[i];
      node[at + 1] = 4 * left[i];
      thr[at + 3] = float32AtMost(threshold[i]);
    } else {
      node[at + 1] = at - 4;
      node[at + 2] = leaves++;
      thr[at + 3] = NaN;
    }
  }
  const depth = new Int32Array(roots.length);
  const stack: number[] = [];
  for (let t = 0; t < roots.length; t++) {
    stack.push(roots[t], 0);
    while (stack.length) {
      const d = stack.pop()!, n = stack.pop()!;
      if (f[n] < 0) {
        if (d > depth[t]) depth[t] = d;
      } else stack.push(left[n], d + 1, right[n], d + 1);
    }
  }
  const groupDepth = new Int32Array(Math.ceil(roots.length / 4));
  for (let t = 0; t < roots.length; t++) {
    if (depth[t] > groupDepth[t >> 2]) groupDepth[t >> 2] = depth[t];
  }
  layout = { node, thr, roots: roots.map((r) => 4 * r), depth, groupDepth, leaves };
  LAYOUTS.set(forest, layout);
  return layout;
}

/** Scores rows of X: 2^(−E[h]/c(ψ)). */
export function scoreForest(forest: Forest, X: Matrix): Float32Array {
  if (X.cols !== forest.cols) {
    throw new UserError(`iforest: expected ${forest.cols} features, got ${X.cols}`);
  }
  const value = forest.value;
  const cols = X.cols, data = X.data;
  const { node, thr, roots, depth } = walkLayout(forest);
  const trees = roots.length;
  const norm = -1 / (trees * averagePathLength(forest.psi));
  const out = new Float32Array(X.rows);
  // Tree-major over blocks of rows: one tree's nodes stay in cache while a
  // block of rows walks it, and the block's rows stay in cache across trees.
  // Within a block, four rows walk each tree in lockstep for exactly its
  // depth: no data-dependent branch (the comparison becomes a 0/−1 mask, as
  // a conditional would compile to a branch mispredicted half the time),
  // four independent chains of loads. NaN goes right, as x ≤ t is false.
  const BLOCK = 4096;
  const sums = new Float64Array(BLOCK);
  for (let start = 0; start < X.rows; start += BLOCK) {
    const end = Math.min(start + BLOCK, X.rows);
    const end4 = start + ((end - start) & ~3);
    sums.fill(0);
    for (let t = 0; t < trees; t++) {
      const root = roots[t], levels = depth[t];
      for (let r = start; r < end4; r += 4) {
        const b0 = r * cols, b1 = b0 + cols, b2 = b1 + cols, b3 = b2 + cols;
        let n0 = root, n1 = root, n2 = root, n3 = root;
        for (let k = 0; k < levels; k++) {
          n0 = node[n0 + 1] + (4 & -Number(!(data[b0 + node[n0]] <= thr[n0 + 3])));
          n1 = node[n1 + 1] + (4 & -Number(!(data[b1 + node[n1]] <= thr[n1 + 3])));
          n2 = node[n2 + 1] + (4 & -Number(!(data[b2 + node[n2]] <= thr[n2 + 3])));
          n3 = node[n3 + 1] + (4 & -Number(!(data[b3 + node[n3]] <= thr[n3 + 3])));
        }
        const s = r - start;
        sums[s] += value[n0 >> 2];
        sums[s + 1] += value[n1 >> 2];
        sums[s + 2] += value[n2 >> 2];
        sums[s + 3] += value[n3 >> 2];
      }
      for (let r = end4; r < end; r++) {
        const base = r * cols;
        let n = root;
        for (let k = 0; k < levels; k++) {
          n = node[n + 1] + (4 & -Number(!(data[base + node[n]] <= thr[n + 3])));
        }
        sums[r - start] += value[n >> 2];
      }
    }
    for (let r = start; r < end; r++) out[r] = Math.pow(2, sums[r - start] * norm);
  }
  return out;
}

/** Rows from which scoring is split between this thread and a worker. */
export const PARALLEL_MIN_ROWS = 50_000;

/**
 * Scores like {@linkcode scoreForest}, splitting large batches between this
 * thread and one worker (the machine has two cores). Each row's sum runs
 * over the trees in the same order, so the scores are identical.
 */
export async function scoreForestParallel(forest: Forest, X: Matrix): Promise<Float32Array> {
  const cores = navigator.hardwareConcurrency ?? 1;
  if (X.rows < PARALLEL_MIN_ROWS || cores < 2) return scoreForest(forest, X);
  const half = Math.floor(X.rows / 2);
  const worker = new Worker(new URL("./iforest_worker.ts", import.meta.url).href, {
    type: "module",
  });
  try {
    const tail = X.data.slice(half * X.cols);
    const done = new Promise<Float32Array>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<Float32Array>) => resolve(e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`iforest scoring worker failed: ${e.message}`));
      };
    });
    worker.postMessage({ forest, data: tail, rows: X.rows - half, cols: X.cols }, [
      tail.buffer as ArrayBuffer,
    ]);
    const head = scoreForest(forest, {
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

/** Per-feature path attribution for one row (see the module doc). */
export function explainForest(forest: Forest, row: Float32Array): Float32Array {
  const out = new Float32Array(forest.cols);
  scoreExplainForest(forest, row, out);
  return out;
}

/** Widest forest whose leaf credits are kept dense (one weight per feature per leaf). */
const DENSE_CREDIT_COLS = 16;

/**
 * Each leaf's credits, precomputed: the features split on the path from its
 * root (a feature split twice counted twice) and the weight each gets, the
 * tree's shortfall c(ψ) − h shared equally among the path's splits. Indexed
 * by leaf slot (see {@linkcode WalkLayout}). A narrow forest keeps them
 * dense, `cols` float32 weights per leaf (a fixed, predictable loop of
 * adds); a wide one sparse, `start[slot]` .. `start[slot + 1]` into
 * `feature` and `weight`.
 */
interface LeafCredits {
  dense: Float32Array | null;
  start: Int32Array;
  feature: Int32Array;
  weight: Float64Array;
  /** Scratch sums of one explanation. */
  acc: Float64Array;
  /** −1 / (trees × c(ψ)): a row's leaf-value sum times this is the score's exponent. */
  norm: number;
}

const CREDITS = new WeakMap<Forest, LeafCredits>();

/** The leaf credits of a forest (built once per forest, on first use). */
function leafCredits(forest: Forest, layout: WalkLayout): LeafCredits {
  let credits = CREDITS.get(forest);
  if (credits) return credits;
  const { feature: f, left, right, value } = forest;
  const m = f.length, cols = forest.cols;
  const cPsi = averagePathLength(forest.psi);
  const parent = new Int32Array(m).fill(-1);
  for (let i = 0; i < m; i++) {
    if (f[i] >= 0) parent[left[i]] = parent[right[i]] = i;
  }
  const dense = cols <= DENSE_CREDIT_COLS ? new Float32Array(layout.leaves * cols) : null;
  const count = new Int32Array(cols);
  const touched: number[] = [];
  const start = new Int32Array(layout.leaves + 1);
  const feats: number[] = [], weights: number[] = [];
  for (let i = 0; i < m; i++) {
    if (f[i] >= 0) continue;
    const slot = layout.node[4 * i + 2];
    start[slot] = feats.length;
    let len = 0;
    for (let p = parent[i]; p >= 0; p = parent[p]) {
      if (count[f[p]]++ === 0) touched.push(f[p]);
      len++;
    }
    if (len === 0) continue;
    const share = (cPsi - value[i]) / len;
    touched.sort((x, y) => x - y);
    for (const j of touched) {
      if (dense) dense[slot * cols + j] = count[j] * share;
      else {
        feats.push(j);
        weights.push(count[j] * share);
      }
      count[j] = 0;
    }
    touched.length = 0;
  }
  start[layout.leaves] = feats.length;
  credits = {
    dense,
    start,
    feature: Int32Array.from(feats),
    weight: Float64Array.from(weights),
    acc: new Float64Array(cols),
    norm: -1 / (forest.roots.length * cPsi),
  };
  CREDITS.set(forest, credits);
  return credits;
}

const WASM_WALKS = new WeakMap<Forest, WasmWalk | null>();

let wasmAllowed = true;

/**
 * Turns the WebAssembly walk off (or back on) for this process: the
 * JavaScript walks then serve every forest. For tests, which check both.
 */
export function allowWasmWalk(on: boolean): void {
  wasmAllowed = on;
}

/** Whether one-row scoring of this forest runs in WebAssembly (forests of at most 16 features). */
export function usesWasmWalk(forest: Forest): boolean {
  const layout = walkLayout(forest);
  return wasmWalkOf(forest, layout, leafCredits(forest, layout)) !== null;
}

/** The WebAssembly walk of a narrow forest (built once per forest), or null. */
function wasmWalkOf(forest: Forest, layout: WalkLayout, credits: LeafCredits): WasmWalk | null {
  if (!wasmAllowed) return null;
  let w = WASM_WALKS.get(forest);
  if (w === undefined) {
    w = credits.dense
      ? buildWasmWalk({
        cols: forest.cols,
        node: layout.node,
        value: forest.value,
        roots: layout.roots,
        groupDepth: layout.groupDepth,
        dense: credits.dense,
        leaves: layout.leaves,
      })
      : null;
    WASM_WALKS.set(forest, w);
  }
  return w;
}

/**
 * Scores one row and writes its path attribution (as {@linkcode explainForest})
 * into `out` with a single walk of each tree; the score equals
 * {@linkcode scoreForest}'s (same leaf values summed in the same order).
 */
export function scoreExplainForest(forest: Forest, row: Float32Array, out: Float32Array): number {
  const value = forest.value;
  const cols = forest.cols;
  if (row.length !== cols) {
    throw new UserError(`iforest: expected ${cols} features, got ${row.length}`);
  }
  const layout = walkLayout(forest);
  const { node, thr, roots, groupDepth } = layout;
  const credits = leafCredits(forest, layout);
  const { dense, acc } = credits;
  const trees = roots.length;
  const wasm = wasmWalkOf(forest, layout, credits);
  if (wasm) {
    const total = wasm(row, acc);
    for (let f = 0; f < cols; f++) out[f] = acc[f] / trees;
    return Math.fround(Math.pow(2, total * credits.norm));
  }
  const cStart = credits.start, cFeature = credits.feature, cWeight = credits.weight;
  acc.fill(0);
  let sum = 0;
  // Four trees walk in lockstep (four independent chains of loads hide each
  // other's latency), branch-free for the deepest one's depth: a leaf steps
  // to itself. Each leaf then adds its precomputed credits; leaf values are
  // summed in tree order, as scoreForest does.
  for (let t0 = 0; t0 < trees; t0 += 4) {
    const m = Math.min(4, trees - t0);
    let n0 = roots[t0], n1 = m > 1 ? roots[t0 + 1] : n0, n2 = m > 2 ? roots[t0 + 2] : n0;
    let n3 = m > 3 ? roots[t0 + 3] : n0;
    for (let k = groupDepth[t0 >> 2]; k > 0; k--) {
      n0 = node[n0 + 1] + (4 & -Number(!(row[node[n0]] <= thr[n0 + 3])));
      n1 = node[n1 + 1] + (4 & -Number(!(row[node[n1]] <= thr[n1 + 3])));
      n2 = node[n2 + 1] + (4 & -Number(!(row[node[n2]] <= thr[n2 + 3])));
      n3 = node[n3 + 1] + (4 & -Number(!(row[node[n3]] <= thr[n3 + 3])));
    }
    for (let j = 0; j < m; j++) {
      const leaf = j === 0 ? n0 : j === 1 ? n1 : j === 2 ? n2 : n3;
      sum += value[leaf >> 2];
      const slot = node[leaf + 2];
      if (dense) {
        for (let f = 0, at = slot * cols; f < cols; f++) acc[f] += dense[at + f];
      } else {
        for (let e = cStart[slot], end = cStart[slot + 1]; e < end; e++) {
          acc[cFeature[e]] += cWeight[e];
        }
      }
    }
  }
  for (let f = 0; f < cols; f++) out[f] = acc[f] / trees;
  return Math.fround(Math.pow(2, sum * credits.norm));
}

class IsolationForest implements Detector {
  readonly kind = "iforest";
  forest: Forest | null = null;
  constructor(readonly params: Params) {
    checkParam("iforest", params, "trees", { min: 1, max: 10000, integer: true });
    checkParam("iforest", params, "maxSamples", { min: 2, max: 1 << 20, integer: true });
  }

  fit(X: Matrix, _y: Int8Array | undefined, options: FitOptions): Promise<FitReport> {
    this.forest = fitForest(X, {
      trees: this.params.trees as number,
      maxSamples: this.params.maxSamples as number,
      seed: options.seed,
      quiet: options.quiet,
      sample: options.sample,
    });
    return Promise.resolve({ nodes: this.forest.feature.length, psi: this.forest.psi });
  }

  #fitted(): Forest {
    if (!this.forest) throw new Error("iforest: score or explain before fit");
    return this.forest;
  }

  score(X: Matrix): Float32Array {
    return scoreForest(this.#fitted(), X);
  }

  scoreMany(X: Matrix): Promise<Float32Array> {
    return scoreForestParallel(this.#fitted(), X);
  }

  explain(row: Float32Array): Float32Array {
    return explainForest(this.#fitted(), row);
  }

  scoreOne(row: Float32Array, contributions: Float32Array): number {
    return scoreExplainForest(this.#fitted(), row, contributions);
  }

  async save(dir: string): Promise<string[]> {
    const f = this.#fitted();
    const meta = {
      format: "fraudlab.iforest/1",
      nodes: f.feature.length,
      trees: f.roots.length,
      psi: f.psi,
      cols: f.cols,
    };
    await Deno.writeTextFile(join(dir, "iforest.json"), JSON.stringify(meta, null, 2) + "\n");
    await Deno.writeFile(
      join(dir, "iforest.bin"),
      packArrays([f.threshold, f.value, f.feature, f.left, f.right, f.roots]),
    );
    return ["iforest.json", "iforest.bin"];
  }
}

async function loadIsolationForest(dir: string, params: Params): Promise<Detector> {
  const meta = JSON.parse(await Deno.readTextFile(join(dir, "iforest.json")));
  if (meta.format !== "fraudlab.iforest/1") throw new UserError(`${dir}: not an iforest model`);
  const n = meta.nodes as number;
  const [threshold, value, feature, left, right, roots] = unpackArrays(
    await Deno.readFile(join(dir, "iforest.bin")),
    [
      { type: "f64", length: n },
      { type: "f64", length: n },
      { type: "i32", length: n },
      { type: "i32", length: n },
      { type: "i32", length: n },
      { type: "i32", length: meta.trees },
    ],
    join(dir, "iforest.bin"),
  );
  const d = new IsolationForest(params);
  d.forest = {
    threshold: threshold as Float64Array,
    value: value as Float64Array,
    feature: feature as Int32Array,
    left: left as Int32Array,
    right: right as Int32Array,
    roots: roots as Int32Array,
    psi: meta.psi,
    cols: meta.cols,
  };
  return d;
}

/** The iforest kind: its facts, defaults, and how to create and load one. */
export const iforestKind: DetectorKind = {
  name: "iforest",
  description: "Isolation Forest (unsupervised; fits on label-0 training rows)",
  supervised: false,
  limits: "unsupervised: flags unusual, not necessarily fraudulent, transactions",
  standardize: false,
  fitOn: "negatives",
  defaults: { trees: 100, maxSamples: 256 },
  explains: "path-length shortfall per split feature (isolation speed credited to features)",
  create: (params) => new IsolationForest(params),
  load: loadIsolationForest,
  fitSample: (n, params, seed) =>
    forestSample(n, {
      trees: params.trees as number,
      maxSamples: params.maxSamples as number,
      seed,
    }),
};
