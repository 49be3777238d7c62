/**
 * The tabled TreeSHAP walk (`treeshap_fast.ts`) in WebAssembly: the same
 * per-node hot masks and per-leaf table reads, the same adds in the same
 * order, so the contributions are identical to the JavaScript walk's; it
 * runs without bounds checks and with every node in one 16-byte record.
 *
 * Memory (bytes): tree table (the address and count of its split records,
 * of its merged leaf pairs' and of its other leaves', 32 a tree), split
 * records (32 each), pair records (16), leaf records (16), leaf-feature records (its contribution's address and its
 * coefficient, 16 each), the T tables (float64), the
 * mask scratch, the row (float32) and the contributions (float64).
 *
 * A tree is passes with no branch on the node's kind: its splits in order
 * (parents first) set the children's hot masks, then its merged leaf pairs
 * (two sibling leaves under a split on a feature new to their path: one
 * table, so the pair costs what a leaf does), then its other leaves, each
 * list by width, add their contributions. A
 * split's record: the byte offset in the doubled row (each feature twice,
 * NaN as −∞ in the copy a default-left split reads and +∞ in the other, so
 * `x < threshold` routes it), the threshold (float32), the addresses of its
 * own mask and of its left child's (the right child's follows), and the
 * complement of its slot's bit. A leaf's: its mask's address, its table's address, its first
 * leaf-feature record's address, its width.
 *
 * Measured (bench/treeshap_bench.ts, the serve bench's 300-tree champion):
 * one walk over every node, branching on its kind, with leaves in tree
 * order took 225 µs a row; the two passes with leaves by width 195 µs;
 * without a float select 130 µs; unrolled, tables in the walk's order,
 * 103–112 µs; splits on a doubled row about 100 µs; sibling pairs 85–91 µs;
 * merged pairs 72–80 µs.
 * @module
 */
import type { Tree } from "./trees.ts";
import { EMPTY, get, i32, loop, mem, oneFunctionModule, OP, set, tee, uleb } from "../util/wasm.ts";

/** Most unique features a leaf's path may have for its table (2^12 numbers): the unrolled steps. */
export const TABLED_MAX_PATH = 12;

// explain(trees, count, masks, row, phi)
// (the row parameter is unused: the row sits at address 0)
const P_TREES = 0, P_COUNT = 1, P_MASK = 2, P_PHI = 4;
const L_T = 5,
  L_BASE = 6,
  L_CNT = 7,
  L_NA = 8,
  L_M = 9,
  L_W = 10,
  L_H = 11,
  L_TB = 12,
  L_FA = 13,
  L_PO = 14,
  L_OFF = 15,
  L_LA = 16,
  L_GO = 17,
  L_NEG = 18;
const I32_LOCALS = 14;

