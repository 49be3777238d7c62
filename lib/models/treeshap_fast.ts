/**
 * Exact TreeSHAP with precomputation, in the spirit of Fast TreeSHAP v2
 * (Yang, 2021): the same Shapley values as Algorithm 2
 * (`treeshap.ts`), with the part that does not depend on the row computed
 * once per leaf.
 *
 * Per leaf, with the unique features P of its path (m of them), each
 * feature's zero fraction z_j (the product of the cover ratios of the path's
 * nodes that split on it) and, for a row, the set H of features whose every
 * path node the row follows ("hot"), the leaf's game is
 * g(S) = v · Π_{j∈S∩P} 1[j∈H] · Π_{j∈P∖S} z_j. Its Shapley values are
 *
 * - for a cold feature i (in P, not in H): −T(H), the same for all of them;
 * - for a hot feature i: (1 − z_i)/z_i · T(H ∖ {i}),
 *
 * with T(A) = v · Π_{j∈P∖A} z_j · Σ_{S⊆A} w(|S|, m) Π_{j∈A∖S} z_j and
 * w(s, m) = s!(m − s − 1)!/m!. T is tabled for every subset A of P (2^m
 * numbers a leaf), so a row costs one pass over the tree's nodes computing
 * H at every leaf (parents come before children) and m table reads a leaf: about T·L·D steps, against T·L·D² for
 * Algorithm 2. A tree with a zero fraction of 0 on some path, or a leaf
 * with more than {@linkcode FAST_MAX_PATH} unique features, or past the
 * memory budget, is explained by Algorithm 2 instead (same values).
 * @module
 */
import type { Tree } from "./trees.ts";
import { TreeShap } from "./treeshap.ts";
import {
  buildWasmExplain,
  TABLED_MAX_PATH,
  type TabledTree,
  type TabledWalk,
  type TableLayout,
} from "./treeshap_wasm.ts";

/** Most unique features a leaf's path may have for its table (2^12 numbers). */
export const FAST_MAX_PATH = TABLED_MAX_PATH;
/** Default budget of the tables (bytes). */
export const FAST_DEFAULT_BUDGET = 64 * 1024 * 1024;

/** One tree's precomputed tables, with its tree and its leaves in the walk's order. */
interface FastTree extends TableLayout {
  tree: Tree;
  /** Every leaf, in the walk's order (a pair's two leaves together). */
  leaves: Int32Array;
}

function factorials(n: number): Float64Array {
  const f = new Float64Array(n + 1);
  f[0] = 1;
  for (let i = 1; i <= n; i++) f[i] = f[i - 1] * i;
  return f;
}
const FACT = factorials(FAST_MAX_PATH + 1);

