import assert from "node:assert/strict";
import { join } from "node:path";
import pl from "nodejs-polars";
import { PredictionLog } from "../lib/serving/predlog.ts";
import { runTaskFile } from "../lib/testing/helpers.ts";
import { createApp } from "./app.ts";
import { fixtureHolder, recordsNow, servingFixture } from "./testing.ts";

Deno.test("live monitoring: drift on log:1h equals drift on the same rows' file; monitor counts feedback", async () => {
  const f = await servingFixture();
  const dir = await Deno.makeTempDir({ prefix: "fraudlab_monitor_" });
  const logPath = join(dir, "predictions.sqlite");
  const log = PredictionLog.open(logPath);
  // Served now: the records' times moved so the last is a minute ago (the server
  // clock is the real one, as `log:1h` reads it).
  const records = recordsNow(f);
  const app = createApp({
    models: await fixtureHolder(f, { clock: Date.now }),
    log,
    feedbackRate: null,
  });
  const res = await app.request("/v1/score/batch", {
    method: "POST",
    body: JSON.stringify(records),
    headers: { "content-type": "application/json" },
  });
  assert.equal(res.status, 200);
  const answers = await res.json() as { transaction_id: string; is_fraud: boolean }[];
  assert.equal(answers.length, f.records.length);
  // Late labels for every other transaction.
  const labels = f.ds.frame.getColumn(f.model.run.spec.label).cast(pl.Int8).toArray() as number[];
  let tp = 0, fp = 0, fn = 0, fed = 0;
  for (let i = 0; i < answers.length; i += 2) {
    const r = await app.request("/v1/feedback", {
      method: "POST",
      body: JSON.stringify({ transaction_id: answers[i].transaction_id, label: labels[i] }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(r.status, 200);
    fed++;
    if (answers[i].is_fraud && labels[i] === 1) tp++;
    if (answers[i].is_fraud && labels[i] === 0) fp++;
    if (!answers[i].is_fraud && labels[i] === 1) fn++;
  }
  log.close();

  const env = { FRAUDLAB_ARTIFACTS: f.root, FRAUDLAB_REPORTS: join(dir, "reports") };
  const live = await runTaskFile(
    "drift",
    ["--ref", "champion", "--cur", "log:1h", "--log", logPath, "--json"],
    { env },
  );
  assert.ok(live.code === 0 || live.code === 3, live.stderr);
  const file = await runTaskFile("drift", ["--ref", "champion", "--cur", f.ds.path, "--json"], {
    env: env,
  });
  assert.ok(file.code === 0 || file.code === 3, file.stderr);
  const a = JSON.parse(live.stdout), b = JSON.parse(file.stdout);
  assert.equal(a.current.rows, f.records.length);
  assert.equal(a.columns.length, b.columns.length);
  for (const col of b.columns) {
    const same = a.columns.find((c: { column: string }) => c.column === col.column);
    assert.deepEqual(same.result, col.result, `column ${col.column}: same test outcome`);
    assert.deepEqual(same.current, col.current, `column ${col.column}: same current stats`);
  }
  // Prediction drift from the scores the server gave; target drift from the labels fed back.
  assert.equal(
    a.prediction.alertRate.current,
    answers.filter((x) => x.is_fraud).length / answers.length,
  );
  assert.equal(a.target.current.rows, fed);
  let fedFrauds = 0;
  for (let i = 0; i < answers.length; i += 2) fedFrauds += labels[i];
  assert.equal(a.target.current.positives, fedFrauds);
  assert.ok(a.warnings.some((w: string) => /labels: \d+ of \d+/.test(w)));
  await Deno.stat(join(dir, "reports", "drift", "log_1h.html"));

  const mon = await runTaskFile("monitor", ["--window", "log:1h", "--log", logPath, "--json"], {
    env: env,
  });
  assert.equal(mon.code, 0, mon.stderr);
  const m = JSON.parse(mon.stdout);
  assert.equal(m.total.predictions, f.records.length);
  assert.equal(m.total.labeled, fed);
  assert.deepEqual([m.total.tp, m.total.fp, m.total.fn], [tp, fp, fn]);
  const text = await runTaskFile("monitor", ["--window", "log:1h", "--log", logPath], { env });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /precision/);
  assert.match(text.stdout, new RegExp(`total: ${f.records.length} predictions`));

  const missing = await runTaskFile("monitor", ["--log", join(dir, "nope.sqlite")], { env });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no prediction log at/);
});