function explainModule(): Uint8Array<ArrayBuffer> {
  // Feature j of a leaf (h holding 8·H): k × T[H & ~bit], bit = 1 << j; k is −1 for a cold feature (T[H]: the
  // bit is not in H) and its coefficient for a hot one (T[H ∖ {j}]), read from the record by
  // the hot bit: no float select (V8 compiles one to a branch, which the hot bit mispredicts:
  // 195 -> 130 µs a row on the serve bench's champion).
  const term = (fa: number, h: number, tb: number, j: number) => [
    // k: the record's coefficient, or −1 (kept at P_PHI − 8), chosen by address (an integer
    // select is a cmov)
    ...get(fa),
    ...i32(16 * j + 8),
    OP.i32Add,
    ...get(L_NEG),
    ...get(h),
    ...i32(8 << j),
    OP.i32And,
    OP.select,
    ...mem(OP.f64Load, 3, 0),
    ...get(tb),
    ...get(h),
    ...i32(~(8 << j)),
    OP.i32And,
    OP.i32Add,
    ...mem(OP.f64Load, 3, 0),
    OP.f64Mul,
  ];
  // phi[f] += the term.
  const step = (j: number) => [
    ...get(L_FA),
    ...mem(OP.i32Load, 2, 16 * j),
    ...tee(L_PO),
    ...get(L_PO),
    ...mem(OP.f64Load, 3, 0),
    ...term(L_FA, L_H, L_TB, j),
    OP.f64Add,
    ...mem(OP.f64Store, 3, 0),
  ];
  // block B0 { block B1 { … block B_max { br_table(w) } step(max−1) } … step(0) } : a break to
  // B_w runs steps w−1 … 0 (each feature's add is its own: their order within a leaf is free).
  const unrolled = (steps: (j: number) => number[]) => {
    let code: number[] = [
      ...get(L_W),
      OP.brTable,
      ...uleb(TABLED_MAX_PATH + 1),
      ...Array.from({ length: TABLED_MAX_PATH + 1 }, (_, w) => uleb(TABLED_MAX_PATH - w)).flat(),
      ...uleb(TABLED_MAX_PATH),
    ];
    for (let w = TABLED_MAX_PATH; w >= 1; w--) {
      code = [OP.block, EMPTY, ...code, OP.end, ...steps(w - 1)];
    }
    return [OP.block, EMPTY, ...code, OP.end];
  };
  // 8·H, H = mask & ((1 << w) − 1), the mask on the stack (hotOf) or at the address on it
  // (hot); 8·H is a table entry's byte offset, so a term needs no shift.
  const hotOf = (h: number) => [
    ...i32(1),
    ...get(L_W),
    OP.i32Shl,
    ...i32(1),
    OP.i32Sub,
    OP.i32And,
    ...i32(3),
    OP.i32Shl,
    ...set(h),
  ];
  const hot = (h: number) => [...mem(OP.i32Load, 2, 0), ...hotOf(h)];
  // A leaf's record: its mask's address, its table's, its feature records', its width.
  const leafHead = [
    ...get(L_NA),
    ...mem(OP.i32Load, 2, 12),
    ...set(L_W),
    ...get(L_NA),
    ...mem(OP.i32Load, 2, 0),
    ...hot(L_H),
    ...get(L_NA),
    ...mem(OP.i32Load, 2, 4),
    ...set(L_TB),
    ...get(L_NA),
    ...mem(OP.i32Load, 2, 8),
    ...set(L_FA),
  ];
  const leaf = [...leafHead, ...unrolled(step)];
  // A merged pair's record: its left leaf's mask address, its table, its left leaf's feature
  // records, q = w − 1 (the split's slot). d = the mask's bit q (the row's way at the split),
  // y = the bits below it; the q other features read M_d[y & ~bit] as a leaf reads T, the
  // split's feature adds V_d[y] (see treeshap_fast.ts).
  const pair = [
    ...get(L_NA),
    ...mem(OP.i32Load, 2, 12),
    ...set(L_W),
    ...get(L_NA),
    ...mem(OP.i32Load, 2, 0),
    ...mem(OP.i32Load, 2, 0),
    ...set(L_M),
    // TB = table + 8·d·2^q
    ...get(L_NA),
    ...mem(OP.i32Load, 2, 4),
    ...get(L_M),
    ...get(L_W),
    OP.i32ShrU,
    ...i32(1),
    OP.i32And,
    ...get(L_W),
    ...i32(3),
    OP.i32Add,
    OP.i32Shl,
    OP.i32Add,
    ...set(L_TB),
    // H = 8·(m & (2^q − 1))
    ...get(L_M),
    ...hotOf(L_H),
    ...get(L_NA),
    ...mem(OP.i32Load, 2, 8),
    ...set(L_FA),
    ...unrolled(step),
    // phi[f_q] += V_d[y], at TB + 16·2^q + 8y
    ...get(L_FA),
    ...get(L_W),
    ...i32(4),
    OP.i32Shl,
    OP.i32Add,
    ...mem(OP.i32Load, 2, 0),
    ...tee(L_PO),
    ...get(L_PO),
    ...mem(OP.f64Load, 3, 0),
    ...get(L_TB),
    ...i32(16),
    ...get(L_W),
    OP.i32Shl,
    OP.i32Add,
    ...get(L_H),
    OP.i32Add,
    ...mem(OP.f64Load, 3, 0),
    OP.f64Add,
    ...mem(OP.f64Store, 3, 0),
  ];
  // A split: go = x < threshold, x read from the doubled row (NaN as −∞ in the copy a
  // default-left node reads, +∞ in the other); the children's masks m and m & ~bit.
  const split = [
    ...get(L_NA),
    ...mem(OP.i32Load, 2, 8),
    ...mem(OP.i32Load, 2, 0),
    ...set(L_M),
    ...get(L_NA),
    ...mem(OP.i32Load, 2, 0),
    ...mem(OP.f32Load, 2, 0),
    ...get(L_NA),
    ...mem(OP.f32Load, 2, 4),
    OP.f32Lt,
    ...set(L_GO),
    ...get(L_M),
    ...get(L_NA),
    ...mem(OP.i32Load, 2, 16),
    OP.i32And,
    ...set(L_OFF),
    ...get(L_NA),
    ...mem(OP.i32Load, 2, 12),
    ...tee(L_LA),
    ...get(L_M),
    ...get(L_OFF),
    ...get(L_GO),
    OP.select,
    ...mem(OP.i32Store, 2, 0),
    ...get(L_LA),
    ...get(L_OFF),
    ...get(L_M),
    ...get(L_GO),
    OP.select,
    ...mem(OP.i32Store, 2, 4),
  ];
  /** Runs `body` for each record of a list: `count` records of `size` bytes from `first`, L_NA the record. */
  const each = (first: number[], count: number[], size: number, body: number[]) => [
    ...first,
    ...set(L_NA),
    ...count,
    ...set(L_CNT),
    ...loop([...get(L_CNT), OP.i32Eqz], [
      ...body,
      ...get(L_NA),
      ...i32(size),
      OP.i32Add,
      ...set(L_NA),
      ...get(L_CNT),
      ...i32(1),
      OP.i32Sub,
      ...set(L_CNT),
    ]),
  ];
  const treeWord = (offset: number) => [...get(L_BASE), ...mem(OP.i32Load, 2, offset)];
  const body = [
    // −1's address (just before the contributions)
    ...get(P_PHI),
    ...i32(8),
    OP.i32Sub,
    ...set(L_NEG),
    ...i32(0),
    ...set(L_T),
    ...loop([...get(L_T), ...get(P_COUNT), OP.i32GeS], [
      ...get(P_TREES),
      ...get(L_T),
      ...i32(5),
      OP.i32Shl,
      OP.i32Add,
      ...set(L_BASE),
      // mask[0] = every feature hot
      ...get(P_MASK),
      ...i32(-1),
      ...mem(OP.i32Store, 2, 0),
      ...each(treeWord(0), treeWord(4), 32, split),
      ...each(treeWord(8), treeWord(12), 16, pair),
      ...each(treeWord(16), treeWord(20), 16, leaf),
      ...get(L_T),
      ...i32(1),
      OP.i32Add,
      ...set(L_T),
    ]),
  ];
  return oneFunctionModule({
    name: "explain",
    params: 5,
    i32Locals: I32_LOCALS,
    f64Locals: 0,
    body,
    result: null,
  });
}

