/**
 * The serving walk of a narrow isolation forest (at most 16 features) in
 * WebAssembly: one row scored and explained per call, four trees in
 * lockstep, leaf credits added into one register per feature. It computes
 * what `scoreExplainForest` computes in JavaScript, in the same order, so
 * scores and contributions are the same to the bit; it only runs faster
 * (no bounds checks, no float32 → float64 conversions on the walk, the
 * credit adds unrolled for the forest's width).
 *
 * The module is assembled here from its instructions (no toolchain, no
 * binary in the repository), once per forest width. Each forest gets its
 * own memory holding a copy of its walk layout:
 *
 * - node records (8 bytes: a word holding the left child's byte position × 8
 *   and the feature × 4, then the float32 threshold) at address 0; a leaf
 *   steps to itself and its threshold is a NaN carrying its leaf slot; a
 *   tree count that is not a multiple of four is padded with a zero tree
 *   (one leaf, value 0, credits 0), whose adds change nothing;
 * - leaf records by leaf slot: the leaf's value (float64) then its `cols`
 *   credits (float32), so a leaf costs one cache line, not two;
 * - tree roots (byte positions) and each group of four's depth;
 * - the row (float32) and the contributions out (float64).
 * @module
 */

/** What the walk needs from a forest (see `iforest.ts`). */
export interface WalkInput {
  cols: number;
  /** Node records: feature, left record offset, leaf slot, threshold bits (as in `WalkLayout`). */
  node: Int32Array;
  /** Leaf value per node. */
  value: Float64Array;
  /** Record offsets of the roots. */
  roots: Int32Array;
  /** Depth of each group of four trees. */
  groupDepth: Int32Array;
  /** `cols` credits per leaf slot. */
  dense: Float32Array;
  leaves: number;
}

/** Scores one row (float32, `cols` values), writes its contributions; returns the sum of leaf values. */
export type WasmWalk = (row: Float32Array, acc: Float64Array) => number;

/** Widest forest the walk is built for. */
export const WASM_WALK_MAX_COLS = 16;

import { F64, get, i32, loop, mem, oneFunctionModule, OP, set, uleb } from "../util/wasm.ts";

// Parameters of walk(): addresses and counts.
const P_ROW = 0, P_ROOTS = 1, P_GROUPS = 2, P_DEPTHS = 3, P_LEAVES = 4, P_ACC = 5;
const PARAMS = 6;
// Locals: group, level, four positions, leaf record address, a node's first word (i32);
// sum, one accumulator per column (f64).
const L_G = 6, L_K = 7, L_N = 8, L_AT = 12, L_W = 13, L_SUM = 14, L_ACC = 15;
const I32_LOCALS = 8;

/** Bytes of one node record: a word (left child position × 8 | feature × 4) and the threshold. */
const NODE_BYTES = 8;
/** A leaf's threshold: a quiet NaN (no value is ≤ it) carrying the leaf slot in its low bits. */
const LEAF_NAN = 0x7fc00000;
const SLOT_BITS = 22;

/** Bytes of one leaf record: its value (float64), then its `cols` credits (float32). */
function leafStride(cols: number): number {
  return (8 + 4 * cols + 7) & ~7;
}

/** The walk module's bytes for forests of `cols` features. */
function walkModule(cols: number): Uint8Array<ArrayBuffer> {
  // One lockstep step of position n: w = word(n);
  // n = left(w) + 8 × !(row[feature(w)] ≤ threshold(n)).
  const step = (n: number) => [
    ...get(n),
    ...mem(OP.i32Load, 2, 0),
    OP.localTee,
    ...uleb(L_W),
    ...i32(63),
    OP.i32And,
    ...get(P_ROW),
    OP.i32Add,
    ...mem(OP.f32Load, 2, 0),
    ...get(n),
    ...mem(OP.f32Load, 2, 4),
    OP.f32Le,
    ...i32(1),
    OP.i32Xor,
    ...i32(3),
    OP.i32Shl,
    ...get(L_W),
    ...i32(3),
    OP.i32ShrS,
    ...i32(-8),
    OP.i32And,
    OP.i32Add,
    ...set(n),
  ];
  // The leaf at position n: its record (value and credits, one cache line
  // for narrow forests), the value into the sum, the credits into the accumulators.
  const leaf = (n: number) => {
    const out = [
      ...get(P_LEAVES),
      ...get(n),
      ...mem(OP.i32Load, 2, 4),
      ...i32((1 << SLOT_BITS) - 1),
      OP.i32And,
      ...i32(leafStride(cols)),
      OP.i32Mul,
      OP.i32Add,
      ...set(L_AT),
      ...get(L_SUM),
      ...get(L_AT),
      ...mem(OP.f64Load, 3, 0),
      OP.f64Add,
      ...set(L_SUM),
    ];
    for (let f = 0; f < cols; f++) {
      out.push(
        ...get(L_ACC + f),
        ...get(L_AT),
        ...mem(OP.f32Load, 2, 8 + 4 * f),
        OP.f64PromoteF32,
        OP.f64Add,
        ...set(L_ACC + f),
      );
    }
    return out;
  };
  const root = (lane: number) => [
    ...get(P_ROOTS),
    ...get(L_G),
    ...i32(4),
    OP.i32Shl,
    OP.i32Add,
    ...mem(OP.i32Load, 2, 4 * lane),
    ...set(L_N + lane),
  ];
  const code: number[] = [
    ...i32(0),
    ...set(L_G),
    ...loop([...get(L_G), ...get(P_GROUPS), OP.i32GeS], [
      ...root(0),
      ...root(1),
      ...root(2),
      ...root(3),
      ...get(P_DEPTHS),
      ...get(L_G),
      ...i32(2),
      OP.i32Shl,
      OP.i32Add,
      ...mem(OP.i32Load, 2, 0),
      ...set(L_K),
      ...loop([...get(L_K), OP.i32Eqz], [
        ...step(L_N),
        ...step(L_N + 1),
        ...step(L_N + 2),
        ...step(L_N + 3),
        ...get(L_K),
        ...i32(1),
        OP.i32Sub,
        ...set(L_K),
      ]),
      ...leaf(L_N),
      ...leaf(L_N + 1),
      ...leaf(L_N + 2),
      ...leaf(L_N + 3),
      ...get(L_G),
      ...i32(1),
      OP.i32Add,
      ...set(L_G),
    ]),
  ];
  for (let f = 0; f < cols; f++) {
    code.push(...get(P_ACC), ...get(L_ACC + f), ...mem(OP.f64Store, 3, 8 * f));
  }
  code.push(...get(L_SUM));
  return oneFunctionModule({
    name: "walk",
    params: PARAMS,
    i32Locals: I32_LOCALS,
    f64Locals: 1 + cols,
    body: code,
    result: F64,
  });
}

