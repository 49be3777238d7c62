import assert from "node:assert/strict";
import { tricky } from "../testing/helpers.ts";
import { contributionSummary } from "./explain.ts";
import { getKind, resolveParams } from "./mod.ts";

Deno.test("contribution summary: mean |SHAP| ranks the features the labels depend on first, with one point per row and feature", async () => {
  const { X, y } = tricky({ rows: 4000, cols: 6, seed: 3 });
  const kind = getKind("gbdt");
  const gbdt = kind.create(resolveParams(kind, { nEstimators: 40, maxDepth: 3, threads: 1 }));
  await gbdt.fit(X, y, { seed: 1, quiet: true });
  const s = contributionSummary(gbdt, X, { rows: 300, top: 4 });
  assert.equal(s.rows, 300);
  // Fraud is f0 > 1 with f1 missing or positive: those two carry the model.
  assert.deepEqual(s.features.slice(0, 2).map((f) => f.feature).sort(), ["f0", "f1"]);
  assert.equal(s.points.length, 4);
  assert.ok(s.points.every((p) => p.contributions.length === 300 && p.valueRanks.length === 300));
  // Each feature's mean |contribution| is the mean of its points' magnitudes (4 digits kept).
  const f0 = s.points.find((p) => p.feature === "f0")!;
  const mean = f0.contributions.reduce((a, c) => a + Math.abs(c), 0) / 300;
  const want = s.features.find((f) => f.feature === "f0")!.meanAbsContribution;
  assert.ok(Math.abs(mean - want) < 1e-3 * want, `${mean} vs ${want}`);
  // Ranks lie in [0, 1]; f1's missing values have none; f0's high values push the score up.
  const ranks = s.points.flatMap((p) => p.valueRanks);
  assert.ok(ranks.every((r) => r === null || (r >= 0 && r <= 1)));
  assert.ok(s.points.find((p) => p.feature === "f1")!.valueRanks.includes(null));
  const avg = (keep: (r: number) => boolean) => {
    const cs = f0.contributions.filter((_, k) => keep(f0.valueRanks[k]!));
    return cs.reduce((a, c) => a + c, 0) / cs.length;
  };
  assert.ok(avg((r) => r > 0.9) > avg((r) => r < 0.5) + 0.5);
});
