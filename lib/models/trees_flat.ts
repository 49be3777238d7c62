/**
 * An ensemble's trees laid out for batch scoring: every node a 16-byte
 * record (split feature, left child's record offset — the right child is
 * the next record —, the default-left flag, the threshold as float32), all
 * trees back to back. A leaf splits on feature 0 at threshold NaN with its
 * left offset one record back, so it steps to itself: each row walks a
 * tree for exactly the tree's depth with no data-dependent branch, and
 * four rows walk in lockstep (as the Isolation Forest's scorer does).
 * Rows go in blocks, tree-major within a block, so one tree's records stay
 * in cache while the block walks it. Leaf values are summed in tree order,
 * as a plain walk sums them: the margins are identical.
 * @module
 */
import type { Matrix } from "../features/pipeline.ts";
import type { Tree } from "./trees.ts";

/** The flattened ensemble (see the module doc). */
export interface FlatTrees {
  /** 4 words a node: feature, left offset, default left, threshold (float32 bits). */
  node: Int32Array;
  /** The same words as float32 (the threshold slot). */
  thr: Float32Array;
  /** Leaf value per node (0 for splits). */
  value: Float64Array;
  /** Record offset of each tree's root. */
  roots: Int32Array;
  /** Depth of each tree. */
  depth: Int32Array;
}

/** Lays trees out for {@linkcode scoreFlat}; children must be side by side (right = left + 1). */
export function flattenTrees(trees: Tree[]): FlatTrees {
  const total = trees.reduce((s, t) => s + t.feature.length, 0);
  const node = new Int32Array(4 * total);
  const thr = new Float32Array(node.buffer);
  const value = new Float64Array(total);
  const roots = new Int32Array(trees.length), depth = new Int32Array(trees.length);
  let base = 0;
  trees.forEach((t, k) => {
    roots[k] = 4 * base;
    const m = t.feature.length;
    const d = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      const at = 4 * (base + i);
      if (t.feature[i] >= 0) {
        if (t.right[i] !== t.left[i] + 1) throw new Error("gbdt: children not side by side");
        node[at] = t.feature[i];
        node[at + 1] = 4 * (base + t.left[i]);
        node[at + 2] = t.defaultLeft[i];
        thr[at + 3] = t.threshold[i];
        d[t.left[i]] = d[t.right[i]] = d[i] + 1;
      } else {
        node[at] = 0;
        node[at + 1] = at - 4;
        node[at + 2] = 0;
        thr[at + 3] = NaN;
        value[base + i] = t.value[i];
        if (d[i] > depth[k]) depth[k] = d[i];
      }
    }
    base += m;
  });
  return { node, thr, value, roots, depth };
}

/**
 * Adds each tree's leaf value to `margin` for every row of X.
 *
 * @param flat the flattened trees
 * @param X the rows
 * @param margin one margin per row, added to
 */
export function scoreFlat(flat: FlatTrees, X: Matrix, margin: Float64Array): void {
  const { node, thr, value, roots, depth } = flat;
  const cols = X.cols, data = X.data, n = X.rows;
  const BLOCK = 2048;
  // Goes right unless x < threshold, or x is missing and the node sends missing values left.
  for (let start = 0; start < n; start += BLOCK) {
    const end = Math.min(start + BLOCK, n), end4 = start + ((end - start) & ~3);
    for (let t = 0; t < roots.length; t++) {
      const root = roots[t], levels = depth[t];
      for (let r = start; r < end4; r += 4) {
        const b0 = r * cols, b1 = b0 + cols, b2 = b1 + cols, b3 = b2 + cols;
        let n0 = root, n1 = root, n2 = root, n3 = root;
        for (let k = 0; k < levels; k++) {
          const x0 = data[b0 + node[n0]], x1 = data[b1 + node[n1]];
          const x2 = data[b2 + node[n2]], x3 = data[b3 + node[n3]];
          n0 = node[n0 + 1] +
            (4 & -(Number(!(x0 < thr[n0 + 3])) & ~(Number(x0 !== x0) & node[n0 + 2])));
          n1 = node[n1 + 1] +
            (4 & -(Number(!(x1 < thr[n1 + 3])) & ~(Number(x1 !== x1) & node[n1 + 2])));
          n2 = node[n2 + 1] +
            (4 & -(Number(!(x2 < thr[n2 + 3])) & ~(Number(x2 !== x2) & node[n2 + 2])));
          n3 = node[n3 + 1] +
            (4 & -(Number(!(x3 < thr[n3 + 3])) & ~(Number(x3 !== x3) & node[n3 + 2])));
        }
        margin[r] += value[n0 >> 2];
        margin[r + 1] += value[n1 >> 2];
        margin[r + 2] += value[n2 >> 2];
        margin[r + 3] += value[n3 >> 2];
      }
      for (let r = end4; r < end; r++) {
        const b = r * cols;
        let n0 = root;
        for (let k = 0; k < levels; k++) {
          const x = data[b + node[n0]];
          n0 = node[n0 + 1] +
            (4 & -(Number(!(x < thr[n0 + 3])) & ~(Number(x !== x) & node[n0 + 2])));
        }
        margin[r] += value[n0 >> 2];
      }
    }
  }
}
