import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { simulateTransactions } from "../data/simulate.ts";
import { writeFrame } from "../data/write.ts";
import { trainRun } from "./train.ts";

Deno.test("train warns, in its result and run.json: too few frauds, validation AP 1.0, rows repeated across the split", async () => {
  const root = await Deno.makeTempDir();
  const frame = simulateTransactions({ customers: 150, days: 25, seed: 9, quiet: true });
  // Every row twice: a random split puts copies of fit rows in validation and test.
  const data = `${root}/twice.parquet`;
  writeFrame(pl.concat([frame, frame]), data);
  const run = await trainRun({
    data,
    model: "gbdt",
    params: { nEstimators: 20 },
    split: { method: "random", testFraction: 0.3 },
  }, { root, quiet: true });
  const kinds = run.warnings.map((w) => w.kind);
  assert.ok(kinds.includes("duplicates_across_split"), JSON.stringify(run.warnings));
  assert.ok(kinds.includes("few_validation_positives"), JSON.stringify(run.warnings));
  if (run.validation.averagePrecision === 1) assert.ok(kinds.includes("perfect_validation"));
  const stored = JSON.parse(await Deno.readTextFile(`${run.dir}/run.json`));
  assert.deepEqual(stored.warnings, run.warnings);
  // Repeats counted: about every validation and test row of the doubled data, next to none
  // of the same data once on a time split (a few simulated rows do coincide).
  const repeats = (r: typeof run) => {
    const w = r.warnings.find((w) => w.kind === "duplicates_across_split");
    const m = w ? /^(\d+) validation and (\d+) test/.exec(w.message)! : null;
    return m ? Number(m[1]) + Number(m[2]) : 0;
  };
  const parts = run.validationRows.length + run.testRows.length;
  assert.ok(repeats(run) > 0.5 * parts, `${repeats(run)} of ${parts}`);
  const once = `${root}/once.parquet`;
  writeFrame(frame, once);
  const clean = await trainRun({
    data: once,
    model: "gbdt",
    params: { nEstimators: 20 },
    split: { method: "time", trainDays: 7, delayDays: 2, testDays: 3, validationDays: 3 },
  }, { root, quiet: true });
  const cleanParts = clean.validationRows.length + clean.testRows.length;
  assert.ok(repeats(clean) < 0.01 * cleanParts, JSON.stringify(clean.warnings));
  assert.ok(clean.warnings.some((w) => w.kind === "few_fit_positives"));
  await Deno.remove(root, { recursive: true });
});