let MODULE: WebAssembly.Module | null = null;

/** One tree's precomputed tables and walk order (built by `treeshap_fast.ts`). */
export interface TableLayout {
  /** Per internal node: the slot (bit) of its feature among the path's unique features. */
  slot: Int32Array;
  /** Per node (leaves only): where its table starts in `table`. */
  tableAt: Int32Array;
  /** Per node (leaves only): where its features and coefficients start in `feats`/`coef`. */
  featAt: Int32Array;
  /** Per node (leaves only): its number of unique path features. */
  width: Int32Array;
  feats: Int32Array;
  /** (1 − z_i)/z_i per leaf feature. */
  coef: Float64Array;
  table: Float64Array;
  /** The internal nodes, ascending (parents before children). */
  splits: Int32Array;
  /**
   * Merged sibling leaves, by each pair's left leaf: the two leaf children
   * of a split whose feature is new on the path (the leaves' last path
   * feature). Their tables are merged (see `treeshap_fast.ts`), so the
   * pair costs what one leaf does. The walk adds them first, then the other
   * leaves, each list by width, then by index.
   */
  pairs: Int32Array;
  /** The leaves not in a pair. */
  singles: Int32Array;
}

/** What the walk needs of one tree: its tables and its splits. */
export type TabledTree =
  & TableLayout
  & Pick<Tree, "feature" | "threshold" | "left" | "right" | "defaultLeft">;

