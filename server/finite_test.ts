/**
 * Property test: whatever a client sends, every answer of every model kind
 * is a finite score or a 4xx, and hostile amounts at one terminal never
 * make the terminal's later transactions unscorable.
 */
import assert from "node:assert/strict";
import { simulateTransactions } from "../lib/data/simulate.ts";
import { writeFrame } from "../lib/data/write.ts";
import { kindNames } from "../lib/models/mod.ts";

import { ModelHolder } from "../lib/serving/holder.ts";
import { loadServedModel } from "../lib/serving/scorer.ts";
import { Rng } from "../lib/util/rng.ts";
import { createApp } from "./app.ts";
import { loadSpec } from "../lib/data/datasets.ts";
import { PredictionLog } from "../lib/serving/predlog.ts";
import { trainRun } from "../lib/jobs/train.ts";

const NOW = Date.UTC(2025, 1, 20, 12);

/** Values chosen to break arithmetic: extremes, subnormals, signed zero, huge counts, empty text. */
const HOSTILE: unknown[] = [
  1.7976931348623157e308,
  -1.7976931348623157e308,
  5e-324,
  -5e-324,
  -0,
  0,
  1e308,
  -1e308,
  3.4028235e38,
  1e38,
  -1e38,
  1e15,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  1e-300,
  "",
  null,
];

let kinds: ReturnType<typeof trainKinds> | null = null;

/** One small run of every model kind, trained once per test process. */
function servedKinds() {
  return kinds ??= trainKinds();
}

async function trainKinds() {
  const root = await Deno.makeTempDir({ prefix: "fraudlab_finite_" });
  const data = `${root}/train.parquet`;
  writeFrame(
    simulateTransactions({ customers: 150, days: 30, seed: 9, start: "2025-01-15", quiet: true }),
    data,
  );
  const out = [];
  for (const model of kindNames()) {
    const params: Record<string, number> = model === "autoencoder"
      ? { epochs: 2 }
      : model === "iforest"
      ? { trees: 30 }
      : model === "gbdt"
      ? { nEstimators: 30, maxDepth: 4 }
      : model === "rf"
      ? { nEstimators: 10, maxDepth: 6 }
      : model === "dt"
      ? { maxDepth: 6 }
      : {};
    const run = await trainRun({
      data,
      model,
      params,
      split: { method: "time", trainDays: 14, delayDays: 7, testDays: 7, validation: "random" },
      seed: 1,
    }, { root, quiet: true });
    out.push({ kind: model, model: await loadServedModel(`run:${run.id}`, root) });
  }
  await Deno.remove(root, { recursive: true }); // loaded: the files are no longer read
  return out;
}

/** A random record: mostly plausible fields, each replaced by a hostile value with some chance. */
function randomRecord(rng: Rng, i: number): Record<string, unknown> {
  const pick = <T>(a: T[]) => a[Math.floor(rng.random() * a.length)];
  const rec: Record<string, unknown> = {
    tx_id: `p${i}`,
    customer_id: `C${Math.floor(rng.random() * 50)}`,
    terminal_id: `T${Math.floor(rng.random() * 5)}`,
    amount: rng.random() * 200,
    device_risk: rng.random() < 0.5 ? null : rng.random(),
    distance_from_home: rng.random() * 50,
    channel: pick(["card_present", "online"]),
    merchant_category: pick(["grocery", "fuel", "travel", "electronics"]),
  };
  if (rng.random() < 0.5) {
    rec.tx_time = new Date(NOW - Math.floor(rng.random() * 20 * 86_400_000)).toISOString();
  }
  const swaps = Math.floor(rng.random() * 4);
  for (let k = 0; k < swaps; k++) {
    const field = pick(["amount", "device_risk", "distance_from_home", "amount", "customer_id"]);
    rec[field] = pick(HOSTILE);
  }
  if (rng.random() < 0.05) rec.channel = "";
  if (rng.random() < 0.02) rec.terminal_id = "";
  return rec;
}

