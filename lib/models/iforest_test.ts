import assert from "node:assert/strict";
import { assertClose, blobs } from "../testing/helpers.ts";
import { getKind } from "./mod.ts";
import { averagePathLength, scoreForest } from "./iforest.ts";
import { float32AtMost, type Forest, ForestWalk } from "./iforest.ts";
import { forestSample } from "./iforest_fit.ts";
import type { Matrix } from "../features/pipeline.ts";

async function checkScoreOne(cols: number, wasm: boolean) {
  const { X } = blobs({ rows: 1500, cols: cols, seed: 9 });
  const kind = getKind("iforest");
  const det = kind.create({ ...kind.defaults, trees: 37 }); // not a multiple of the 4-tree lockstep
  await det.fit(X, undefined, { seed: 5, quiet: true });
  const forest = (det as unknown as { forest: Forest }).forest;
  // Narrow forests score one row in WebAssembly, wide ones in JavaScript;
  // both must give batch scoring's numbers.
  const walk = new ForestWalk(forest, { wasm });
  assert.equal(walk.usesWasm, wasm && cols <= 16);
  const batch = scoreForest(forest, X);
  const c = averagePathLength(forest.psi);
  const contrib = new Float32Array(X.cols);
  for (let r = 0; r < 300; r++) {
    const row = X.data.slice(r * X.cols, (r + 1) * X.cols);
    assert.equal(walk.scoreExplain(row, contrib), batch[r], `row ${r} score`);
    if (wasm) assert.equal(det.scoreOne!(row, new Float32Array(X.cols)), batch[r]);
    // Independent definition: walk each tree by its left/right links, share
    // the tree's shortfall c(psi) - h equally among the splits on the path.
    const naive = new Float64Array(X.cols);
    for (const root of forest.roots) {
      const path: number[] = [];
      let node = root;
      while (forest.feature[node] >= 0) {
        path.push(forest.feature[node]);
        node = row[forest.feature[node]] <= forest.threshold[node]
          ? forest.left[node]
          : forest.right[node];
      }
      for (const f of path) naive[f] += (c - forest.value[node]) / path.length;
    }
    for (let f = 0; f < X.cols; f++) {
      assertClose(contrib[f], naive[f] / forest.roots.length, {
        tolerance: 1e-5,
        what: `${cols} cols, row ${r} feature ${f}`,
      });
    }
  }
}

Deno.test("iforest: c(n) values, score range and explanation sums to c(psi) - E[h]", async () => {
  assert.equal(averagePathLength(1), 0);
  assert.equal(averagePathLength(2), 1);
  assertClose(averagePathLength(256), 2 * (Math.log(255) + 0.5772156649015329) - (2 * 255) / 256, {
    tolerance: 1e-12,
  });
  const { X } = blobs({ rows: 2000, cols: 4, seed: 2 });
  const kind = getKind("iforest");
  const det = kind.create(kind.defaults);
  await det.fit(X, undefined, { seed: 3, quiet: true });
  const s = det.score(X);
  for (const v of s) assert.ok(v > 0 && v < 1);
  const far = new Float32Array([8, 8, 8, 8]), center = new Float32Array([0, 0, 0, 0]);
  const m = (row: Float32Array) =>
    det.score({ data: row, rows: 1, cols: 4, columns: X.columns })[0];
  assert.ok(m(far) > 0.6 && m(center) < 0.5, `far ${m(far)} center ${m(center)}`);
  const c = averagePathLength(256);
  const eh = -c * Math.log2(m(far));
  const sum = Array.from(det.explain(far)).reduce((a, b) => a + b, 0);
  assertClose(sum, c - eh, { tolerance: 1e-4, what: "sum of contributions" });
});

