import assert from "node:assert/strict";
import { assertClose, randomCase } from "../testing/helpers.ts";
import {
  confusionAt,
  dailyPrecisionAtK,
  entityPrecisionAtK,
  precisionAtK,
  recallAtFpr,
  rocAuc,
} from "./metrics.ts";
import { Rng } from "../util/rng.ts";
import { sweep } from "./curves.ts";

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

Deno.test("recall@1%FPR is the best TPR on the ROC curve with FPR <= 1%", () => {
  for (let seed = 0; seed < 5; seed++) {
    const { y, s } = randomCase({ rows: 3000, seed: seed, levels: 400 });
    const r = recallAtFpr(y, s, { fpr: 0.01 });
    const sw = sweep(y, s);
    let best = 0;
    for (let i = 0; i < sw.thresholds.length; i++) {
      if (sw.fp[i] / sw.nNeg <= 0.01) best = Math.max(best, sw.tp[i] / sw.nPos);
    }
    assertClose(r.recall, best, { tolerance: 1e-12, what: `seed ${seed}` });
    assert.ok(r.achievedFpr <= 0.01);
  }
});

Deno.test("precision@k breaks ties by row order; confusion at a threshold", () => {
  assert.equal(precisionAtK([0, 1, 1], [5, 5, 1], { k: 1 }), 0); // row 0 comes first among the tie
  assert.equal(precisionAtK([1, 0, 1], [5, 5, 1], { k: 1 }), 1);
  assert.equal(precisionAtK([1, 0], [1, 2], { k: 10 }), 0.5);
  const c = confusionAt([1, 1, 0, 0, 1], [0.9, 0.2, 0.8, 0.1, 0.5], { threshold: 0.5 });
  assert.deepEqual([c.tp, c.fn, c.fp, c.tn], [2, 1, 1, 1]);
  assertClose(c.f1, 2 / 3, { tolerance: 1e-12 });
});

Deno.test("daily and entity precision@k follow the Handbook definitions", () => {
  const day = 86_400_000;
  const t = [0, 1, 2, day, day + 1, day + 2];
  const y = [1, 0, 0, 0, 1, 1];
  const s = [0.9, 0.8, 0.1, 0.7, 0.6, 0.5];
  const d = dailyPrecisionAtK(y, s, { timesMs: t, k: 2 });
  assert.deepEqual(d.days.map((x) => x.precision), [0.5, 0.5]);
  assert.equal(d.mean, 0.5);
  // Day 2: card A has max score 0.7 and a fraud (row 4); card B 0.5 fraud.
  const e = entityPrecisionAtK(y, s, {
    timesMs: t,
    entities: ["A", "B", "A", "A", "A", "B"],
    k: 1,
  });
  assert.deepEqual(e.days.map((x) => [x.n, x.precision]), [[2, 1], [2, 1]]);
  const e2 = entityPrecisionAtK(y, s, {
    timesMs: t,
    entities: ["A", "B", "C", "C", "D", "D"],
    k: 1,
  });
  assert.deepEqual(e2.days.map((x) => x.precision), [1, 0]);
});
