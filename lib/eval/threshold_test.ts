import assert from "node:assert/strict";
import { chooseThreshold, formatStrategy, parseStrategy } from "./threshold.ts";

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