Deno.test("every model kind: 100,000 random hostile records each answer a finite score or a 4xx", async () => {
  for (const { kind, model } of await servedKinds()) {
    const holder = new ModelHolder({ clock: () => NOW });
    await holder.swap(model);
    const app = createApp({ models: holder, log: null, now: () => NOW });
    const rng = new Rng(31);
    const statuses = new Map<number, number>();
    for (let i = 0; i < 100_000; i++) {
      const res = await app.request("/v1/score", {
        method: "POST",
        body: JSON.stringify(randomRecord(rng, i)),
        headers: { "content-type": "application/json" },
      });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const body = await res.json();
      if (res.status === 200) {
        assert.ok(Number.isFinite(body.score), `${kind}: score ${body.score}`);
        for (const r of body.reasons) {
          assert.ok(Number.isFinite(r.contribution), `${kind}: ${JSON.stringify(r)}`);
        }
      } else {
        assert.ok(res.status >= 400 && res.status < 500, `${kind}: ${res.status} ${body.detail}`);
      }
    }
    const ok = statuses.get(200) ?? 0;
    assert.ok(
      ok > 30_000 && (statuses.get(422) ?? 0) > 10_000,
      `${kind} ${JSON.stringify([...statuses])}`,
    );
  }
});

Deno.test("every model kind: hostile amounts at a terminal are refused and never blind it", async () => {
  for (const { kind, model } of await servedKinds()) {
    const holder = new ModelHolder({ clock: () => NOW });
    await holder.swap(model);
    const app = createApp({ models: holder, log: null, now: () => NOW });
    const send = async (amount: unknown, i: number) => {
      const res = await app.request("/v1/score", {
        method: "POST",
        body: JSON.stringify({
          tx_id: `x${i}`,
          customer_id: `C${i}`,
          terminal_id: "T00042",
          amount,
          device_risk: 0.1,
          distance_from_home: 3,
          channel: "online",
          merchant_category: "grocery",
        }),
        headers: { "content-type": "application/json" },
      });
      return { status: res.status, body: await res.json() };
    };
    for (const [i, a] of [1e308, -1e308, 1.7976931348623157e308].entries()) {
      const r = await send(a, i);
      assert.equal(r.status, 422, `${kind}: amount ${a} → ${JSON.stringify(r.body)}`);
      assert.equal(r.body.field, "amount");
      assert.equal(r.body.error, "out_of_range");
    }
    // The largest amounts a model takes, many times over: the terminal's mean stays finite.
    for (let i = 0; i < 50; i++) {
      const r = await send(kind === "iforest" ? 3e38 : 1e7, 100 + i);
      assert.equal(r.status, 200, `${kind}: ${JSON.stringify(r.body)}`);
    }
    for (let i = 0; i < 20; i++) {
      const r = await send(25 + i, 200 + i);
      assert.equal(r.status, 200, `${kind}: ${JSON.stringify(r.body)}`);
      assert.ok(Number.isFinite(r.body.score), `${kind}: later transaction at the terminal`);
    }
  }
});

Deno.test("a spec's declared range clamps a hostile amount (scored and logged clamped) instead of refusing it", async () => {
  const root = await Deno.makeTempDir({ prefix: "fraudlab_range_" });
  const data = `${root}/train.parquet`;
  writeFrame(
    simulateTransactions({ customers: 150, days: 30, seed: 9, start: "2025-01-15", quiet: true }),
    data,
  );
  const spec = { ...(await loadSpec("txsim")), name: "ranged", range: { amount: [0, 5000] } };
  await Deno.writeTextFile(`${root}/spec.json`, JSON.stringify(spec));
  const run = await trainRun({
    data,
    spec: `${root}/spec.json`,
    model: "logreg",
    split: { method: "time", trainDays: 14, delayDays: 7, testDays: 7, validation: "random" },
  }, { root, quiet: true });
  const holder = new ModelHolder({ clock: () => NOW });
  await holder.swap(await loadServedModel(`run:${run.id}`, root));
  const log = PredictionLog.open(":memory:");
  const app = createApp({ models: holder, log, now: () => NOW });
  const send = (amount: number, id: string) =>
    app.request("/v1/score", {
      method: "POST",
      body: JSON.stringify({
        tx_id: id,
        customer_id: "C1",
        terminal_id: "T1",
        amount,
        device_risk: null,
        distance_from_home: 2,
        channel: "online",
        merchant_category: "grocery",
      }),
      headers: { "content-type": "application/json" },
    });
  const huge = await send(1e308, "huge");
  assert.equal(huge.status, 200);
  const top = await send(5000, "top");
  assert.equal(top.status, 200);
  const [a, b] = [await huge.json(), await top.json()];
  assert.ok(Number.isFinite(a.score));
  const rows = log.predictions(0, Infinity);
  assert.equal(JSON.parse(rows[0].input).amount, 5000, "logged clamped");
  assert.equal((await send(-20, "neg")).status, 200);
  assert.equal(JSON.parse(log.predictions(0, Infinity)[2].input).amount, 0);
  // The clamped record scores as one at the bound would (the second also sees the first in its history).
  assert.ok(Number.isFinite(b.score));
  log.close();
  await Deno.remove(root, { recursive: true });
});
