/**
 * Shadow traffic (`serve --shadow NAME@challenger`): the challenger scores
 * every request beside the champion, is logged as a shadow row and never
 * answers; `monitor --compare` and `gate --live` read the comparison.
 */
import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { promote, readRegistry } from "../lib/registry/aliases.ts";
import { ModelHolder } from "../lib/serving/holder.ts";
import { PredictionLog } from "../lib/serving/predlog.ts";
import { loadServedModel } from "../lib/serving/scorer.ts";
import { warmFromFile } from "../lib/serving/warm.ts";
import { trainRun } from "../lib/jobs/train.ts";
import { compareLive, parseLogWindow } from "../lib/jobs/monitor.ts";
import { runGate } from "../lib/jobs/gate.ts";
import { createApp } from "./app.ts";
import { type ServingFixture, servingFixture } from "./testing.ts";

async function holderFor(f: ServingFixture, ref: string): Promise<ModelHolder> {
  const h = new ModelHolder({ clock: f.now });
  h.warm = async (m, history) => {
    await warmFromFile(history, { model: m, path: f.data });
  };
  await h.swap(await loadServedModel(ref, f.root));
  return h;
}

const post =
  (app: { request: (p: string, i: RequestInit) => Response | Promise<Response> }) =>
  async (path: string, body: unknown) => {
    const res = await app.request(path, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    });
    return { status: res.status, body: await res.json() };
  };

Deno.test("shadow: the champion answers, both are logged, the shadow scores as if it served, and the live gate decides", async () => {
  const f = await servingFixture();
  // A gbdt on the same data as the challenger of the fixture's model.
  const run = await trainRun({
    data: f.data,
    model: "gbdt",
    params: { nEstimators: 40 },
    split: { method: "time", trainDays: 14, delayDays: 7, testDays: 7, validation: "random" },
    seed: 1,
  }, { root: f.root, quiet: true });
  const name = f.model.name;
  await promote(run.id, { root: f.root, model: name, alias: "challenger" });
  const reg = await readRegistry(f.root);
  const cv = reg.models[name].aliases.challenger, chv = reg.models[name].aliases.champion;

  const dir = await Deno.makeTempDir();
  const logPath = `${dir}/predictions.sqlite`;
  const log = PredictionLog.open(logPath);
  const app = createApp({
    models: await holderFor(f, "champion"),
    shadow: await holderFor(f, `${name}@challenger`),
    log,
    now: f.now,
    feedbackRate: null,
  });
  const alone = createApp({ models: await holderFor(f, "champion"), log: null, now: f.now });
  const asChampion = createApp({
    models: await holderFor(f, `${name}@challenger`),
    log: null,
    now: f.now,
  });
  const labels = f.ds.frame.getColumn(f.ds.spec.label).cast(pl.Int8).toArray() as number[];
  const n = f.records.length;
  assert.ok(labels.slice(0, n).includes(1), "the request days hold frauds");
  const shadowAlone: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await post(app)("/v1/score", f.records[i]);
    assert.equal(r.status, 200);
    // The answer is the champion's, as if there were no shadow.
    const a = await post(alone)("/v1/score", f.records[i]);
    assert.deepEqual(r.body, a.body);
    shadowAlone.push((await post(asChampion)("/v1/score", f.records[i])).body.score);
    const fb = await post(app)("/v1/feedback", {
      transaction_id: r.body.transaction_id,
      label: labels[i],
    });
    assert.equal(fb.status, 200);
  }
  log.flush();
  const served = log.predictions(0, Date.UTC(2100, 0)),
    shadow = log.shadowPredictions(0, Date.UTC(2100, 0));
  assert.equal(served.length, n);
  assert.equal(shadow.length, n);
  assert.ok(served.every((r) => r.run_id === f.run.id));
  assert.ok(shadow.every((r) => r.run_id === run.id && r.version === cv));
  // The shadow's scores are what it answers when it serves itself (same features).
  assert.deepEqual(shadow.map((r) => r.score), shadowAlone);
  assert.deepEqual(served.map((r) => r.transaction_id), shadow.map((r) => r.transaction_id));
  // The served view and the daily summary do not count shadow rows.
  assert.equal(log.summary(0, Date.UTC(2100, 0)).reduce((s, r) => s + r.predictions, 0), n);

  const window = parseLogWindow("log:2000-01-01..2100-01-01");
  const c = compareLive(log, window);
  assert.equal(c.transactions, n);
  assert.equal(c.labeled, n);
  assert.equal(c.served.model, `${name}@${chv}`);
  assert.equal(c.shadow.model, `${name}@${cv}`);
  assert.ok(c.served.averagePrecision !== null && c.shadow.averagePrecision !== null);
  const metricsText = await (await app.request("/metrics")).text();
  assert.match(
    metricsText,
    /fraudlab_shadow_predictions_total\{model="[^"]+",version="\d+",result="(alert|pass)"\} \d+/,
  );

  // The gate from the live comparison: its decision follows the figures above.
  const g = await runGate({
    model: name,
    live: "log:2000-01-01..2100-01-01",
    log: logPath,
    root: f.root,
    dryRun: true,
  });
  const ap = g.comparisons.find((x) => x.metric === "averagePrecision")!;
  assert.equal(ap.champion, c.served.averagePrecision);
  assert.equal(ap.challenger, c.shadow.averagePrecision);
  assert.ok(["promote", "keep", "reject"].includes(g.decision));
  log.close();
});

Deno.test("shadow: a shadow that fails is counted and never reaches the answer", async () => {
  const f = await servingFixture();
  const shadow = await holderFor(f, "champion");
  // A shadow model whose scoring throws.
  const m = shadow.current!.model;
  m.score = () => {
    throw new Error("shadow broke");
  };
  const app = createApp({ models: await holderFor(f, "champion"), shadow, log: null, now: f.now });
  const r = await post(app)("/v1/score", f.records[0]);
  assert.equal(r.status, 200);
  const text = await (await app.request("/metrics")).text();
  assert.match(text, /fraudlab_shadow_predictions_total\{[^}]*result="failed"\} 1/);
});