/** Where one part of the trees runs: the walk's arguments. */
export interface WalkPart {
  /** Address of the part's first tree record, and its trees. */
  trees: number;
  count: number;
  /** Its mask scratch and its contributions (float64, −1 just before). */
  mask: number;
  phi: number;
}

/**
 * The walk over tabled trees, in two parts: trees before `split` and the
 * rest, each adding into its own contributions, which
 * {@linkcode TabledWalk.addInto} sums part 0 + part 1. One thread runs both
 * parts; or a second thread, with a walk of part 1's trees alone, runs them
 * at the same time (`treeshap_threads.ts`) and its sums replace part 1's
 * ({@linkcode TabledWalk.sums}): the same adds in the same order either
 * way. (A memory shared by both threads would spare part 1's copy, but V8
 * runs the walk 15% slower over a shared memory: 44 -> 51 µs a row.)
 */
export class TabledWalk {
  readonly memory: WebAssembly.Memory;
  readonly parts: [WalkPart, WalkPart];
  readonly cols: number;
  readonly #row: Float32Array;
  readonly #acc: [Float64Array, Float64Array];
  readonly #explain: (...a: number[]) => void;

  constructor(init: { memory: WebAssembly.Memory; parts: [WalkPart, WalkPart]; cols: number }) {
    this.memory = init.memory;
    this.parts = init.parts;
    this.cols = init.cols;
    const buf = init.memory.buffer;
    this.#row = new Float32Array(buf, 0, 2 * init.cols);
    this.#acc = [
      new Float64Array(buf, init.parts[0].phi, init.cols),
      new Float64Array(buf, init.parts[1].phi, init.cols),
    ];
    this.#explain = walkInstance(init.memory);
  }

  /** Writes the doubled row and clears both parts' contributions. */
  load(x: ArrayLike<number>): void {
    const row = this.#row;
    for (let j = 0; j < this.cols; j++) {
      const v = x[j];
      row[2 * j] = v === v ? v : -Infinity;
      row[2 * j + 1] = v === v ? v : Infinity;
    }
    this.#acc[0].fill(0);
    this.#acc[1].fill(0);
  }

  /** Runs one part's trees over the loaded row. */
  run(part: 0 | 1): void {
    const p = this.parts[part];
    if (p.count > 0) this.#explain(p.trees, p.count, p.mask, 0, p.phi);
  }

  /** One part's contributions (a view of the walk's memory). */
  sums(part: 0 | 1): Float64Array {
    return this.#acc[part];
  }

  /** Adds part 0's plus part 1's contributions into `phi`. */
  addInto(phi: Float64Array): void {
    const [a, b] = this.#acc;
    for (let j = 0; j < this.cols; j++) phi[j] += a[j] + b[j];
  }

  /** Adds the ensemble's contributions for `x` into `phi`, both parts on this thread. */
  explain(x: ArrayLike<number>, phi: Float64Array): void {
    this.load(x);
    this.run(0);
    this.run(1);
    this.addInto(phi);
  }
}

/** The walk's function over `memory` (the module compiled once per thread). */
export function walkInstance(memory: WebAssembly.Memory): (...a: number[]) => void {
  MODULE ??= new WebAssembly.Module(explainModule());
  return new WebAssembly.Instance(MODULE, { env: { mem: memory } }).exports.explain as (
    ...a: number[]
  ) => void;
}

/**
 * The walk over tabled trees (every tree of the ensemble, in order; trees
 * from `split` on are its second part), or null without WebAssembly or when
 * a right child does not follow its left sibling.
 *
 * @param trees the tables, tree by tree
 * @param cols the rows' width
 * @param split the first tree of the second part
 * @returns the walk
 */
