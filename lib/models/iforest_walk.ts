/**
 * Walking a fitted forest: its nodes laid out once for branch-free lockstep
 * walks, batch scoring, and one-row scoring with the path attribution (leaf
 * credits precomputed, and for forests of at most 16 features a
 * WebAssembly walk). A {@linkcode ForestWalk} owns all of it for one
 * forest; nothing is cached at module level.
 * @module
 */
import type { Matrix } from "../features/pipeline.ts";
import { UserError } from "../util/errors.ts";
import { averagePathLength, type Forest } from "./iforest_fit.ts";
import { buildWasmWalk, type WasmWalk } from "./iforest_wasm.ts";

/** Options of a {@linkcode ForestWalk}. */
export interface ForestWalkOptions {
  /** Score single rows in WebAssembly when the forest is narrow enough (default true). */
  wasm?: boolean;
}

/**
 * One forest, ready to walk: the layout is built on construction (refusing
 * a corrupt forest), the leaf credits and the WebAssembly walk on the first
 * one-row score. One-row scoring reuses scratch buffers: one call at a time.
 */
export class ForestWalk {
  readonly #forest: Forest;
  readonly #layout: WalkLayout;
  readonly #wasmAllowed: boolean;
  #credits: LeafCredits | null = null;
  #wasm: WasmWalk | null = null;

  constructor(forest: Forest, options: ForestWalkOptions = {}) {
    this.#forest = forest;
    this.#layout = walkLayout(forest);
    this.#wasmAllowed = options.wasm ?? true;
  }

  /** Scores every row of X: 2^(−E[h]/c(ψ)). */
  score(X: Matrix): Float32Array {
    return scoreRows(this.#forest, this.#layout, X);
  }

  /** Scores one row, writing its per-feature path attribution into `out`. */
  scoreExplain(row: Float32Array, out: Float32Array): number {
    const credits = this.#leafCredits();
    return scoreExplainRow(this.#forest, this.#layout, credits, this.#wasm, row, out);
  }

  /** Per-feature path attribution of one row (see `iforest.ts`). */
  explain(row: Float32Array): Float32Array {
    const out = new Float32Array(this.#forest.cols);
    this.scoreExplain(row, out);
    return out;
  }

  /** Whether one-row scoring runs in WebAssembly (forests of at most 16 features). */
  get usesWasm(): boolean {
    this.#leafCredits();
    return this.#wasm !== null;
  }

  #leafCredits(): LeafCredits {
    if (!this.#credits) {
      this.#credits = leafCredits(this.#forest, this.#layout);
      if (this.#wasmAllowed) this.#wasm = wasmWalkOf(this.#forest, this.#layout, this.#credits);
    }
    return this.#credits;
  }
}

/** Scores rows of X with a forest (builds its layout for this one call). */
export function scoreForest(forest: Forest, X: Matrix): Float32Array {
  return new ForestWalk(forest).score(X);
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

/** The walk layout of a forest; refuses a corrupt one. */
function walkLayout(forest: Forest): WalkLayout {
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
  return { node, thr, roots: roots.map((r) => 4 * r), depth, groupDepth, leaves };
}

/** Scores rows of X with a forest's layout: 2^(−E[h]/c(ψ)). */
function scoreRows(forest: Forest, layout: WalkLayout, X: Matrix): Float32Array {
  if (X.cols !== forest.cols) {
    throw new UserError(`iforest: expected ${forest.cols} features, got ${X.cols}`);
  }
  const value = forest.value;
  const cols = X.cols, data = X.data;
  const { node, thr, roots, depth } = layout;
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

/** The leaf credits of a forest. */
function leafCredits(forest: Forest, layout: WalkLayout): LeafCredits {
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
  return {
    dense,
    start,
    feature: Int32Array.from(feats),
    weight: Float64Array.from(weights),
    acc: new Float64Array(cols),
    norm: -1 / (forest.roots.length * cPsi),
  };
}

/** The WebAssembly walk of a narrow forest (dense credits), or null. */
function wasmWalkOf(forest: Forest, layout: WalkLayout, credits: LeafCredits): WasmWalk | null {
  return credits.dense
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
}

/**
 * Scores one row and writes its path attribution into `out` with a single
 * walk of each tree; the score equals batch scoring's (same leaf values
 * summed in the same order).
 */
function scoreExplainRow(
  forest: Forest,
  layout: WalkLayout,
  credits: LeafCredits,
  wasm: WasmWalk | null,
  row: Float32Array,
  out: Float32Array,
): number {
  const value = forest.value;
  const cols = forest.cols;
  if (row.length !== cols) {
    throw new UserError(`iforest: expected ${cols} features, got ${row.length}`);
  }
  const { node, thr, roots, groupDepth } = layout;
  const { dense, acc } = credits;
  const trees = roots.length;
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
  // summed in tree order, as batch scoring does.
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
