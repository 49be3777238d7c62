import assert from "node:assert/strict";
import { assertClose, randomCase } from "../testing/helpers.ts";
import { averagePrecision, costCurve, prCurve, rocCurve, sweep } from "./curves.ts";
import { evaluateScores } from "./evaluate.ts";

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
    const { y, s } = randomCase({ rows: 500, seed: seed });
    assertClose(averagePrecision(y, s), bruteAp(y, s), { tolerance: 1e-12, what: `seed ${seed}` });
  }
});

Deno.test("curves: ROC ends at (1,1), PR recall reaches 1, cost curve starts at no alerts", () => {
  const { y, s } = randomCase({ rows: 800, seed: 9 });
  const sw = sweep(y, s, { amounts: y.map(() => 10) });
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
