import assert from "node:assert/strict";
import { tricky } from "../testing/helpers.ts";
import { getKind, resolveParams } from "./mod.ts";
import type { Ensemble } from "./gbdt.ts";
import { FastTreeShap } from "./treeshap_fast.ts";
import { JOB_MAX, ThreadedTreeShap } from "./treeshap_threads.ts";

async function fitted(cols: number) {
  const { X, y } = tricky({ rows: 4000, cols, seed: 41 });
  const kind = getKind("gbdt");
  const det = kind.create(resolveParams(kind, { nEstimators: 60, maxDepth: 6 }));
  await det.fit(X, y, { seed: 3, quiet: true });
  return det;
}

async function untilReady(t: ThreadedTreeShap, row: Float32Array, phi: Float64Array) {
  // Up to a minute: under the parallel test run a worker can take seconds to load its modules.
  for (let i = 0; i < 6000 && !t.ready; i++) {
    t.explain(row, phi); // starts the worker; walked on this thread meanwhile
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(t.ready, "the explanation worker never came up");
}

Deno.test("two-thread TreeSHAP gives the one-thread contributions to the bit, across job-number wrap, and after close", async () => {
  const cols = 8;
  const det = await fitted(cols);
  const e = (det as unknown as { ensemble: Ensemble }).ensemble;
  const fast = new FastTreeShap(e.trees, { maxDepth: e.maxDepth });
  assert.ok(fast.split > 0 && fast.split < e.trees.length, `split ${fast.split}`);
  const rows = tricky({ rows: 400, cols, seed: 42 }).X; // with missing values
  const two = new ThreadedTreeShap(fast, { firstJob: JOB_MAX - 150 });
  try {
    await untilReady(two, rows.data.subarray(0, cols), new Float64Array(cols));
    // Every row the same as one thread's, whichever thread took its second part (when the
    // worker is not scheduled in time this thread takes it); until the worker took 50.
    for (let n = 0; n < 400 || (two.shared < 50 && n < 200_000); n++) {
      const r = n % rows.rows;
      const row = rows.data.subarray(r * cols, (r + 1) * cols);
      const a = new Float64Array(cols), b = new Float64Array(cols);
      fast.explain(row, a);
      two.explain(row, b);
      assert.deepEqual(b, a, `row ${r}`);
    }
    assert.ok(two.shared >= 50, `rows with the worker's half: ${two.shared}`);
    assert.equal(two.failures, 0);
  } finally {
    two.close();
  }
  assert.equal(two.ready, false);
  const row = rows.data.subarray(0, cols);
  const a = new Float64Array(cols), b = new Float64Array(cols);
  fast.explain(row, a);
  two.explain(row, b);
  assert.deepEqual(b, a);
});

Deno.test("a gbdt model serving reasons on two threads answers what it answers on one", async () => {
  const cols = 8;
  const det = await fitted(cols);
  const rows = tricky({ rows: 200, cols, seed: 43 }).X;
  const one = rows.data.subarray(0, cols);
  const base = Array.from({ length: rows.rows }, (_, r) => {
    const c = new Float32Array(cols);
    const s = det.scoreOne!(rows.data.subarray(r * cols, (r + 1) * cols), c);
    return { s, c };
  });
  det.explainThreads!(2);
  try {
    for (let i = 0; i < 50; i++) det.scoreOne!(one, new Float32Array(cols));
    await new Promise((r) => setTimeout(r, 200)); // the worker comes up
    for (let r = 0; r < rows.rows; r++) {
      const c = new Float32Array(cols);
      const s = det.scoreOne!(rows.data.subarray(r * cols, (r + 1) * cols), c);
      assert.equal(s, base[r].s);
      assert.deepEqual(c, base[r].c, `row ${r}`);
    }
  } finally {
    det.explainThreads!(1);
  }
});