const MODULES = new Map<number, WebAssembly.Module>();

/**
 * The walk for one forest: its layout copied into a memory of its own.
 * Null when the forest is too wide (the JavaScript walk serves it).
 */
export function buildWasmWalk(input: WalkInput): WasmWalk | null {
  const { cols, node, value, roots, groupDepth, dense, leaves } = input;
  if (cols > WASM_WALK_MAX_COLS || typeof WebAssembly === "undefined") return null;
  // Leaf slots live in a NaN's payload; node positions × 8 in a signed word.
  if (leaves + 1 >= 2 ** SLOT_BITS || (node.length / 4 + 1) * NODE_BYTES * 8 >= 2 ** 31) {
    return null;
  }
  let module = MODULES.get(cols);
  if (!module) MODULES.set(cols, module = new WebAssembly.Module(walkModule(cols)));
  const records = node.length / 4;
  const groups = groupDepth.length;
  const stride = leafStride(cols);
  // Layout (bytes): nodes (+ the zero tree's leaf), leaf records (+ the zero
  // leaf's), roots, depths, row, acc.
  const nodesBytes = (records + 1) * NODE_BYTES;
  const leavesAt = nodesBytes;
  const rootsAt = leavesAt + (leaves + 1) * stride;
  const depthsAt = rootsAt + groups * 16;
  const rowAt = depthsAt + ((groups * 4 + 7) & ~7);
  const accAt = rowAt + ((cols * 4 + 7) & ~7);
  const bytes = accAt + cols * 8;
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
  const buf = memory.buffer;
  const n32 = new Int32Array(buf, 0, (records + 1) * 2);
  const leafValue = new Float64Array(buf, leavesAt, ((leaves + 1) * stride) / 8);
  const leafCredit = new Float32Array(buf, leavesAt, ((leaves + 1) * stride) / 4);
  for (let i = 0; i < records; i++) {
    const r = 4 * i, at = NODE_BYTES * i;
    if (node[r + 1] === r - 4) {
      // A leaf (it steps to itself): left = itself − 8, the slot in its NaN
      // threshold; its value and credits into its record.
      const slot = node[r + 2];
      n32[2 * i] = (at - NODE_BYTES) * 8;
      n32[2 * i + 1] = LEAF_NAN | slot;
      leafValue[(slot * stride) / 8] = value[i];
      leafCredit.set(dense.subarray(slot * cols, (slot + 1) * cols), (slot * stride + 8) / 4);
    } else {
      n32[2 * i] = (node[r + 1] / 4) * NODE_BYTES * 8 + node[r] * 4;
      n32[2 * i + 1] = node[r + 3]; // the float32 threshold's bits
    }
  }
  // The zero tree: a leaf stepping to itself, slot `leaves` (value and credits 0).
  const zero = records * NODE_BYTES;
  n32[2 * records] = (zero - NODE_BYTES) * 8;
  n32[2 * records + 1] = LEAF_NAN | leaves;
  const r32 = new Int32Array(buf, rootsAt, groups * 4);
  for (let t = 0; t < groups * 4; t++) {
    r32[t] = t < roots.length ? (roots[t] / 4) * NODE_BYTES : zero;
  }
  new Int32Array(buf, depthsAt, groups).set(groupDepth);
  const row = new Float32Array(buf, rowAt, cols);
  const acc = new Float64Array(buf, accAt, cols);
  const walk = new WebAssembly.Instance(module, { env: { mem: memory } }).exports.walk as (
    ...args: number[]
  ) => number;
  return (x, out) => {
    row.set(x);
    const sum = walk(rowAt, rootsAt, groups, depthsAt, leavesAt, accAt);
    out.set(acc);
    return sum;
  };
}
