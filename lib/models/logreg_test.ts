import assert from "node:assert/strict";
import { blobs } from "../testing/helpers.ts";
import { getKind } from "./mod.ts";

Deno.test("logreg: the gradient of the weighted objective vanishes at the fit", async () => {
  const { X, y } = blobs({ rows: 1500, cols: 4, seed: 4 });
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
