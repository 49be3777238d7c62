import assert from "node:assert/strict";
import { averagePrecision, costCurve, prCurve, rocCurve, sweep } from "./curves.ts";
import {
  confusionAt,
  dailyPrecisionAtK,
  entityPrecisionAtK,
  precisionAtK,
  recallAtFpr,
} from "./metrics.ts";
import { chooseThreshold, formatStrategy, parseStrategy } from "./threshold.ts";
import { evaluateScores } from "./evaluate.ts";
import { Rng } from "../util/rng.ts";
import { assertClose } from "../testing/helpers.ts";

function randomCase(n: number, seed: number, levels = 20) {
  const r = new Rng(seed);
  const y: number[] = [], s: number[] = [];
  for (let i = 0; i < n; i++) {
    y.push(r.random() < 0.2 ? 1 : 0);
    s.push(Math.floor(r.random() * levels) + (y[i] ? 3 : 0)); // many ties
  }
  return { y, s };
}

/** AP by its definition over distinct thresholds (rule: score >= t). */
function bruteAp(y: number[], s: number[]): number {
  const ts = [...new Set(s)].sort((a, b) => b - a);
  const nPos = y.filter((v) => v === 1).length;
  let ap = 0, prev = 0;
  for (const t of ts) {
    let tp = 0, fp = 0;
    for (let i = 0; i < y.length; i++) if (s[i] >= t) y[i] ? tp++ : fp++;
    ap += (tp / nPos - prev) * (tp / (tp + fp));
    prev = tp / nPos;
  }
  return ap;
}

Deno.test("average precision: known value and the step definition with ties", () => {
  // scikit-learn's documented example: average_precision_score([0,0,1,1],[0.1,0.4,0.35,0.8]) = 0.8333…
  assertClose(averagePrecision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.8333333333333333, {
    tolerance: 1e-15,
  });
  for (let seed = 0; seed < 5; seed++) {
    const { y, s } = randomCase(500, seed);
    assertClose(averagePrecision(y, s), bruteAp(y, s), { tolerance: 1e-12, what: `seed ${seed}` });
  }
});

Deno.test("recall@1%FPR is the best TPR on the ROC curve with FPR <= 1%", () => {
  for (let seed = 0; seed < 5; seed++) {
    const { y, s } = randomCase(3000, seed, 400);
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

Deno.test("threshold strategies pick the documented thresholds", () => {
  const labels = [1, 1, 0, 1, 0, 0, 0, 0, 0, 0];
  const scores = [0.95, 0.9, 0.85, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05];
  const amounts = [100, 10, 1, 500, 1, 1, 1, 1, 1, 1];
  const pick = (s: string, extra: object = {}) =>
    chooseThreshold(parseStrategy(s), { labels, scores, amounts, ...extra }).threshold;
  assert.equal(pick("max-f1"), 0.6); // tp 3, fp 1 → F1 0.857
  assert.equal(pick("recall:0.6"), 0.9);
  assert.equal(pick("fpr:0"), 0.9);
  assert.equal(pick("fpr:0.15"), 0.6);
  assert.equal(pick("budget:2", { days: 1 }), 0.9);
  assert.equal(pick("budget:1", { days: 3 }), 0.85);
  // Fee 50: alerting down to 0.6 costs 4·50 = 200 (all fraud caught); the first two only 2·50 + 500 = 600.
  assert.equal(pick("cost:50"), 0.6);
  // Fee 1000 per alert: cheaper to alert nobody (610 of fraud lost).
  assert.equal(pick("cost:1000"), Infinity);
  assert.equal(pick("cost:5:1"), Infinity);
  assert.equal(formatStrategy(parseStrategy("cost:5:100")), "cost:5:100");
  assert.throws(() => parseStrategy("recall:2"), /target recall must be a number in \[0, 1\]/);
  assert.throws(() => parseStrategy("best"), /unknown threshold strategy "best"/);
  assert.throws(
    () => chooseThreshold(parseStrategy("cost:5"), { labels, scores }),
    /no amount column/,
  );
});

Deno.test("curves: ROC ends at (1,1), PR recall reaches 1, cost curve starts at no alerts", () => {
  const { y, s } = randomCase(800, 9);
  const sw = sweep(y, s, y.map(() => 10));
  const roc = rocCurve(sw), pr = prCurve(sw);
  assert.deepEqual([roc.x.at(-1), roc.y.at(-1)], [1, 1]);
  assert.equal(pr.x.at(-1), 1);
  const cost = costCurve(sw, { alertFee: 1 });
  assert.equal(cost.x[0], 0);
  assert.equal(cost.y[0], sw.nPos * 10);
  const ev = evaluateScores({ labels: y, scores: Float32Array.from(s), threshold: 10 });
  assert.equal(ev.metrics.rows, 800);
  assert.equal(
    ev.curves.histogram.negatives.reduce((a, b) => a + b, 0) +
      ev.curves.histogram.positives.reduce((a, b) => a + b, 0),
    800,
  );
});
