import assert from "node:assert/strict";
import { Rng } from "../util/rng.ts";
import { addRows, histLength } from "./trees.ts";
import { HistKernel } from "./trees_hist.ts";

Deno.test("histogram kernel (WebAssembly SIMD) sums exactly what the JavaScript loop sums: every feature, a sample of them, gathered rows", () => {
  const rng = new Rng(3);
  const n = 5000, d = 13;
  const kernel = new HistKernel({ rows: n, cols: d, slots: 2 });
  for (let i = 0; i < n * d; i++) kernel.binned[i] = Math.floor(rng.random() * 256);
  for (let i = 0; i < n; i++) {
    kernel.g[i] = rng.normal();
    kernel.h[i] = rng.random();
  }
  // A node's rows: an ascending subset, as partitions leave them.
  let m = 0;
  for (let i = 0; i < n; i++) if (rng.random() < 0.3) kernel.order[m++] = i;
  const every = Int32Array.from({ length: d }, (_, j) => j);
  const some = Int32Array.of(1, 4, 5, 11);
  for (const features of [every, some]) {
    kernel.setFeatures(features);
    const got = kernel.add(1, 7, m - 3);
    const want = new Float64Array(histLength(features.length));
    addRows(want, { ...kernel, cols: d, features, start: 7, end: m - 3 });
    assert.deepEqual(got, want, `${features.length} features`);
    // A second kernel over the same memory (a worker's) reads the same data and features.
    const other = new HistKernel({ memory: kernel.memory, layout: kernel.layout, cols: d });
    other.readFeatures(features.length);
    assert.deepEqual(other.add(0, 7, m - 3), want);
  }
});
