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

/** Explains rows of tree ensembles; one explanation at a time (it reuses its path buffer). */
export class TreeShap {
  /** Path entries, 4 numbers each: feature, zero fraction, one fraction, weight. */
  readonly #p: Float64Array;

  /**
   * @param maxDepth the deepest tree it will walk
   */
  constructor(maxDepth: number) {
    this.#p = new Float64Array(4 * (((maxDepth + 2) * (maxDepth + 3)) / 2));
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

  // Entry i of the path at `at` lives at p[4 * (at + i) ..]: feature, zero, one, weight.
  #extend(at: number, depth: number, zero: number, one: number, feat: number): void {
    const p = this.#p, e = 4 * (at + depth);
    p[e] = feat;
    p[e + 1] = zero;
    p[e + 2] = one;
    p[e + 3] = depth === 0 ? 1 : 0;
    for (let i = depth - 1; i >= 0; i--) {
      const w = 4 * (at + i) + 3;
      p[w + 4] += (one * p[w] * (i + 1)) / (depth + 1);
      p[w] = (zero * p[w] * (depth - i)) / (depth + 1);
    }
  }

  #unwind(at: number, depth: number, index: number): void {
    const p = this.#p, x = 4 * (at + index);
    const one = p[x + 2], zero = p[x + 1];
    let next = p[4 * (at + depth) + 3];
    for (let i = depth - 1; i >= 0; i--) {
      const w = 4 * (at + i) + 3;
      if (one !== 0) {
        const t = p[w];
        p[w] = (next * (depth + 1)) / ((i + 1) * one);
        next = t - (p[w] * zero * (depth - i)) / (depth + 1);
      } else {
        p[w] = (p[w] * (depth + 1)) / (zero * (depth - i));
      }
    }
    for (let i = index; i < depth; i++) {
      const e = 4 * (at + i);
      p[e] = p[e + 4];
      p[e + 1] = p[e + 5];
      p[e + 2] = p[e + 6];
    }
  }

  #unwoundSum(at: number, depth: number, index: number): number {
    const p = this.#p, x = 4 * (at + index);
    const one = p[x + 2], zero = p[x + 1];
    let next = p[4 * (at + depth) + 3], total = 0;
    for (let i = depth - 1; i >= 0; i--) {
      const w = 4 * (at + i) + 3;
      if (one !== 0) {
        const t = (next * (depth + 1)) / ((i + 1) * one);
        total += t;
        next = p[w] - (t * zero * (depth - i)) / (depth + 1);
      } else if (zero !== 0) {
        total += p[w] / zero / ((depth - i) / (depth + 1));
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
    const p = this.#p;
    const at = depth === 0 ? 0 : parentAt + depth;
    if (depth > 0) p.copyWithin(4 * at, 4 * parentAt, 4 * (parentAt + depth));
    this.#extend(at, depth, zero, one, feat);
    const f = tree.feature[node];
    if (f < 0) {
      const v = tree.value[node];
      for (let i = 1; i <= depth; i++) {
        const w = this.#unwoundSum(at, depth, i), e = 4 * (at + i);
        phi[p[e]] += w * (p[e + 2] - p[e + 1]) * v;
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
    while (k <= d && p[4 * (at + k)] !== f) k++;
    if (k <= d) {
      inZero = p[4 * (at + k) + 1];
      inOne = p[4 * (at + k) + 2];
      this.#unwind(at, d, k);
      d--;
    }
    this.#recurse(tree, row, phi, hot, at, d + 1, (tree.cover[hot] / w) * inZero, inOne, f);
    this.#recurse(tree, row, phi, cold, at, d + 1, (tree.cover[cold] / w) * inZero, 0, f);
  }
}
