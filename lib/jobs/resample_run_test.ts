import assert from "node:assert/strict";
import { simulateHandbook } from "../data/handbook.ts";
import { writeFrame } from "../data/write.ts";
import { trainRun } from "./train.ts";

Deno.test("resampling touches the fit rows only: validation and test rows, and their frauds, are the same with and without it", async () => {
  const root = await Deno.makeTempDir();
  const data = `${root}/hb.parquet`;
  writeFrame(simulateHandbook({ customers: 600, terminals: 1200, days: 40, seed: 6 }), data);
  const base = {
    data,
    spec: "handbook",
    model: "logreg",
    split: { method: "time" as const, trainDays: 7, delayDays: 7, testDays: 7 },
    features: { velocity: { rules: "handbook" as const } },
  };
  const plain = await trainRun(base, { root, quiet: true });
  for (
    const resample of [
      "smote:ratio=0.5",
      "undersample:ratio=0.2",
      "smote+undersample:ratio=0.3,under=0.6",
    ]
  ) {
    const r = await trainRun({ ...base, resample }, { root, quiet: true });
    assert.deepEqual(r.validationRows, plain.validationRows, resample);
    assert.deepEqual(r.testRows, plain.testRows, resample);
    assert.equal(r.validation.positives, plain.validation.positives);
    assert.equal(r.test.rows, plain.test.rows);
    const fit = JSON.parse(await Deno.readTextFile(`${r.dir}/fit.json`));
    assert.equal(fit.rows, JSON.parse(await Deno.readTextFile(`${plain.dir}/fit.json`)).rows);
    assert.ok(fit.resampled.added > 0 || fit.resampled.removed > 0, JSON.stringify(fit.resampled));
    assert.equal(r.config.resample.split(":")[0], resample.split(":")[0]);
  }
  await assert.rejects(
    () => trainRun({ ...base, model: "iforest", resample: "smote" }, { root, quiet: true }),
    /does not learn from labels/,
  );
  await Deno.remove(root, { recursive: true });
});
