import assert from "node:assert/strict";
import { Rng } from "../util/rng.ts";
import { addRows, binRows, fitBins, histLength, MISSING_BIN, paddedCuts } from "./trees.ts";
import { HistKernel } from "./trees_hist.ts";

Deno.test("histogram kernel (WebAssembly SIMD) sums exactly what the JavaScript loop sums: every feature, a sample of them, gathered rows", () => {
  const rng = new Rng(3);
  const n = 5000, d = 13;
  const kernel = new HistKernel({ rows: n, cols: d, slots: 2 });
  for (let i = 0; i < n * d; i++) kernel.binned[i] = Math.floor(rng.random() * 256);
  for (let i = 0; i < n; i++) {
    kernel.gh[2 * i] = rng.normal();
    kernel.gh[2 * i + 1] = rng.random();
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

Deno.test("gradients kernel (WebAssembly, its own exp) equals the log-loss formula with Math.exp (relative 1e-12 beside p's rounding), extreme margins and odd row counts included", () => {
  const rng = new Rng(5);
  const n = 4001;
  const kernel = new HistKernel({ rows: n, cols: 2, slots: 1 });
  for (let i = 0; i < n; i++) {
    kernel.margin[i] = (rng.random() - 0.6) * 60;
    kernel.labels[i] = rng.random() < 0.1 ? 1 : 0;
  }
  kernel.margin.set([0, 1e-300, -745, 745, 2000, -2000, 36.7, -36.7], 0);
  for (const spw of [1, 0.37, 12.5]) {
    // Two calls, as two threads split the rows (the first from an even row).
    kernel.gradients(0, 2000, spw);
    kernel.gradients(2000, n, spw);
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + Math.exp(-kernel.margin[i])), y = kernel.labels[i];
      const w = y ? spw : 1;
      const g = (p - y) * w, h = Math.max(p * (1 - p), 1e-16) * w;
      const gotG = kernel.gh[2 * i], gotH = kernel.gh[2 * i + 1];
      assert.ok(Number.isFinite(gotG) && Number.isFinite(gotH), `row ${i}`);
      // p − y and 1 − p cancel near p = y: both formulas round p, so allow p's rounding (1e-15) besides.
      const near = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.abs(b) + 1e-15 * w;
      assert.ok(near(gotG, g), `g of margin ${kernel.margin[i]}: ${gotG} against ${g}`);
      assert.ok(near(gotH, h), `h of margin ${kernel.margin[i]}: ${gotH} against ${h}`);
    }
  }
});

Deno.test("partition kernel (WebAssembly, branch-free) splits a node's rows exactly as a stable partition: missing values either way", () => {
  const rng = new Rng(8);
  const n = 3000, d = 3;
  const kernel = new HistKernel({ rows: n, cols: d, slots: 1 });
  for (let i = 0; i < n * d; i++) {
    kernel.columns[i] = rng.random() < 0.1 ? 255 : Math.floor(rng.random() * 40);
  }
  for (const missingLeft of [0, 1]) {
    const rows = Int32Array.from({ length: n }, (_, i) => i).filter(() => rng.random() < 0.6);
    kernel.order.set(rows);
    const start = 5, end = rows.length - 7, bin = 17, feature = 1;
    const col = kernel.columns.subarray(feature * n, (feature + 1) * n);
    const goes = (i: number) => (col[i] === 255 ? missingLeft === 1 : col[i] <= bin);
    const part = rows.subarray(start, end);
    const want = [...part.filter(goes), ...part.filter((i) => !goes(i))];
    const left = kernel.split(start, end, { feature, bin, left: missingLeft });
    assert.equal(left, part.filter(goes).length);
    assert.deepEqual([...kernel.order.subarray(start, end)], want);
    assert.deepEqual([...kernel.order.subarray(0, start)], [...rows.subarray(0, start)]);
  }
});

Deno.test("binning: a value's bin counts the cuts at or below it, missing values go to bin 255, and two threads' ranges equal one pass", () => {
  const rng = new Rng(13);
  const n = 2001, d = 5;
  const data = new Float32Array(n * d);
  for (let i = 0; i < n * d; i++) {
    data[i] = rng.random() < 0.05 ? NaN : i % d === 0 ? Math.floor(rng.random() * 4) : rng.normal();
  }
  const X = { data, rows: n, cols: d, columns: [] };
  const bins = fitBins(X, { maxBins: 32 });
  const padded = paddedCuts(bins);
  const one = { binned: new Uint8Array(n * d), columns: new Uint8Array(n * d), rows: n };
  binRows({ data, cols: d, first: 0 }, padded, one, { start: 0, end: n });
  const two = { binned: new Uint8Array(n * d), columns: new Uint8Array(n * d), rows: n };
  binRows({ data, cols: d, first: 0 }, padded, two, { start: 0, end: 700 });
  binRows({ data: data.subarray(700 * d), cols: d, first: 700 }, padded, two, {
    start: 700,
    end: n,
  });
  assert.deepEqual(two, one);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const x = data[i * d + j], b = one.binned[i * d + j];
      const want = x !== x ? MISSING_BIN : bins.cuts[j].filter((c) => c <= x).length;
      assert.equal(b, want, `row ${i} feature ${j}`);
      assert.equal(one.columns[j * n + i], b);
    }
  }
  assert.equal(bins.cuts[0].length, 3, "a feature with 4 distinct values has 3 cuts");
});
