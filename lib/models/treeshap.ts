/**
 * Exact TreeSHAP (Lundberg et al., "From local explanations to global
 * understanding with explainable AI for trees", 2020, Algorithm 2): the
 * Shapley values of a tree ensemble's margin for one row, where a feature
 * left out of a coalition is integrated over the training cover of the
 * nodes that split on it (path-dependent expectation). The contributions
 * plus the expected value (each tree's leaves weighted by their cover)
 * equal the row's margin.
 *
 * One walk of each tree with a path of (feature, zero fraction, one
 * fraction, weight) entries, extended at every node and unwound where a
 * feature repeats: about T·L·D² steps for T trees of L leaves and depth D.
 * The path lives in typed arrays allocated once per explainer.
 * @module
 */
import type { Tree } from "./trees.ts";

/** The expected value of a tree: its leaves' values weighted by their cover. */
export function treeExpectation(tree: Tree): number {
  const { feature, value, cover } = tree;
  let s = 0;
  for (let i = 0; i < feature.length; i++) if (feature[i] < 0) s += value[i] * cover[i];
  return s / cover[0];
}

/** Explains rows of tree ensembles; one explanation at a time (it reuses its path buffers). */
export class TreeShap {
  readonly #pf: Int32Array;
  readonly #pz: Float64Array;
  readonly #po: Float64Array;
  readonly #pw: Float64Array;

  /**
   * @param maxDepth the deepest tree it will walk
   */
  constructor(maxDepth: number) {
    const size = ((maxDepth + 2) * (maxDepth + 3)) / 2;
    this.#pf = new Int32Array(size);
    this.#pz = new Float64Array(size);
    this.#po = new Float64Array(size);
    this.#pw = new Float64Array(size);
  }

  /**
   * Adds one tree's Shapley values for `row` into `phi`.
   *
   * @param tree the tree
   * @param row the row's features
   * @param phi per-feature contributions, added to
   */
  explainTree(tree: Tree, row: ArrayLike<number>, phi: Float64Array): void {
    this.#recurse(tree, row, phi, 0, 0, 0, 1, 1, -1);
  }

  #extend(at: number, depth: number, zero: number, one: number, feat: number): void {
    const pf = this.#pf, pz = this.#pz, po = this.#po, pw = this.#pw;
    pf[at + depth] = feat;
    pz[at + depth] = zero;
    po[at + depth] = one;
    pw[at + depth] = depth === 0 ? 1 : 0;
    for (let i = depth - 1; i >= 0; i--) {
      pw[at + i + 1] += (one * pw[at + i] * (i + 1)) / (depth + 1);
      pw[at + i] = (zero * pw[at + i] * (depth - i)) / (depth + 1);
    }
  }

  #unwind(at: number, depth: number, index: number): void {
    const pf = this.#pf, pz = this.#pz, po = this.#po, pw = this.#pw;
    const one = po[at + index], zero = pz[at + index];
    let next = pw[at + depth];
    for (let i = depth - 1; i >= 0; i--) {
      if (one !== 0) {
        const t = pw[at + i];
        pw[at + i] = (next * (depth + 1)) / ((i + 1) * one);
        next = t - (pw[at + i] * zero * (depth - i)) / (depth + 1);
      } else {
        pw[at + i] = (pw[at + i] * (depth + 1)) / (zero * (depth - i));
      }
    }
    for (let i = index; i < depth; i++) {
      pf[at + i] = pf[at + i + 1];
      pz[at + i] = pz[at + i + 1];
      po[at + i] = po[at + i + 1];
    }
  }

  #unwoundSum(at: number, depth: number, index: number): number {
    const pz = this.#pz, po = this.#po, pw = this.#pw;
    const one = po[at + index], zero = pz[at + index];
    let next = pw[at + depth], total = 0;
    for (let i = depth - 1; i >= 0; i--) {
      if (one !== 0) {
        const t = (next * (depth + 1)) / ((i + 1) * one);
        total += t;
        next = pw[at + i] - (t * zero * (depth - i)) / (depth + 1);
      } else if (zero !== 0) {
        total += pw[at + i] / zero / ((depth - i) / (depth + 1));
      }
    }
    return total;
  }

  #recurse(
    tree: Tree,
    row: ArrayLike<number>,
    phi: Float64Array,
    node: number,
    parentAt: number,
    depth: number,
    zero: number,
    one: number,
    feat: number,
  ): void {
    // This node's path starts after its parent's (which holds depth entries).
    const at = depth === 0 ? 0 : parentAt + depth;
    if (depth > 0) {
      this.#pf.copyWithin(at, parentAt, parentAt + depth);
      this.#pz.copyWithin(at, parentAt, parentAt + depth);
      this.#po.copyWithin(at, parentAt, parentAt + depth);
      this.#pw.copyWithin(at, parentAt, parentAt + depth);
    }
    this.#extend(at, depth, zero, one, feat);
    const f = tree.feature[node];
    if (f < 0) {
      const v = tree.value[node];
      for (let i = 1; i <= depth; i++) {
        const w = this.#unwoundSum(at, depth, i);
        phi[this.#pf[at + i]] += w * (this.#po[at + i] - this.#pz[at + i]) * v;
      }
      return;
    }
    const x = row[f];
    const goesLeft = x !== x ? tree.defaultLeft[node] === 1 : x < tree.threshold[node];
    const hot = goesLeft ? tree.left[node] : tree.right[node];
    const cold = goesLeft ? tree.right[node] : tree.left[node];
    const w = tree.cover[node];
    let inZero = 1, inOne = 1, d = depth;
    let k = 0;
    while (k <= d && this.#pf[at + k] !== f) k++;
    if (k <= d) {
      inZero = this.#pz[at + k];
      inOne = this.#po[at + k];
      this.#unwind(at, d, k);
      d--;
    }
    this.#recurse(tree, row, phi, hot, at, d + 1, (tree.cover[hot] / w) * inZero, inOne, f);
    this.#recurse(tree, row, phi, cold, at, d + 1, (tree.cover[cold] / w) * inZero, 0, f);
  }
}
