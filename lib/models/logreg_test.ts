import assert from "node:assert/strict";
import { getKind } from "./mod.ts";
import type { Matrix } from "../features/pipeline.ts";
import { Rng } from "../util/rng.ts";

/** Gaussian legit rows; fraud rows shifted on the first 3 features. */
function blobs(n: number, d: number, seed: number): { X: Matrix; y: Int8Array } {
  const rng = new Rng(seed);
  const data = new Float32Array(n * d), y = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.random() < 0.05 ? 1 : 0;
    for (let j = 0; j < d; j++) data[i * d + j] = rng.normal() + (y[i] && j < 3 ? 3 : 0);
  }
  return {
    X: { data, rows: n, cols: d, columns: Array.from({ length: d }, (_, j) => `f${j}`) },
    y,
  };
}

Deno.test("logreg: the gradient of the weighted objective vanishes at the fit", async () => {
  const { X, y } = blobs(1500, 4, 4);
  const kind = getKind("logreg");
  const det = kind.create(kind.defaults);
  await det.fit(X, y, { seed: 0, quiet: true });
  // Recompute the sklearn objective's gradient independently (balanced weights, C = 1).
  const n = X.rows, d = X.cols;
  let pos = 0;
  for (const v of y) pos += v;
  const w1 = n / (2 * pos), w0 = n / (2 * (n - pos));
  const z = det.score(X);
  const contrib0 = det.explain(new Float32Array(d).fill(1)); // = coef
  const grad = new Float64Array(d + 1);
  for (let i = 0; i < n; i++) {
    const p = 1 / (1 + Math.exp(-z[i]));
    const r = (y[i] ? w1 : w0) * (p - y[i]);
    for (let j = 0; j < d; j++) grad[j] += r * X.data[i * d + j];
    grad[d] += r;
  }
  for (let j = 0; j < d; j++) grad[j] += contrib0[j]; // + w / C
  for (const g of grad) assert.ok(Math.abs(g) < 1e-2, `gradient ${g}`);
});
