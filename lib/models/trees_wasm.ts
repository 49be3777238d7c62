/**
 * Batch scoring of tree ensembles in WebAssembly, on complete trees: each
 * tree is padded to a complete binary tree of its depth D (a leaf above
 * depth D becomes splits that always go left, down to copies of its value),
 * so node p's children are 2p + 1 and 2p + 2 and a row's walk is D steps of
 * `p = 2p + 1 + (x ≥ threshold)` with no child pointers to load. Missing
 * values need no test either: each row is written twice over, column 2j
 * with NaN as −∞ and column 2j + 1 with NaN as +∞, and a node reads the
 * copy that sends NaN its default way. Eight rows walk in lockstep (the
 * dependent loads of one walk overlap with the others'), in blocks of rows,
 * tree-major within a block. Leaf values are added in tree order in
 * float64, as the plain walk adds them: the margins are identical.
 *
 * Scoring 200,000 rows with 300 trees of depth 6, beside XGBoost's predict:
 * docs/benchmarks.md (bench/models_bench.ts); 8 and 4 rows in lockstep were
 * slower than 16 in that model's runs, 24 and 32 no faster.
 *
 * Memory: 8 bytes per padded split and per leaf, 2^(D+1) × 8 bytes a tree
 * (1 KB at depth 6); trees deeper than {@linkcode COMPLETE_MAX_DEPTH} are
 * left to the flat walk.
 * @module
 */
import type { Matrix } from "../features/pipeline.ts";
import type { Tree } from "./trees.ts";
import { flattenTrees, type FlatTrees, scoreFlat } from "./trees_flat.ts";
import { EMPTY, get, i32, loop, mem, oneFunctionModule, OP, set, tee } from "../util/wasm.ts";

/** Deepest tree the complete layout takes (2^13 × 8 bytes = 64 KB a tree). */
export const COMPLETE_MAX_DEPTH = 12;
/** Rows a block holds (its doubled rows stay in the second-level cache). */
const BLOCK = 512;
const LANES = 16;

/** An ensemble laid out as complete trees (see the module doc). */
export interface CompleteTrees {
  /** Columns of the rows it scores. */
  cols: number;
  /** Depth of each tree. */
  depth: Int32Array;
  /** Where each tree's splits start in `feature` and `threshold`. */
  splitAt: Int32Array;
  /** Where each tree's leaves start in `value`. */
  leafAt: Int32Array;
  /** Per padded split: the doubled row's column (2j: NaN goes left; 2j + 1: right). */
  feature: Int32Array;
  /** Per padded split: the threshold (NaN: always left). */
  threshold: Float32Array;
  /** Leaf values, tree by tree, left to right. */
  value: Float64Array;
}

function depthOf(t: Tree): number {
  const d = new Int32Array(t.feature.length);
  let deepest = 0;
  for (let i = 0; i < t.feature.length; i++) {
    if (t.feature[i] >= 0) d[t.left[i]] = d[t.right[i]] = d[i] + 1;
    else if (d[i] > deepest) deepest = d[i];
  }
  return deepest;
}

/**
 * The complete layout of an ensemble, or null when a tree is deeper than
 * {@linkcode COMPLETE_MAX_DEPTH}.
 *
 * @param trees the trees
 * @param cols columns of the rows
 * @returns the layout, or null
 */
export function completeTrees(trees: Tree[], cols: number): CompleteTrees | null {
  const depth = Int32Array.from(trees, depthOf);
  if (depth.some((d) => d > COMPLETE_MAX_DEPTH)) return null;
  const splitAt = new Int32Array(trees.length), leafAt = new Int32Array(trees.length);
  let splits = 0, leaves = 0;
  depth.forEach((d, k) => {
    splitAt[k] = splits;
    leafAt[k] = leaves;
    splits += (1 << d) - 1;
    leaves += 1 << d;
  });
  const feature = new Int32Array(splits), threshold = new Float32Array(splits).fill(NaN);
  const value = new Float64Array(leaves);
  trees.forEach((t, k) => {
    const D = depth[k], firstLeaf = (1 << D) - 1;
    // Depth-first over (tree node, complete position, depth).
    const stack = [0, 0, 0];
    while (stack.length) {
      const level = stack.pop()!, pos = stack.pop()!, node = stack.pop()!;
      if (level === D) {
        value[leafAt[k] + pos - firstLeaf] = t.value[node];
        continue;
      }
      const at = splitAt[k] + pos;
      if (t.feature[node] < 0) {
        // Always left (x ≥ NaN never holds); both sides hold the leaf.
        stack.push(node, 2 * pos + 1, level + 1, node, 2 * pos + 2, level + 1);
        continue;
      }
      feature[at] = 2 * t.feature[node] + (t.defaultLeft[node] ? 0 : 1);
      threshold[at] = t.threshold[node];
      stack.push(t.left[node], 2 * pos + 1, level + 1, t.right[node], 2 * pos + 2, level + 1);
    }
  });
  return { cols, depth, splitAt, leafAt, feature, threshold, value };
}

