import assert from "node:assert/strict";
import { assertClose } from "../testing/helpers.ts";
import { rocAuc } from "./metrics.ts";
import { Rng } from "../util/rng.ts";

function bruteAuc(y: number[], s: number[]): number {
  let u = 0, np = 0, nn = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 1) continue;
    np++;
    for (let j = 0; j < y.length; j++) {
      if (y[j] === 1) continue;
      u += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
    }
  }
  for (const v of y) if (v !== 1) nn++;
  return u / (np * nn);
}

Deno.test("rocAuc: small known cases", () => {
  assert.deepEqual(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75);
  assert.deepEqual(rocAuc([0, 1], [1, 1]), 0.5);
  assert.deepEqual(rocAuc([0, 0, 1], [3, 2, 1]), 0);
  assert.deepEqual(Number.isNaN(rocAuc([0, 0], [1, 2])), true);
});

Deno.test("rocAuc: matches the pairwise definition with many ties", () => {
  const r = new Rng(3);
  const y: number[] = [], s: number[] = [];
  for (let i = 0; i < 600; i++) {
    y.push(r.bernoulli(0.2) ? 1 : 0);
    s.push(r.int(12) + (y[i] ? 2 : 0));
  }
  assertClose(rocAuc(y, s), bruteAuc(y, s), { tolerance: 1e-12 });
});
