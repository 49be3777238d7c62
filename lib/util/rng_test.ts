import assert from "node:assert/strict";
import { assertClose } from "../testing/helpers.ts";
import { Rng } from "./rng.ts";

Deno.test("Rng: equal seeds give equal streams, different seeds differ", () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const sa = Array.from({ length: 100 }, () => a.nextUint32());
  const sb = Array.from({ length: 100 }, () => b.nextUint32());
  const sc = Array.from({ length: 100 }, () => c.nextUint32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
});

Deno.test("Rng: draws have the documented ranges and moments", () => {
  const r = new Rng(1);
  let sum = 0, sum2 = 0, psum = 0;
  const n = 200_000;
  for (let i = 0; i < n; i++) {
    const u = r.random();
    assert(u >= 0 && u < 1);
    const k = r.int(7);
    assert(Number.isInteger(k) && k >= 0 && k < 7);
    const z = r.normal(3, 2);
    sum += z;
    sum2 += z * z;
    psum += r.poisson(2.5);
  }
  const mean = sum / n, sd = Math.sqrt(sum2 / n - mean * mean);
  assertClose(mean, 3, { tolerance: 0.03 });
  assertClose(sd, 2, { tolerance: 0.03 });
  assertClose(psum / n, 2.5, { tolerance: 0.03 });
});

Deno.test("Rng: weighted picks follow cumulative weights", () => {
  const r = new Rng(5);
  const counts = [0, 0, 0];
  for (let i = 0; i < 60_000; i++) counts[r.weighted([1, 2, 6])]++;
  assertClose(counts[2] / 60_000, 4 / 6, { tolerance: 0.02 });
  assertClose(counts[0] / 60_000, 1 / 6, { tolerance: 0.02 });
});

Deno.test("Rng: rejects a non-finite seed", () => {
  let threw = false;
  try {
    new Rng(NaN);
  } catch {
    threw = true;
  }
  assert(threw);
});
