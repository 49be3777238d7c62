import assert from "node:assert/strict";
import { Rng } from "../util/rng.ts";
import { leafOf, type Tree } from "./trees.ts";
import { flattenTrees, scoreFlat } from "./trees_flat.ts";
import { completeTrees, planWalk, walkPlan } from "./trees_wasm.ts";

/** A random tree (children side by side, breadth-first): leaves at uneven depths down to `depth`. */
function randomTree(rng: Rng, shape: { cols: number; depth: number }): Tree {
  const feature: number[] = [], threshold: number[] = [], left: number[] = [], right: number[] = [];
  const defaultLeft: number[] = [], value: number[] = [];
  const depth: number[] = [0];
  for (let i = 0; i < depth.length; i++) {
    const split = depth[i] < shape.depth && (depth[i] < 2 || rng.random() < 0.7);
    feature.push(split ? Math.floor(rng.random() * shape.cols) : -1);
    threshold.push(split ? rng.normal() : 0);
    defaultLeft.push(rng.random() < 0.5 ? 1 : 0);
    value.push(split ? 0 : rng.normal());
    left.push(split ? depth.length : -1);
    right.push(split ? depth.length + 1 : -1);
    if (split) depth.push(depth[i] + 1, depth[i] + 1);
  }
  const m = feature.length;
  return {
    feature: Int32Array.from(feature),
    threshold: Float32Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    defaultLeft: Uint8Array.from(defaultLeft),
    value: Float64Array.from(value),
    cover: new Float64Array(m).fill(1),
    gain: new Float64Array(m),
  };
}

function rowsWithMissing(rng: Rng, shape: { rows: number; cols: number }) {
  const data = new Float32Array(shape.rows * shape.cols);
  for (let i = 0; i < data.length; i++) data[i] = rng.random() < 0.15 ? NaN : rng.normal();
  return { data, rows: shape.rows, cols: shape.cols, columns: [] };
}

Deno.test("complete-tree walk (WebAssembly, 16 rows in lockstep) equals a plain walk: uneven depths, missing values, any row count", () => {
  const rng = new Rng(4);
  const cols = 7;
  const trees = Array.from({ length: 37 }, (_, k) => randomTree(rng, { cols, depth: 1 + (k % 8) }));
  const plan = walkPlan(trees, cols);
  assert.ok("complete" in plan, "shallow trees take the complete layout");
  for (const rows of [1, 15, 16, 17, 1000, 1029]) {
    const X = rowsWithMissing(rng, { rows, cols });
    const margin = new Float64Array(rows).fill(0.25);
    planWalk(plan)(X, margin);
    for (let r = 0; r < rows; r++) {
      const row = X.data.subarray(r * cols, (r + 1) * cols);
      let want = 0.25;
      for (const t of trees) want += t.value[leafOf(t, row)];
      assert.equal(margin[r], want, `rows ${rows}, row ${r}`);
    }
  }
});

Deno.test("a tree deeper than the complete layout takes is walked flat, with the same margins", () => {
  const rng = new Rng(5);
  const cols = 5;
  const trees = [randomTree(rng, { cols, depth: 3 }), randomTree(rng, { cols, depth: 14 })];
  assert.equal(completeTrees(trees, cols), null);
  const plan = walkPlan(trees, cols);
  assert.ok("flat" in plan);
  const X = rowsWithMissing(rng, { rows: 300, cols });
  const a = new Float64Array(300), b = new Float64Array(300);
  planWalk(plan)(X, a);
  scoreFlat(flattenTrees(trees), X, b);
  assert.deepEqual(a, b);
});