/** The tables of one tree, or null when it must be explained by Algorithm 2. */
function precompute(tree: Tree, budget: { bytes: number }): FastTree | null {
  const m = tree.feature.length;
  const slot = new Int32Array(m).fill(-1);
  const tableAt = new Int32Array(m).fill(-1), featAt = new Int32Array(m).fill(-1);
  const width = new Int32Array(m);
  const freshSplit = new Uint8Array(m);
  const feats: number[] = [], coef: number[] = [];
  const tables: Float64Array[] = [];
  let tableSize = 0;
  // Depth-first with the path's unique features and their zero fractions.
  const pathF: number[] = [], pathZ: number[] = [];
  let ok = true;
  const visit = (node: number) => {
    if (!ok) return;
    const f = tree.feature[node];
    if (f < 0) {
      const w = pathF.length;
      const size = 1 << w;
      // Too wide, a zero fraction of 0, or past the budget: stop before computing more tables.
      if (
        w > FAST_MAX_PATH || pathZ.some((z) => !(z > 0)) ||
        (tableSize + size + feats.length + w) * 8 > budget.bytes
      ) {
        ok = false;
        return;
      }
      tableAt[node] = tableSize;
      featAt[node] = feats.length;
      width[node] = w;
      for (let k = 0; k < w; k++) {
        feats.push(pathF[k]);
        coef.push((1 - pathZ[k]) / pathZ[k]);
      }
      const t = new Float64Array(size);
      const v = tree.value[node];
      // e[k] = elementary symmetric polynomial of degree k of the z's in A.
      const e = new Float64Array(w + 1);
      for (let A = 0; A < size; A++) {
        e.fill(0);
        e[0] = 1;
        let outside = 1, count = 0;
        for (let j = 0; j < w; j++) {
          if (A & (1 << j)) {
            count++;
            for (let k = count; k > 0; k--) e[k] += e[k - 1] * pathZ[j];
          } else outside *= pathZ[j];
        }
        // Σ_{S⊆A} w(|S|, w) Π_{A∖S} z = Σ_k w(|A| − k, w) e_k.
        // A coalition holds at most m − 1 features besides the one credited: T of the
        // full set is never read (it is stored as 0, so the branch-free reads stay finite).
        let sum = 0;
        for (let k = 0; k <= count; k++) {
          const s = count - k;
          if (s < w) sum += ((FACT[s] * FACT[w - s - 1]) / FACT[w]) * e[k];
        }
        if (count === w) sum = 0;
        t[A] = v * outside * sum;
      }
      tables.push(t);
      tableSize += size;
      return;
    }
    let k = pathF.indexOf(f);
    const fresh = k < 0;
    if (fresh) {
      k = pathF.length;
      pathF.push(f);
      pathZ.push(1);
    }
    slot[node] = k;
    freshSplit[node] = fresh ? 1 : 0;
    const before = pathZ[k], cover = tree.cover[node];
    for (const child of [tree.left[node], tree.right[node]]) {
      pathZ[k] = before * (tree.cover[child] / cover);
      visit(child);
    }
    pathZ[k] = before;
    if (fresh) {
      pathF.pop();
      pathZ.pop();
    }
  };
  visit(0);
  if (!ok) return null;
  budget.bytes -= (tableSize + feats.length) * 8;
  const table = new Float64Array(tableSize);
  let at = 0;
  for (const t of tables) {
    table.set(t, at);
    at += t.length;
  }
  const splits: number[] = [], sorted: number[] = [];
  for (let i = 0; i < m; i++) (tree.feature[i] >= 0 ? splits : sorted).push(i);
  sorted.sort((a, b) => width[a] - width[b] || a - b);
  const isLeaf = (i: number) => tree.feature[i] < 0;
  // A merged pair: a split whose feature is new on its path and whose two children are leaves,
  // the right one next; its leaves share their path features, the split's the last of them.
  const pairLeft = new Uint8Array(m);
  for (const p of splits) {
    const l = tree.left[p], r = tree.right[p];
    if (isLeaf(l) && isLeaf(r) && r === l + 1 && freshSplit[p] && slot[p] === width[l] - 1) {
      pairLeft[l] = 1;
    }
  }
  const pairs: number[] = [], singles: number[] = [];
  for (const i of sorted) {
    if (pairLeft[i]) pairs.push(i);
    else if (!(i > 0 && pairLeft[i - 1])) singles.push(i);
  }
  // Tables and feature records laid out in the order the walk reads them: a row's reads run
  // forward through memory (the tables do not fit the second-level cache). A pair's table,
  // 2^(w+1) numbers as its two leaves' were, is [M_0 | M_1 | V_0 | V_1], each over the 2^(w−1)
  // subsets y of the other features, d the row's way at the split (1: left), h its bit:
  // M_0[y] = T_L[y] + T_R[y|h], M_1[y] = T_L[y|h] + T_R[y] (both leaves' terms for another
  // feature, which has the same coefficient in both), V_0[y] = −T_L[y] + c_R·T_R[y] and
  // V_1[y] = c_L·T_L[y] − T_R[y] (the split feature's two terms).
  const sortedTable = new Float64Array(tableSize);
  const sortedFeats = new Int32Array(feats.length), sortedCoef = new Float64Array(coef.length);
  let tAt = 0, fAt = 0;
  const place = (leaf: number) => {
    const w = width[leaf];
    for (let k = 0; k < w; k++) {
      sortedFeats[fAt + k] = feats[featAt[leaf] + k];
      sortedCoef[fAt + k] = coef[featAt[leaf] + k];
    }
    featAt[leaf] = fAt;
    fAt += w;
  };
  for (const l of pairs) {
    const r = l + 1, w = width[l], q = w - 1, h = 1 << q;
    const tl = tableAt[l], tr = tableAt[r];
    const cl = coef[featAt[l] + q], cr = coef[featAt[r] + q];
    for (let y = 0; y < h; y++) {
      sortedTable[tAt + y] = table[tl + y] + table[tr + (y | h)];
      sortedTable[tAt + h + y] = table[tl + (y | h)] + table[tr + y];
      sortedTable[tAt + 2 * h + y] = -1 * table[tl + y] + cr * table[tr + y];
      sortedTable[tAt + 3 * h + y] = cl * table[tl + y] + -1 * table[tr + y];
    }
    tableAt[l] = tableAt[r] = tAt;
    tAt += 4 * h;
    place(l);
    place(r);
  }
  for (const leaf of singles) {
    const w = width[leaf];
    sortedTable.set(table.subarray(tableAt[leaf], tableAt[leaf] + (1 << w)), tAt);
    tableAt[leaf] = tAt;
    tAt += 1 << w;
    place(leaf);
  }
  const leaves = [...pairs.flatMap((l) => [l, l + 1]), ...singles];
  return {
    tree,
    slot,
    tableAt,
    featAt,
    width,
    feats: sortedFeats,
    coef: sortedCoef,
    table: sortedTable,
    splits: Int32Array.from(splits),
    pairs: Int32Array.from(pairs),
    singles: Int32Array.from(singles),
    leaves: Int32Array.from(leaves),
  };
}

