/**
 * Growing an Isolation Forest into flat typed arrays: the sampling, the
 * split rules and c(n) (the semantics are listed in `iforest.ts`).
 * @module
 */
import type { Matrix } from "../features/pipeline.ts";
import { Rng } from "../util/rng.ts";
import { progress } from "../util/progress.ts";
import { UserError } from "../util/errors.ts";

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