Deno.test("iforest: parallel batch scoring gives exactly the single-thread scores", async () => {
  const { scoreForestParallel, PARALLEL_MIN_ROWS } = await import("./iforest.ts");
  const { X } = blobs({ rows: PARALLEL_MIN_ROWS + 1234, cols: 5, seed: 6 });
  const kind = getKind("iforest");
  const det = kind.create(kind.defaults) as unknown as { forest: import("./iforest.ts").Forest };
  await (det as unknown as import("./detector.ts").Detector).fit(X, undefined, {
    seed: 1,
    quiet: true,
  });
  const serial = scoreForest(det.forest, X);
  const parallel = await scoreForestParallel(det.forest, X);
  assert.equal(parallel.length, X.rows);
  assert.deepEqual(Array.from(parallel), Array.from(serial));
});

Deno.test("iforest: fitting on its sample of rows gives the forest fitted on every row", async () => {
  const { fitForest } = await import("./iforest.ts");
  const { X } = blobs({ rows: 20000, cols: 4, seed: 21 });
  const options = { trees: 50, maxSamples: 128, seed: 9 };
  const full = fitForest(X, options);
  const rows = forestSample(X.rows, options);
  assert.ok(rows.length <= 50 * 128 && rows.length > 128, `${rows.length} sampled rows`);
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i] > rows[i - 1], "ascending, distinct");
  const data = new Float32Array(rows.length * X.cols);
  rows.forEach((r, k) => data.set(X.data.subarray(r * X.cols, (r + 1) * X.cols), k * X.cols));
  const part: Matrix = { data, rows: rows.length, cols: X.cols, columns: X.columns };
  const sampled = fitForest(part, { ...options, sample: { of: X.rows, rows } });
  for (const key of ["feature", "threshold", "left", "right", "value", "roots"] as const) {
    assert.deepEqual(Array.from(sampled[key]), Array.from(full[key]), key);
  }
  // A sample that does not match X is refused rather than misread.
  assert.throws(
    () => fitForest(part, { ...options, sample: { of: X.rows, rows: rows.subarray(1) } }),
    /sample lists/,
  );
});

Deno.test("iforest: the lockstep scorer equals a plain walk of every tree, NaN going right", async () => {
  const { fitForest } = await import("./iforest.ts");
  const { X } = blobs({ rows: 3001, cols: 5, seed: 31 });
  const forest = fitForest(X, { trees: 30, maxSamples: 64, seed: 2 });
  X.data[7] = NaN; // row 1, feature 2
  X.data[5 * 100] = NaN;
  const got = scoreForest(forest, X);
  const { feature, threshold, left, right, value, roots } = forest;
  for (let r = 0; r < X.rows; r++) {
    let h = 0;
    for (const root of roots) {
      let node = root;
      while (feature[node] >= 0) {
        node = X.data[r * X.cols + feature[node]] <= threshold[node] ? left[node] : right[node];
      }
      h += value[node];
    }
    const want = Math.fround(Math.pow(2, -h / (roots.length * averagePathLength(64))));
    assert.equal(got[r], want, `row ${r}`);
  }
});

Deno.test("iforest: scoreOne equals batch scoring and a naive path walk's attribution", async () => {
  // 5 features: leaf credits kept dense, walked in WebAssembly; 20: kept sparse, in JavaScript.
  for (const cols of [5, 20]) await checkScoreOne(cols, true);
  // The JavaScript walks of a dense forest (what serves it without WebAssembly).
  await checkScoreOne(5, false);
});

Deno.test("iforest: float32AtMost is the largest float32 at or below a float64", () => {
  const f32 = (x: number) => Math.fround(x);
  const cases = [
    0.1,
    -0.1,
    1 / 3,
    -1 / 3,
    1e-46,
    -1e-46,
    0,
    1,
    2 ** 24 + 1,
    3.5e38,
    -3.5e38,
    1e-39,
  ];
  for (const t of cases) {
    const r = float32AtMost(t);
    assert.equal(f32(r), r, `${t}: result is a float32`);
    assert.ok(r <= t, `${t}: ${r} is at most t`);
    // The next float32 up is above t.
    const bits = new Float32Array([r]), i = new Int32Array(bits.buffer);
    if (r === 0 && Object.is(r, -0)) i[0] = 1;
    else if (r >= 0) i[0] += 1;
    else i[0] -= 1;
    assert.ok(bits[0] > t || !Number.isFinite(bits[0]), `${t}: next float32 ${bits[0]} is above t`);
  }
});
