import assert from "node:assert/strict";
import { assertClose, blobs } from "../testing/helpers.ts";
import { getKind, resolveParams } from "./mod.ts";

Deno.test("autoencoder: the typed-array engine follows TensorFlow.js step for step", async () => {
  // Same seeded initial weights and batch order: the hand-written backprop and
  // Adam must track tfjs's autodiff and optimizer (float64 vs float32 math).
  const { X } = blobs({ rows: 2000, cols: 6, seed: 12 });
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
