/**
 * Batch scoring (`deno task score`) against the server: the same records,
 * scored by the job from a file and by `/v1/score` one by one in file
 * order, give the same scores, decisions, probabilities and reasons.
 */
import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { ModelHolder } from "../lib/serving/holder.ts";
import { PredictionLog } from "../lib/serving/predlog.ts";
import { loadServedModel } from "../lib/serving/scorer.ts";
import { warmFromFile } from "../lib/serving/warm.ts";
import { runScoreJob } from "../lib/jobs/score.ts";
import { trainRun } from "../lib/jobs/train.ts";
import { createApp } from "./app.ts";
import { type ServingFixture, servingFixture } from "./testing.ts";

/** The server's answers to the fixture's records, one request each, in order. */
async function serverAnswers(f: ServingFixture, ref: string, records: Record<string, unknown>[]) {
  const holder = new ModelHolder({ clock: f.now });
  holder.warm = async (m, history) => {
    await warmFromFile(history, { model: m, path: f.data });
  };
  await holder.swap(await loadServedModel(ref, f.root));
  const app = createApp({ models: holder, log: null, now: f.now, feedbackRate: null });
  const out = [];
  for (const r of records) {
    const res = await app.request("/v1/score", {
      method: "POST",
      body: JSON.stringify(r),
      headers: { "content-type": "application/json" },
    });
    out.push({ status: res.status, body: await res.json() });
  }
  return out;
}

/** The job's output rows (every column as text, as written). */
async function jobRows(path: string): Promise<Record<string, string | null>[]> {
  const df = pl.readCSV(await Deno.readTextFile(path), { inferSchemaLength: 0 });
  return df.toRecords() as Record<string, string | null>[];
}

async function assertSameAsServer(
  f: ServingFixture,
  ref: string,
  modelArg: string,
  records = f.records,
) {
  const dir = await Deno.makeTempDir();
  const next = `${dir}/next.csv`;
  // The fixture's request days as a CSV, the way a client would export them.
  pl.DataFrame(records).writeCSV(next);
  const out = `${dir}/scores.csv`;
  const r = await runScoreJob({
    model: modelArg,
    data: next,
    out,
    history: f.data,
    explain: "all",
    chunkRows: 700, // several parts: the history carries across them
    root: f.root,
    quiet: true,
  });
  assert.equal(r.rows, records.length);
  assert.equal(r.refused, 0);
  assert.ok(r.warm && r.warm.kept > 0);
  const rows = await jobRows(out);
  const answers = await serverAnswers(f, ref, records);
  assert.equal(rows.length, answers.length);
  let alerts = 0;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i], a = answers[i];
    assert.equal(a.status, 200, JSON.stringify(a.body));
    const b = a.body;
    assert.equal(row.tx_id, b.transaction_id);
    assert.equal(row.score, String(b.score), `row ${i}: score`);
    if (b.probability !== undefined) assert.equal(row.probability, String(b.probability));
    assert.equal(row.decision, b.is_fraud ? "alert" : "pass");
    if (b.is_fraud) alerts++;
    b.reasons.forEach(
      (reason: { feature: string; contribution: number; value: unknown }, k: number) => {
        assert.equal(row[`reason_${k + 1}`], reason.feature, `row ${i}: reason ${k + 1}`);
        assert.equal(Number(row[`contribution_${k + 1}`]), reason.contribution);
        assert.equal(row[`value_${k + 1}`], reason.value === null ? null : String(reason.value));
      },
    );
  }
  assert.equal(r.alerts, alerts);
  return r;
}

Deno.test("score job: the champion's scores and reasons equal the server's, record for record", async () => {
  const f = await servingFixture();
  const r = await assertSameAsServer(f, "champion", "champion");
  // The fixture's days in time order: each part's features value by value.
  assert.ok(r.velocityParts.grouped > 1, JSON.stringify(r.velocityParts));
  assert.equal(r.velocityParts.rows, 0);
});

Deno.test("score job: records out of time order, or an id twice, still equal the server's (row after row)", async () => {
  const f = await servingFixture();
  const records = f.records.map((r) => ({ ...r }));
  // Every 50th record an hour early, and one id given twice (the server counts it once).
  const time = f.ds.spec.time!;
  for (let i = 50; i < records.length; i += 50) {
    records[i][time] = new Date(Date.parse(String(records[i][time])) - 3_600_000).toISOString();
  }
  records[records.length - 10][f.ds.spec.id!] = records[records.length - 20][f.ds.spec.id!];
  const r = await assertSameAsServer(f, "champion", "champion", records);
  assert.ok(r.velocityParts.rows > 0, JSON.stringify(r.velocityParts));
});

Deno.test("score job: an id the history file already holds counts once, as in the server", async () => {
  const f = await servingFixture();
  const spec = f.ds.spec, time = spec.time!;
  // The history's last transaction sent again, then forty more of its customer a minute apart:
  // counted twice, it would raise each one's counts by one.
  const last = pl.readParquet(f.data).sort(time).tail(1).toRecords()[0] as Record<string, unknown>;
  const again: Record<string, unknown> = { ...f.records[0] };
  for (const k of Object.keys(again)) {
    if (k in last) again[k] = typeof again[k] === "string" ? String(last[k]) : last[k];
  }
  const t0 = last[time] instanceof Date
    ? (last[time] as Date).getTime()
    : Date.parse(String(last[time]));
  again[time] = new Date(t0).toISOString();
  again[spec.id!] = String(last[spec.id!]);
  const more = Array.from({ length: 40 }, (_, k) => ({
    ...again,
    [spec.id!]: `again-${k}`,
    [time]: new Date(t0 + (k + 1) * 60_000).toISOString(),
  }));
  await assertSameAsServer(f, "champion", "champion", [again, ...more]);
});

