import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { velocityColumnNames, velocityFeatures } from "./velocity.ts";
import { simulateTransactions } from "../data/simulate.ts";
import { resolveSpec } from "../data/spec.ts";
import { TXSIM_SPEC } from "../data/datasets.ts";
import { UserError } from "../util/errors.ts";

const DAY = 86_400_000;
const WINDOWS = [1, 7];
const DELAY = 3;
const spec = resolveSpec(TXSIM_SPEC, { columns: [], isNumeric: () => true });

function world(seed = 2) {
  return simulateTransactions({ customers: 150, terminals: 60, days: 40, seed, quiet: true })
    .withColumns(pl.col("customer_id").cast(pl.Utf8), pl.col("terminal_id").cast(pl.Utf8));
}

function features(frame: pl.DataFrame) {
  return velocityFeatures({ frame, spec }, { windowsDays: WINDOWS, delayDays: DELAY });
}

function rowsOf(frame: pl.DataFrame): Record<string, unknown>[] {
  return frame.toRecords() as Record<string, unknown>[];
}

Deno.test("velocity: matches a brute-force reference of the window definitions", () => {
  const f = world();
  const feats = features(f);
  assert.deepEqual(
    feats.columns,
    velocityColumnNames(["customer_id", "terminal_id"], { windowsDays: WINDOWS }),
  );
  const t = f.getColumn("tx_time").cast(pl.Int64).toArray().map(Number);
  const amount = f.getColumn("amount").toArray() as number[];
  const y = f.getColumn("is_fraud").toArray().map(Number);
  const got = rowsOf(feats);
  for (const e of ["customer_id", "terminal_id"]) {
    const ent = f.getColumn(e).toArray() as string[];
    const byEntity = new Map<string, number[]>();
    ent.forEach((v, i) => byEntity.set(v, [...(byEntity.get(v) ?? []), i]));
    for (let i = 0; i < f.height; i += 7) {
      const mates = byEntity.get(ent[i])!;
      for (const w of WINDOWS) {
        const recent = mates.filter((j) => t[j] >= t[i] - w * DAY && t[j] < t[i]);
        const n = recent.length;
        const mean = n ? recent.reduce((s, j) => s + amount[j], 0) / n : null;
        const known = mates.filter((j) =>
          t[j] >= t[i] - (w + DELAY) * DAY && t[j] < t[i] - DELAY * DAY
        );
        const risk = known.length ? known.reduce((s, j) => s + y[j], 0) / known.length : 0;
        assert.equal(got[i][`${e}_n_${w}d`], n, `${e} n ${w}d row ${i}`);
        if (mean === null) assert.equal(got[i][`${e}_mean_amount_${w}d`], null);
        else assert.ok(Math.abs((got[i][`${e}_mean_amount_${w}d`] as number) - mean) < 1e-9);
        assert.ok(
          Math.abs((got[i][`${e}_risk_${w}d`] as number) - risk) < 1e-12,
          `${e} risk ${w}d row ${i}`,
        );
      }
    }
  }
  const hour = new Date(t[5]).getUTCHours(), dow = new Date(t[5]).getUTCDay();
  assert.equal(got[5].hour, hour);
  assert.equal(got[5].is_night, hour < 6 ? 1 : 0);
  assert.equal(got[5].is_weekend, dow === 0 || dow === 6 ? 1 : 0);
});

Deno.test("velocity: changing future labels or transactions leaves a row's features unchanged", () => {
  const f = world(4);
  const before = rowsOf(features(f));
  const t = f.getColumn("tx_time").cast(pl.Int64).toArray().map(Number);
  const cut = Math.floor(f.height * 0.6);
  const tc = t[cut];
  // The future: every later label flipped, every later amount tripled, and a burst of new rows.
  const isFuture = pl.col("tx_time").cast(pl.Int64).gt(tc);
  const changed = f.withColumns(
    pl.when(isFuture).then(pl.lit(1).sub(pl.col("is_fraud"))).otherwise(pl.col("is_fraud")).cast(
      pl.Int8,
    ).alias("is_fraud"),
    pl.when(isFuture).then(pl.col("amount").mul(3)).otherwise(pl.col("amount")).alias("amount"),
  );
  const extra = changed.filter(isFuture).head(200).withColumns(
    pl.col("tx_id").add(pl.lit(1_000_000).cast(pl.Int64)),
  );
  const after = rowsOf(features(pl.concat([changed, extra])));
  for (let i = 0; i < f.height; i++) {
    if (t[i] > tc) continue;
    assert.deepEqual(after[i], before[i], `row ${i} changed`);
  }
  // And rows after the cut did see the change (the test can fail).
  let differs = 0;
  for (let i = 0; i < f.height; i++) {
    if (t[i] > tc && JSON.stringify(after[i]) !== JSON.stringify(before[i])) differs++;
  }
  assert.ok(differs > 0);
});

Deno.test("velocity: labels younger than the delay, and the row's own label, are never used", () => {
  const f = world(6);
  const before = rowsOf(features(f));
  const t = f.getColumn("tx_time").cast(pl.Int64).toArray().map(Number);
  const i = Math.floor(f.height * 0.7);
  // Flip every label in (t_i − delay, t_i], the row's own included.
  const recent = pl.col("tx_time").cast(pl.Int64).gt(t[i] - DELAY * DAY).and(
    pl.col("tx_time").cast(pl.Int64).lt(t[i] + 1),
  );
  const flipped = f.withColumns(
    pl.when(recent).then(pl.lit(1).sub(pl.col("is_fraud"))).otherwise(pl.col("is_fraud")).cast(
      pl.Int8,
    ).alias("is_fraud"),
  );
  const after = rowsOf(features(flipped));
  assert.deepEqual(after[i], before[i]);
});

Deno.test("velocity: missing entities give nulls, bad options are user errors", () => {
  const f = world().head(300).withColumns(
    pl.when(pl.col("tx_id").eq(10)).then(pl.lit(null)).otherwise(pl.col("customer_id")).alias(
      "customer_id",
    ),
  );
  const feats = rowsOf(features(f));
  assert.equal(feats[10]["customer_id_n_1d"], null);
  assert.notEqual(feats[11]["customer_id_n_1d"], null);
  assert.throws(() => velocityFeatures({ frame: f, spec }, { windowsDays: [0] }), UserError);
  assert.throws(
    () => velocityFeatures({ frame: f, spec }, { entities: ["nope"] }),
    /entity column "nope"/,
  );
});
