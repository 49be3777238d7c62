import assert from "node:assert/strict";
import { getKind, resolveParams } from "./mod.ts";
import type { Matrix } from "../features/pipeline.ts";
import { Rng } from "../util/rng.ts";
import { assertClose } from "../testing/helpers.ts";

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

Deno.test("autoencoder: the typed-array engine follows TensorFlow.js step for step", async () => {
  // Same seeded initial weights and batch order: the hand-written backprop and
  // Adam must track tfjs's autodiff and optimizer (float64 vs float32 math).
  const { X } = blobs(2000, 6, 12);
  const kind = getKind("autoencoder");
  const losses: number[][] = [];
  for (const engine of ["typed", "tfjs"]) {
    const det = kind.create(
      resolveParams(kind, { engine, epochs: 3, batchSize: 64, validationFraction: 0 }),
    );
    const rep = await det.fit(X, undefined, { seed: 5, quiet: true });
    losses.push(rep.trainLoss as number[]);
  }
  assert.equal(losses[0].length, 3);
  for (let e = 0; e < 3; e++) {
    assertClose(losses[0][e], losses[1][e], {
      tolerance: 1e-4 * losses[1][e],
      what: `epoch ${e + 1} loss`,
    });
  }
  assert.ok(losses[0][2] < losses[0][0], "loss decreases");
});