/** What the WebAssembly walk reads of one tree. */
function tabledTree(f: FastTree): TabledTree {
  const { feature, threshold, left, right, defaultLeft } = f.tree;
  return {
    slot: f.slot,
    tableAt: f.tableAt,
    featAt: f.featAt,
    width: f.width,
    feats: f.feats,
    coef: f.coef,
    table: f.table,
    splits: f.splits,
    pairs: f.pairs,
    singles: f.singles,
    feature,
    threshold,
    left,
    right,
    defaultLeft,
  };
}

/**
 * Where an ensemble's trees are cut in two parts of about equal work (a
 * row's split records, leaves and leaf features), so two threads can walk
 * them at once; each part adds into its own sums and the two sums are added
 * last, so the values are the same on one thread or two.
 */
export function partsSplit(fast: (FastTree | null)[]): number {
  const cost = fast.map((f) => f ? f.splits.length + f.leaves.length + f.feats.length : 0);
  const total = cost.reduce((a, b) => a + b, 0);
  let sum = 0, k = 0;
  while (k < cost.length && sum + cost[k] / 2 < total / 2) sum += cost[k++];
  return k;
}

/** Explains rows of an ensemble with precomputed tables (see the module doc). */
export class FastTreeShap {
  readonly #fast: (FastTree | null)[];
  readonly #trees: Tree[];
  readonly #slow: TreeShap;
  /** Each node's hot mask during a walk (grown to the largest tree). */
  #mask = new Int32Array(0);
  /** Bytes the tables take. */
  readonly bytes: number;
  /** Trees explained by Algorithm 2 (no table). */
  readonly slowTrees: number;
  /** Tabled leaves, and their path features summed (a row's table reads). */
  readonly leaves: number;
  readonly leafFeatures: number;
  /** Merged leaf pairs (two leaves each). */
  readonly pairs: number;
  /** The first tree of the second part (see {@linkcode partsSplit}). */
  readonly split: number;
  /** The same walk in WebAssembly (when every tree has its tables). */
  readonly walk: TabledWalk | null;
  readonly #acc: [Float64Array, Float64Array];