Deno.test("score job: a calibrated gbdt's scores, probabilities and reasons equal the server's", async () => {
  const f = await servingFixture();
  const run = await trainRun({
    data: f.data,
    model: "gbdt",
    params: { nEstimators: 30 },
    calibration: "platt",
    split: { method: "time", trainDays: 14, delayDays: 7, testDays: 7, validation: "random" },
    seed: 1,
  }, { root: f.root, quiet: true });
  const r = await assertSameAsServer(f, `run:${run.id}`, `run:${run.id}`);
  assert.equal(r.model.kind, "gbdt");
});

Deno.test("score job: a window of the prediction log re-scored gives the logged scores", async () => {
  const f = await servingFixture();
  const dir = await Deno.makeTempDir();
  const logPath = `${dir}/predictions.sqlite`;
  const log = PredictionLog.open(logPath);
  const holder = new ModelHolder({ clock: f.now });
  holder.warm = async (m, history) => {
    await warmFromFile(history, { model: m, path: f.data });
  };
  await holder.swap(await loadServedModel("champion", f.root));
  const app = createApp({ models: holder, log, now: f.now, feedbackRate: null });
  // Some records without their own time or id: the log keeps the server's.
  const records = f.records.slice(0, 600).map((r, i) =>
    i % 50 === 7 ? { ...r, tx_id: undefined } : r
  );
  for (const r of records) {
    const res = await app.request("/v1/score", {
      method: "POST",
      body: JSON.stringify(r),
      headers: { "content-type": "application/json" },
    });
    assert.equal(res.status, 200);
  }
  await log.closeWithin(10_000);
  const logged = PredictionLog.open(logPath, { worker: false });
  const want = logged.predictions(0, Date.UTC(2100, 0));
  logged.close();
  const out = `${dir}/rescored.csv`;
  const r = await runScoreJob({
    model: "champion",
    data: "log:2000-01-01..2100-01-01",
    log: logPath,
    history: f.data,
    out,
    chunkRows: 250,
    root: f.root,
    quiet: true,
  });
  assert.equal(r.rows, 600);
  const rows = await jobRows(out);
  assert.deepEqual(rows.map((x) => x.tx_id), want.map((p) => p.transaction_id));
  assert.deepEqual(rows.map((x) => Number(x.score)), want.map((p) => p.score));
  await assert.rejects(
    () =>
      runScoreJob({
        model: "champion",
        data: "log:1990-01-01..1990-02-01",
        log: logPath,
        out,
        root: f.root,
      }),
    /no predictions logged/,
  );
});

Deno.test("score job: a row the model cannot take is written as refused with its reason, and skips the history", async () => {
  const f = await servingFixture();
  const dir = await Deno.makeTempDir();
  const records = f.records.slice(0, 50).map((r) => ({ ...r }));
  records[10] = { ...records[10], amount: 1e308 };
  const data = `${dir}/next.csv`;
  pl.DataFrame(records).writeCSV(data);
  const out = `${dir}/scores.parquet`;
  const r = await runScoreJob({ model: "champion", data, out, root: f.root, quiet: true });
  assert.equal(r.rows, 50);
  assert.equal(r.refused, 1);
  assert.deepEqual(r.refusedBy, { out_of_range: 1 });
  const rows = pl.readParquet(out).toRecords();
  assert.equal(rows.length, 50);
  assert.equal(rows[10].decision, "refused");
  assert.equal(rows[10].score, null);
  assert.match(String(rows[10].error), /"amount" is too large in magnitude/);
  // The refused row never entered the history: the rest score as if it was not there.
  const without = records.filter((_, i) => i !== 10);
  const data2 = `${dir}/without.csv`;
  pl.DataFrame(without).writeCSV(data2);
  const out2 = `${dir}/without.csv.out.csv`;
  await runScoreJob({ model: "champion", data: data2, out: out2, root: f.root, quiet: true });
  const scores2 = (await jobRows(out2)).map((x) => x.score);
  const scores1 = rows.filter((_, i) => i !== 10).map((x) => String(x.score));
  assert.deepEqual(scores1, scores2);
});

Deno.test("score job: bad input is one clear error and leaves no output", async () => {
  const f = await servingFixture();
  const dir = await Deno.makeTempDir();
  const data = `${dir}/bad.csv`;
  const records = f.records.slice(0, 30).map((r) => ({ ...r }));
  pl.DataFrame(records).writeCSV(data);
  const text = (await Deno.readTextFile(data)).split("\n");
  text[25] = text[25].replace(/,(\d+\.\d+),/, ",twelve,"); // data row 25: a number that is not one
  await Deno.writeTextFile(data, text.join("\n"));
  const out = `${dir}/scores.csv`;
  await assert.rejects(
    () => runScoreJob({ model: "champion", data, out, chunkRows: 10, root: f.root, quiet: true }),
    /row 25 \(line 26\): "twelve" is not a number/,
  );
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["bad.csv"]);
  await assert.rejects(
    () => runScoreJob({ model: "champion", data, out: `${dir}/s.json`, root: f.root }),
    /expected a \.csv or \.parquet file/,
  );
});