// ---- the walk: score(table, trees, rows, nrows, rowBytes, margins)

const P_TABLE = 0, P_TREES = 1, P_ROWS = 2, P_N = 3, P_RB = 4, P_M = 5;
const L_T = 6, L_NODES = 7, L_D = 8, L_LB = 9, L_R = 10, L_K = 11, L_MA = 12, L_REC = 13;
const L_A = 14, L_P = L_A + LANES, L_RW = L_P + LANES;
const I32_LOCALS = L_RW + 1 - 6;

function walkModule(rowBytes: number): Uint8Array<ArrayBuffer> {
  // One step of lane q, positions numbered from 1 (root 1, children 2p and 2p + 1, `nodes`
  // one record before the root) and held in bytes, P = 8p: rec = nodes + P;
  // P = 2P + 8 × (row_q[word(rec)] ≥ threshold(rec)), row q read at a constant offset
  // from row 0 (one address register for every lane).
  const step = (q: number) => [
    ...get(L_P + q),
    ...get(L_NODES),
    OP.i32Add,
    ...tee(L_REC),
    ...mem(OP.i32Load, 2, 0),
    ...get(L_A),
    OP.i32Add,
    ...mem(OP.f32Load, 2, q * rowBytes),
    ...get(L_REC),
    ...mem(OP.f32Load, 2, 4),
    OP.f32Ge,
    ...i32(3),
    OP.i32Shl,
    ...get(L_P + q),
    ...get(L_P + q),
    OP.i32Add,
    OP.i32Add,
    ...set(L_P + q),
  ];
  const rootStep = (q: number) => [
    ...get(L_RW),
    ...mem(OP.f32Load, 2, q * rowBytes),
    ...get(L_NODES),
    ...mem(OP.f32Load, 2, 12),
    OP.f32Ge,
    ...i32(3),
    OP.i32Shl,
    ...i32(16),
    OP.i32Add,
    ...set(L_P + q),
  ];
  // margins[r + q] += leaf value at (leafBase + P).
  const leaf = (q: number) => [
    ...get(L_MA),
    ...get(L_MA),
    ...mem(OP.f64Load, 3, 8 * q),
    ...get(L_P + q),
    ...get(L_LB),
    OP.i32Add,
    ...mem(OP.f64Load, 3, 0),
    OP.f64Add,
    ...mem(OP.f64Store, 3, 8 * q),
  ];
  const lanes = (n: number, f: (q: number) => number[]) =>
    Array.from({ length: n }, (_, q) => f(q)).flat();
  const walkRows = (n: number) => [
    // a_q = rows + (r + q) × rowBytes; p_q = 0
    ...get(P_ROWS),
    ...get(L_R),
    ...get(P_RB),
    OP.i32Mul,
    OP.i32Add,
    ...set(L_A),
    // The root is every lane's first node: its word and threshold read once, p = 2 + (x ≥ t).
    ...get(L_D),
    OP.if,
    EMPTY,
    ...get(L_NODES),
    ...mem(OP.i32Load, 2, 8),
    ...get(L_A),
    OP.i32Add,
    ...set(L_RW),
    ...lanes(n, rootStep),
    ...get(L_D),
    ...i32(1),
    OP.i32Sub,
    ...set(L_K),
    OP.else,
    ...lanes(n, (q) => [...i32(8), ...set(L_P + q)]),
    ...i32(0),
    ...set(L_K),
    OP.end,
    ...loop([...get(L_K), OP.i32Eqz], [
      ...lanes(n, step),
      ...get(L_K),
      ...i32(1),
      OP.i32Sub,
      ...set(L_K),
    ]),
    ...get(P_M),
    ...get(L_R),
    ...i32(3),
    OP.i32Shl,
    OP.i32Add,
    ...set(L_MA),
    ...lanes(n, leaf),
    ...get(L_R),
    ...i32(n),
    OP.i32Add,
    ...set(L_R),
  ];
  const body = [
    ...i32(0),
    ...set(L_T),
    ...loop([...get(L_T), ...get(P_TREES), OP.i32GeS], [
      // The tree's table record: splits address, depth, leaf base.
      ...get(P_TABLE),
      ...get(L_T),
      ...i32(4),
      OP.i32Shl,
      OP.i32Add,
      ...tee(L_REC),
      ...mem(OP.i32Load, 2, 0),
      ...set(L_NODES),
      ...get(L_REC),
      ...mem(OP.i32Load, 2, 4),
      ...set(L_D),
      ...get(L_REC),
      ...mem(OP.i32Load, 2, 8),
      ...set(L_LB),
      ...i32(0),
      ...set(L_R),
      ...loop(
        [...get(L_R), ...i32(LANES), OP.i32Add, ...get(P_N), OP.i32GtS],
        walkRows(LANES),
      ),
      ...loop([...get(L_R), ...get(P_N), OP.i32GeS], walkRows(1)),
      ...get(L_T),
      ...i32(1),
      OP.i32Add,
      ...set(L_T),
    ]),
  ];
  return oneFunctionModule({
    name: "score",
    params: 6,
    i32Locals: I32_LOCALS,
    f64Locals: 0,
    body,
    result: null,
  });
}

