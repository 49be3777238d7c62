import assert from "node:assert/strict";
import { ensembleMargin } from "./gbdt.ts";
import { parseXgboostModel } from "./xgboost.ts";
import { treeExpectation, TreeShap } from "./treeshap.ts";

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/xgboost.json", import.meta.url)),
);

Deno.test("xgboost import: margins equal XGBoost's predict(output_margin=True) within 1e-5", () => {
  const e = parseXgboostModel(fixture.model, { what: "fixture", features: 6 });
  assert.equal(e.trees.length, 25);
  let worst = 0;
  fixture.rows.forEach((raw: (number | null)[], r: number) => {
    const row = Float32Array.from(raw, (v) => (v === null ? NaN : v));
    worst = Math.max(worst, Math.abs(ensembleMargin(e, row) - fixture.margins[r]));
  });
  assert.ok(worst < 1e-5, `largest difference ${worst}`);
  // TreeSHAP over the imported covers: contributions + expected value = margin.
  const shap = new TreeShap(e.maxDepth);
  const expected = e.base + e.trees.reduce((s, t) => s + treeExpectation(t), 0);
  for (const raw of fixture.rows.slice(0, 50)) {
    const row = Float32Array.from(raw as (number | null)[], (v) => (v === null ? NaN : v));
    const phi = new Float64Array(6);
    for (const t of e.trees) shap.explainTree(t, row, phi);
    const sum = phi.reduce((a, b) => a + b, 0) + expected;
    assert.ok(Math.abs(sum - ensembleMargin(e, row)) < 1e-9);
  }
});

Deno.test("xgboost import: another objective, a feature count that differs, or not a model, is refused", () => {
  const other = structuredClone(fixture.model);
  other.learner.objective.name = "reg:squarederror";
  assert.throws(
    () => parseXgboostModel(other, { what: "m.json" }),
    /m\.json: objective "reg:squarederror" is not binary:logistic/,
  );
  assert.throws(
    () => parseXgboostModel(fixture.model, { what: "m.json", features: 5 }),
    /the model has 6 features, the spec's numeric features are 5/,
  );
  assert.throws(
    () => parseXgboostModel({ weights: [] }, { what: "m.json" }),
    /not an XGBoost JSON model/,
  );
});