  /**
   * @param trees the ensemble's trees
   * @param options the deepest tree, the tables' memory budget in bytes, and
   *   the engine (WebAssembly when every tree is tabled, unless "js")
   */
  constructor(
    trees: Tree[],
    options: { maxDepth: number; budget?: number; engine?: "wasm" | "js" },
  ) {
    const budget = { bytes: options.budget ?? FAST_DEFAULT_BUDGET };
    const start = budget.bytes;
    this.#trees = trees;
    this.#fast = trees.map((t) => precompute(t, budget));
    this.bytes = start - budget.bytes;
    this.slowTrees = this.#fast.filter((f) => f === null).length;
    this.leaves = this.#fast.reduce((s, f) => s + (f ? f.leaves.length : 0), 0);
    this.leafFeatures = this.#fast.reduce((s, f) => s + (f ? f.feats.length : 0), 0);
    this.pairs = this.#fast.reduce((s, f) => s + (f ? f.pairs.length : 0), 0);
    this.split = partsSplit(this.#fast);
    this.#slow = new TreeShap(options.maxDepth);
    const tabled = this.#fast.every((f) => f !== null) && options.engine !== "js";
    const cols = trees.reduce((m, t) => t.feature.reduce((a, f) => Math.max(a, f + 1), m), 1);
    this.walk = tabled
      ? buildWasmExplain(this.#fast.map((f) => tabledTree(f!)), cols, this.split)
      : null;
    this.#cols = cols;
    this.#acc = [new Float64Array(cols), new Float64Array(cols)];
  }

  readonly #cols: number;

  /**
   * The second part's tables, for a walk on another thread (whose sums
   * stand for the part's; null when the walk is not tabled).
   */
  secondPart(): { trees: TabledTree[]; cols: number } | null {
    if (!this.walk) return null;
    return { trees: this.#fast.slice(this.split).map((f) => tabledTree(f!)), cols: this.#cols };
  }

  #masks(nodes: number): Int32Array {
    if (this.#mask.length < nodes) this.#mask = new Int32Array(nodes);
    return this.#mask;
  }

  /**
   * Adds the ensemble's Shapley values for `row` into `phi`.
   *
   * @param row the row's features
   * @param phi per-feature contributions, added to
   */
  explain(row: ArrayLike<number>, phi: Float64Array): void {
    if (this.walk && row.length >= this.#cols && phi.length >= this.#cols) {
      this.walk.explain(row, phi);
      return;
    }
    const [a, b] = this.#acc;
    a.fill(0);
    b.fill(0);
    for (let k = 0; k < this.#trees.length; k++) this.#explainTree(k, row, k < this.split ? a : b);
    for (let j = 0; j < this.#cols; j++) phi[j] += a[j] + b[j];
  }

  #explainTree(k: number, row: ArrayLike<number>, phi: Float64Array): void {
    const ft = this.#fast[k];
    if (!ft) {
      this.#slow.explainTree(this.#trees[k], row, phi);
      return;
    }
    const { feature, threshold, left, right, defaultLeft } = ft.tree;
    const { slot, tableAt, featAt, width, feats, coef, table, splits, pairs, singles } = ft;
    // Parents come before their children: one pass over the splits sets every node's hot mask.
    const mask = this.#masks(feature.length);
    mask[0] = -1; // every feature hot
    for (let s = 0; s < splits.length; s++) {
      const node = splits[s], m = mask[node];
      const x = row[feature[node]];
      const goesLeft = x !== x ? defaultLeft[node] === 1 : x < threshold[node];
      const off = m & ~(1 << slot[node]);
      mask[left[node]] = goesLeft ? m : off;
      mask[right[node]] = goesLeft ? off : m;
    }
    // A leaf's term for its j-th feature: a hot feature takes its coefficient × T(H ∖ {j}),
    // a cold one −T(H) (branch-free).
    const term = (node: number, j: number) => {
      const w = width[node], H = mask[node] & ((1 << w) - 1), base = tableAt[node];
      const hot = (H >> j) & 1, fa = featAt[node];
      return hot * coef[fa + j] * table[base + (H ^ (1 << j))] - (1 - hot) * table[base + H];
    };
    // Merged pairs: d the row's way at the split, y the other features' hot set.
    for (let p = 0; p < pairs.length; p++) {
      const l = pairs[p], fa = featAt[l], q = width[l] - 1, h = 1 << q;
      const m = mask[l], d = (m >> q) & 1, y = m & (h - 1), base = tableAt[l] + d * h;
      for (let j = 0; j < q; j++) {
        const k = (y >> j) & 1 ? coef[fa + j] : -1;
        phi[feats[fa + j]] += k * table[base + (y & ~(1 << j))];
      }
      phi[feats[fa + q]] += table[base + 2 * h + y];
    }
    for (let q = 0; q < singles.length; q++) {
      const node = singles[q], fa = featAt[node];
      for (let j = 0; j < width[node]; j++) phi[feats[fa + j]] += term(node, j);
    }
  }
}
