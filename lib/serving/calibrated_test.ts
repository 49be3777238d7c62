import assert from "node:assert/strict";
import { simulateHandbook } from "../data/handbook.ts";
import { writeFrame } from "../data/write.ts";
import { loadDataset } from "../data/load.ts";
import { trainRun } from "../jobs/train.ts";
import { promote } from "../registry/aliases.ts";
import { calibrate } from "../eval/calibrate.ts";
import { loadServedModel, shortestFloat32 } from "./scorer.ts";
import { datasetRecords } from "./records.ts";
import { validateRecord } from "./schema.ts";

Deno.test("a calibrated run answers a probability: its calibration of the score, in [0, 1], in the answer's JSON after the score", async () => {
  const root = await Deno.makeTempDir();
  const data = `${root}/hb.parquet`;
  writeFrame(simulateHandbook({ customers: 500, terminals: 1000, days: 40, seed: 8 }), data);
  for (const calibration of ["platt", "isotonic"] as const) {
    const run = await trainRun({
      data,
      spec: "handbook",
      model: "gbdt",
      params: { nEstimators: 30 },
      split: { method: "time", trainDays: 7, delayDays: 7, testDays: 7 },
      calibration,
    }, { root, quiet: true });
    assert.ok(run.test.calibration && run.test.calibration.brier < 0.25);
    await promote(run.id, { root });
    const model = await loadServedModel("champion", root);
    assert.equal(model.run.calibration?.method, calibration);
    const ds = await loadDataset(data, model.run.spec);
    const records = datasetRecords(ds, model.schema, { rows: run.testRows.subarray(0, 300) });
    let previous: { score: number; p: number } | null = null;
    for (const [i, r] of records.entries()) {
      const answer = model.score(validateRecord(model.schema, r), { history: null, id: `t${i}` });
      const p = answer.probability!;
      assert.ok(p >= 0 && p <= 1, `${p}`);
      // The answer's score reads back as the model's float32 score, and the probability as
      // its calibration, at the shortest float32 form.
      const raw = Math.fround(answer.score);
      assert.equal(p, shortestFloat32(Math.fround(calibrate(model.run.calibration!, raw))));
      if (previous && answer.score > previous.score) assert.ok(p >= previous.p);
      previous = { score: answer.score, p };
      const json = model.answerJson(answer);
      assert.deepEqual(Object.keys(JSON.parse(json)).slice(0, 3), [
        "transaction_id",
        "score",
        "probability",
      ]);
    }
  }
  await Deno.remove(root, { recursive: true });
});