export function buildWasmExplain(
  trees: TabledTree[],
  cols: number,
  split: number,
): TabledWalk | null {
  if (typeof WebAssembly === "undefined") return null;
  // The walk writes a right child's mask next to its left sibling's.
  if (trees.some((t) => t.splits.some((i) => t.right[i] !== t.left[i] + 1))) return null;
  const splits = trees.reduce((s, t) => s + t.splits.length, 0);
  const pairs = trees.reduce((s, t) => s + t.pairs.length, 0);
  const singles = trees.reduce((s, t) => s + t.singles.length, 0);
  const leafFeats = trees.reduce((s, t) => s + t.feats.length, 0);
  const tables = trees.reduce((s, t) => s + t.table.length, 0);
  const maxNodes = trees.reduce((s, t) => Math.max(s, t.feature.length), 1);
  // The doubled row first, at address 0: a split reads it at its record's offset alone.
  const treesAt = (8 * cols + 31) & ~31;
  const splitsAt = treesAt + 32 * trees.length, pairsAt = splitsAt + 32 * splits;
  const singlesAt = pairsAt + 16 * pairs, featsAt = singlesAt + 16 * singles;
  const tablesAt = featsAt + 16 * leafFeats;
  // Per part: its mask scratch, then −1 (a cold feature's factor) and its contributions.
  const maskAt = [tablesAt + 8 * tables, 0], phiAt = [0, 0];
  phiAt[0] = ((maskAt[0] + 4 * maxNodes + 7) & ~7) + 8;
  maskAt[1] = (phiAt[0] + 8 * cols + 63) & ~63;
  phiAt[1] = ((maskAt[1] + 4 * maxNodes + 7) & ~7) + 8;
  const bytes = phiAt[1] + 8 * cols;
  const pages = Math.ceil(bytes / 65536);
  const memory = new WebAssembly.Memory({ initial: pages });
  const buf = memory.buffer;
  const i32s = new Int32Array(buf), f32s = new Float32Array(buf), f64s = new Float64Array(buf);
  let split_ = splitsAt, pair = pairsAt, single = singlesAt, feat = featsAt, table = tablesAt;
  trees.forEach((t, k) => {
    const part = k < split ? 0 : 1, masks = maskAt[part], phi = phiAt[part];
    const rec = (treesAt >> 2) + 8 * k;
    i32s.set([split_, t.splits.length, pair, t.pairs.length, single, t.singles.length], rec);
    const firstFeat = feat, firstTable = table;
    for (const i of t.splits) {
      const w = split_ >> 2;
      i32s[w] = 4 * (2 * t.feature[i] + (t.defaultLeft[i] ? 0 : 1));
      f32s[w + 1] = t.threshold[i];
      i32s[w + 2] = masks + 4 * i;
      i32s[w + 3] = masks + 4 * t.left[i];
      i32s[w + 4] = ~(1 << t.slot[i]);
      split_ += 32;
    }
    const leafRecord = (at: number, i: number) => {
      const w = at >> 2;
      i32s[w] = masks + 4 * i;
      i32s[w + 1] = firstTable + 8 * t.tableAt[i];
      i32s[w + 2] = firstFeat + 16 * t.featAt[i];
      i32s[w + 3] = t.width[i];
    };
    for (const i of t.pairs) {
      leafRecord(pair, i);
      i32s[(pair >> 2) + 3] = t.width[i] - 1;
      pair += 16;
    }
    for (const i of t.singles) {
      leafRecord(single, i);
      single += 16;
    }
    for (let j = 0; j < t.feats.length; j++, feat += 16) {
      i32s[feat >> 2] = phi + 8 * t.feats[j];
      f64s[(feat + 8) >> 3] = t.coef[j];
    }
    f64s.set(t.table, table >> 3);
    table += 8 * t.table.length;
  });
  f64s[(phiAt[0] - 8) >> 3] = -1;
  f64s[(phiAt[1] - 8) >> 3] = -1;
  const s = Math.min(split, trees.length);
  return new TabledWalk({
    memory,
    parts: [
      { trees: treesAt, count: s, mask: maskAt[0], phi: phiAt[0] },
      { trees: treesAt + 32 * s, count: trees.length - s, mask: maskAt[1], phi: phiAt[1] },
    ],
    cols,
  });
}