const MODULES = new Map<number, WebAssembly.Module>();

/** Adds each tree's leaf value to the margins of a batch of rows. */
export type BatchWalk = (X: Matrix, margin: Float64Array) => void;

/**
 * The WebAssembly batch walk of a complete layout: its splits and leaves
 * copied into a memory of its own, with a block of doubled rows and their
 * margins. Null without WebAssembly.
 *
 * @param ct the layout
 * @returns the walk
 */
export function buildBatchWalk(ct: CompleteTrees): BatchWalk | null {
  if (typeof WebAssembly === "undefined") return null;
  const trees = ct.depth.length, w = 2 * ct.cols;
  let module = MODULES.get(w);
  if (!module) MODULES.set(w, module = new WebAssembly.Module(walkModule(4 * w)));
  // Layout (bytes): table (16 a tree), split records (8), leaves (8), block rows, block margins.
  // The first tree's splits start one record in, so that "one record before" is in memory.
  const splitsAt = 16 * trees + 8;
  const leavesAt = splitsAt + 8 * ct.feature.length;
  const rowsAt = leavesAt + 8 * ct.value.length;
  const marginsAt = rowsAt + ((4 * w * BLOCK + 7) & ~7);
  const bytes = marginsAt + 8 * BLOCK;
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
  const buf = memory.buffer;
  const table = new Int32Array(buf, 0, 4 * trees);
  for (let t = 0; t < trees; t++) {
    // Positions from 1: split p at splits + 8(p − 1), leaf p at leaves + 8(p − 2^D).
    table[4 * t] = splitsAt + 8 * (ct.splitAt[t] - 1);
    table[4 * t + 1] = ct.depth[t];
    table[4 * t + 2] = leavesAt + 8 * (ct.leafAt[t] - (1 << ct.depth[t]));
  }
  const words = new Int32Array(buf, splitsAt, 2 * ct.feature.length);
  const thr = new Float32Array(buf, splitsAt, 2 * ct.feature.length);
  for (let i = 0; i < ct.feature.length; i++) {
    words[2 * i] = 4 * ct.feature[i];
    thr[2 * i + 1] = ct.threshold[i];
  }
  new Float64Array(buf, leavesAt, ct.value.length).set(ct.value);
  const rows = new Float32Array(buf, rowsAt, w * BLOCK);
  const margins = new Float64Array(buf, marginsAt, BLOCK);
  const score = new WebAssembly.Instance(module, { env: { mem: memory } }).exports.score as (
    ...args: number[]
  ) => void;
  const cols = ct.cols;
  return (X, margin) => {
    if (X.cols !== cols) throw new Error(`expected ${cols} columns, got ${X.cols}`);
    const data = X.data;
    for (let start = 0; start < X.rows; start += BLOCK) {
      const n = Math.min(BLOCK, X.rows - start);
      for (let r = 0, s = start * cols, o = 0; r < n; r++, o += w) {
        for (let j = 0; j < cols; j++, s++) {
          const x = data[s];
          if (x === x) rows[o + 2 * j] = rows[o + 2 * j + 1] = x;
          else {
            rows[o + 2 * j] = -Infinity;
            rows[o + 2 * j + 1] = Infinity;
          }
        }
      }
      margins.set(margin.subarray(start, start + n));
      score(0, trees, rowsAt, n, 4 * w, marginsAt);
      margin.set(margins.subarray(0, n), start);
    }
  };
}

/** How an ensemble's batches are walked: complete trees (WebAssembly) or the flat layout. */
export type WalkPlan = { complete: CompleteTrees } | { flat: FlatTrees };

/**
 * The batch layout of an ensemble: complete trees when every tree is
 * shallow enough and WebAssembly is there, else the flat layout. Plain
 * typed arrays, so a worker thread can receive it.
 *
 * @param trees the trees
 * @param cols columns of the rows
 * @returns the plan
 */
export function walkPlan(trees: Tree[], cols: number): WalkPlan {
  const complete = typeof WebAssembly === "undefined" ? null : completeTrees(trees, cols);
  return complete ? { complete } : { flat: flattenTrees(trees) };
}

/**
 * The walk of a plan: adds each tree's leaf value to `margin` for every row.
 *
 * @param plan from {@linkcode walkPlan}
 * @returns the walk
 */
export function planWalk(plan: WalkPlan): BatchWalk {
  if ("complete" in plan) {
    const walk = buildBatchWalk(plan.complete);
    if (walk) return walk;
  }
  const flat = "flat" in plan ? plan.flat : null;
  if (!flat) throw new Error("a complete-tree plan needs WebAssembly");
  return (X, margin) => scoreFlat(flat, X, margin);
}
