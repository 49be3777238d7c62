import assert from "node:assert/strict";
import { tricky } from "../testing/helpers.ts";
import { getKind, resolveParams } from "./mod.ts";
import type { Ensemble } from "./gbdt.ts";
import { TreeShap } from "./treeshap.ts";
import { FastTreeShap } from "./treeshap_fast.ts";

async function ensemble(params: Record<string, unknown>): Promise<Ensemble> {
  const { X, y } = tricky({ rows: 5000, cols: 8, seed: 31 });
  const kind = getKind("gbdt");
  const det = kind.create(resolveParams(kind, { nEstimators: 30, ...params }));
  await det.fit(X, y, { seed: 2, quiet: true });
  return (det as unknown as { ensemble: Ensemble }).ensemble;
}

Deno.test("fast TreeSHAP (tabled per leaf) equals Algorithm 2, and its WebAssembly walk its JavaScript walk to the bit: depth-wise, leaf-wise and deep trees, missing values", async () => {
  const rows = tricky({ rows: 200, cols: 8, seed: 32 }).X;
  for (
    const params of [
      { maxDepth: 6, subsample: 0.8 },
      { maxDepth: 12, maxLeaves: 24 },
      { maxDepth: 3, colsampleBytree: 0.5 },
    ]
  ) {
    const e = await ensemble(params);
    const fast = new FastTreeShap(e.trees, { maxDepth: e.maxDepth });
    const js = new FastTreeShap(e.trees, { maxDepth: e.maxDepth, engine: "js" });
    assert.equal(fast.slowTrees, 0, JSON.stringify(params));
    assert.ok(fast.bytes > 0);
    const slow = new TreeShap(e.maxDepth);
    let worst = 0;
    for (let r = 0; r < rows.rows; r++) {
      const row = rows.data.subarray(r * 8, (r + 1) * 8);
      const a = new Float64Array(8), b = new Float64Array(8);
      for (const t of e.trees) slow.explainTree(t, row, a);
      fast.explain(row, b);
      // The WebAssembly walk adds what the JavaScript walk adds, in the same order.
      const c = new Float64Array(8);
      js.explain(row, c);
      assert.deepEqual(b, c);
      for (let j = 0; j < 8; j++) worst = Math.max(worst, Math.abs(a[j] - b[j]));
    }
    assert.ok(worst < 1e-9, `${JSON.stringify(params)}: largest difference ${worst}`);
  }
});

Deno.test("fast TreeSHAP past its memory budget explains the remaining trees by Algorithm 2, with the same values", async () => {
  const e = await ensemble({ maxDepth: 6 });
  const full = new FastTreeShap(e.trees, { maxDepth: e.maxDepth });
  const part = new FastTreeShap(e.trees, { maxDepth: e.maxDepth, budget: full.bytes / 3 });
  assert.ok(part.slowTrees > 0 && part.slowTrees < e.trees.length, `${part.slowTrees}`);
  const row = tricky({ rows: 1, cols: 8, seed: 33 }).X.data;
  const a = new Float64Array(8), b = new Float64Array(8);
  full.explain(row, a);
  part.explain(row, b);
  for (let j = 0; j < 8; j++) assert.ok(Math.abs(a[j] - b[j]) < 1e-9);
});
