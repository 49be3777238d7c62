import assert from "node:assert/strict";
import { join } from "node:path";
import { runTaskFile, tempFile } from "../testing/helpers.ts";
import { loadRun } from "../registry/runs.ts";
import { promote } from "../registry/aliases.ts";
import { loadServedModel } from "../serving/scorer.ts";
import { validateRecord } from "../serving/schema.ts";
import { importXgboostRun } from "./import.ts";
import { scoreWithRun } from "./evaluate.ts";

// Rows, labels and XGBoost 1.7's margins of a committed model (lib/models/fixtures/make_xgboost.py).
const fixture = JSON.parse(
  await Deno.readTextFile(new URL("../models/fixtures/xgboost.json", import.meta.url)),
);
const FEATURES = ["f0", "f1", "f2", "f3", "f4", "f5"];

async function fixtureFiles(): Promise<{ data: string; spec: string; model: string }> {
  const lines = [["id", ...FEATURES, "label"].join(",")];
  fixture.rows.forEach((row: (number | null)[], i: number) => {
    lines.push(
      [`t${i}`, ...row.map((v) => (v === null ? "" : String(v))), fixture.labels[i]].join(","),
    );
  });
  const data = await tempFile(lines.join("\n") + "\n");
  const spec = await tempFile(
    JSON.stringify({ name: "xgbfix", id: "id", label: "label", numeric: FEATURES }),
    ".json",
  );
  const model = await tempFile(JSON.stringify(fixture.model), ".json");
  return { data, spec, model };
}

Deno.test("import: an XGBoost model becomes a run whose scores are XGBoost's margins, promotable and served with reasons", async () => {
  const { data, spec, model } = await fixtureFiles();
  const root = await Deno.makeTempDir();
  const run = await importXgboostRun(model, { data, spec, seed: 1 }, { root, quiet: true });
  assert.equal(run.config.model, "gbdt");
  assert.equal(run.pipeline.impute, false);
  assert.deepEqual(run.pipeline.columns, FEATURES);
  // The stored run scores every row (missing values included) as XGBoost did.
  const loaded = await loadRun(run.id, root);
  const rows = Uint32Array.from(fixture.rows, (_: unknown, i: number) => i);
  const { scores } = await scoreWithRun(loaded, run.ds, { rows });
  let worst = 0;
  for (let i = 0; i < rows.length; i++) {
    worst = Math.max(worst, Math.abs(scores[i] - fixture.margins[i]));
  }
  assert.ok(worst < 1e-5, `largest difference ${worst}`);
  assert.ok(run.test.averagePrecision! > 0.5, `test AP ${run.test.averagePrecision}`);
  const runJson = JSON.parse(await Deno.readTextFile(join(run.dir, "run.json")));
  assert.equal(runJson.source.format, "xgboost-json");
  assert.equal(runJson.source.trees, 25);

  // Promoted and served: a record with a missing value gets XGBoost's margin and TreeSHAP reasons.
  await promote(run.id, { root, model: "xgbfix", alias: "champion", reason: "imported" });
  const served = await loadServedModel("xgbfix@champion", root);
  const r = fixture.rows.findIndex((row: (number | null)[]) => row.includes(null));
  const record = Object.fromEntries(FEATURES.map((f, j) => [f, fixture.rows[r][j]]));
  const answer = served.score(validateRecord(served.schema, record), { id: "x", history: null });
  assert.ok(Math.abs(answer.score - fixture.margins[r]) < 1e-5, `${answer.score}`);
  assert.equal(answer.reasons.length, 3);
});

Deno.test("import task: a model whose features differ from the spec, or a file that is not JSON, is one error line", async () => {
  const { data, model } = await fixtureFiles();
  const five = await tempFile(
    JSON.stringify({ name: "five", label: "label", numeric: FEATURES.slice(0, 5) }),
    ".json",
  );
  const root = await Deno.makeTempDir();
  const env = { FRAUDLAB_ARTIFACTS: root };
  let r = await runTaskFile("import", ["--xgboost", model, "--data", data, "--spec", five], {
    env,
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr.trim(),
    /^error: .*the model has 6 features, the spec's numeric features are 5$/,
  );
  const renamed = await tempFile(
    JSON.stringify({ name: "ren", label: "label", numeric: ["f0", "f1", "f2", "f3", "f5", "f4"] }),
    ".json",
  );
  const named = structuredClone(fixture.model);
  named.learner.feature_names = FEATURES;
  const namedFile = await tempFile(JSON.stringify(named), ".json");
  r = await runTaskFile("import", ["--xgboost", namedFile, "--data", data, "--spec", renamed], {
    env,
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr.trim(), /feature 4 is "f4", the spec's numeric column 4 is "f5"$/);
  const notJson = await tempFile("binary\u0000model", ".ubj");
  r = await runTaskFile("import", ["--xgboost", notJson, "--data", data, "--spec", five], { env });
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split("\n").length, 1);
  assert.match(r.stderr, /not JSON/);
});
