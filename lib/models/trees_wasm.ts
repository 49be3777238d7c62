/**
 * Batch scoring of tree ensembles in WebAssembly, on complete trees: each
 * tree is padded to a complete binary tree of its depth D (a leaf above
 * depth D becomes splits that always go left, down to copies of its value),
 * so node p's children are 2p + 1 and 2p + 2 and a row's walk is D steps of
 * `p = 2p + 1 + (x ≥ threshold)` with no child pointers to load. Missing
 * values need no test either: each row is written twice over, column 2j
 * with NaN as −∞ and column 2j + 1 with NaN as +∞, and a node reads the
 * copy that sends NaN its default way. Sixteen rows walk in lockstep (the
 * dependent loads of one walk overlap with the others'), each group through
 * every tree, its rows at address 0 so that a step's row read is the
 * feature's word plus a constant (one add fewer a step than rows anywhere:
 * 129 -> 120 ms for 100,000 rows on one thread, measured one after the other,
 * against blocks of 512 rows walked tree by tree). Leaf values are added in
 * tree order in float64, as the plain walk adds them: the margins are
 * identical.
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
/** Rows that walk in lockstep: one call walks every tree for one group of them. */
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

// ---- the walk: score(table, trees, margins), over the 16 doubled rows at address 0

const P_TABLE = 0, P_TREES = 1, P_M = 2, P_ONE = 3;
const L_T = 4, L_NODES = 5, L_D = 6, L_LB = 7, L_K = 8, L_REC = 9, L_RW = 10, L_P = 11;
const I32_LOCALS = L_P + LANES - 4;

function walkModule(rowBytes: number): Uint8Array<ArrayBuffer> {
  // One step of lane q, positions numbered from 1 (root 1, children 2p and 2p + 1, `nodes`
  // one record before the root) and held in bytes, P = 8p: rec = nodes + P;
  // P = 2P + 8 × (row_q[word(rec)] ≥ threshold(rec)). Row q sits at q × rowBytes from address
  // 0, a constant: the feature's word is the address, with the row's place as the load's offset.
  const step = (q: number) => [
    ...get(L_P + q),
    ...get(L_NODES),
    OP.i32Add,
    ...tee(L_REC),
    ...mem(OP.i32Load, 2, 0),
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
  // The root is every lane's first node: its word and threshold read once, p = 2 + (x ≥ t).
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
  // margins[q] += leaf value at (leafBase + P).
  const leaf = (q: number) => [
    ...get(P_M),
    ...get(P_M),
    ...mem(OP.f64Load, 3, 8 * q),
    ...get(L_P + q),
    ...get(L_LB),
    OP.i32Add,
    ...mem(OP.f64Load, 3, 0),
    OP.f64Add,
    ...mem(OP.f64Store, 3, 8 * q),
  ];
  const walk = (count: number) => {
    const lanes = (f: (q: number) => number[]) =>
      Array.from({ length: count }, (_, q) => f(q)).flat();
    return [
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
        ...get(L_D),
        OP.if,
        EMPTY,
        ...get(L_NODES),
        ...mem(OP.i32Load, 2, 8),
        ...set(L_RW),
        ...lanes(rootStep),
        ...get(L_D),
        ...i32(1),
        OP.i32Sub,
        ...set(L_K),
        OP.else,
        ...lanes((q) => [...i32(8), ...set(L_P + q)]),
        ...i32(0),
        ...set(L_K),
        OP.end,
        ...loop([...get(L_K), OP.i32Eqz], [
          ...lanes(step),
          ...get(L_K),
          ...i32(1),
          OP.i32Sub,
          ...set(L_K),
        ]),
        ...lanes(leaf),
        ...get(L_T),
        ...i32(1),
        OP.i32Add,
        ...set(L_T),
      ]),
    ];
  };
  // One row (P_ONE: a group's short tail, or a served row) or a full group of LANES.
  const body = [...get(P_ONE), OP.if, EMPTY, ...walk(1), OP.else, ...walk(LANES), OP.end];
  return oneFunctionModule({
    name: "score",
    params: 4,
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
 * copied into a memory of its own, after room for one group of 16 doubled
 * rows at address 0, and their margins. Null without WebAssembly.
 *
 * @param ct the layout
 * @returns the walk
 */
export function buildBatchWalk(ct: CompleteTrees): BatchWalk | null {
  if (typeof WebAssembly === "undefined") return null;
  const trees = ct.depth.length, w = 2 * ct.cols;
  let module = MODULES.get(w);
  if (!module) MODULES.set(w, module = new WebAssembly.Module(walkModule(4 * w)));
  // Layout (bytes): the group's rows, table (16 a tree), split records (8), leaves (8), the
  // group's margins. The first tree's splits start one record in, so that "one record before"
  // is in memory.
  const tableAt = (4 * w * LANES + 15) & ~15;
  const splitsAt = tableAt + 16 * trees + 8;
  const leavesAt = splitsAt + 8 * ct.feature.length;
  const marginsAt = leavesAt + 8 * ct.value.length;
  const bytes = marginsAt + 8 * LANES;
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
  const buf = memory.buffer;
  const table = new Int32Array(buf, tableAt, 4 * trees);
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
  const rows = new Float32Array(buf, 0, w * LANES);
  const margins = new Float64Array(buf, marginsAt, LANES);
  const score = new WebAssembly.Instance(module, { env: { mem: memory } }).exports.score as (
    ...args: number[]
  ) => void;
  const cols = ct.cols;
  return (X, margin) => {
    if (X.cols !== cols) throw new Error(`expected ${cols} columns, got ${X.cols}`);
    const data = X.data;
    for (let start = 0; start < X.rows; start += LANES) {
      const n = Math.min(LANES, X.rows - start);
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
      if (n === LANES) {
        margins.set(margin.subarray(start, start + n));
        score(tableAt, trees, marginsAt, 0);
        margin.set(margins, start);
        continue;
      }
      // A short group: its rows one at a time, each at address 0.
      for (let r = 0; r < n; r++) {
        rows.copyWithin(0, r * w, (r + 1) * w);
        margins[0] = margin[start + r];
        score(tableAt, trees, marginsAt, 1);
        margin[start + r] = margins[0];
      }
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
