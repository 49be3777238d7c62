import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { parseDrift, simulateTransactions } from "./simulate.ts";
import { writeFrame } from "./write.ts";
import { loadDataset } from "./load.ts";
import { loadSpec } from "./datasets.ts";
import { sha256Hex } from "./fingerprint.ts";
import { UserError } from "../util/errors.ts";
import { runTaskFile } from "../testing/helpers.ts";

const BASE = { customers: 2000, days: 60, seed: 3, quiet: true };

function share(frame: pl.DataFrame, mask: pl.Expr): number {
  return frame.filter(mask).height / frame.height;
}

Deno.test("simulate: realistic prevalence, every base scenario, time order, sane fields", () => {
  const f = simulateTransactions(BASE);
  const rate = Number(f.getColumn("is_fraud").mean());
  assert.ok(rate >= 0.001 && rate <= 0.01, `fraud rate ${rate} outside 0.1%–1%`);
  const scenarios = new Set(f.getColumn("fraud_scenario").unique().toArray().map(Number));
  for (const s of [0, 1, 2, 3, 4]) assert.ok(scenarios.has(s), `scenario ${s} missing`);
  assert.ok(!scenarios.has(5), "night takeover only appears with the new_fraud drift");
  const t = f.getColumn("tx_time").cast(pl.Int64).toArray().map(Number);
  for (let i = 1; i < t.length; i++) assert.ok(t[i] >= t[i - 1], `row ${i} out of time order`);
  assert.ok(Number(f.getColumn("amount").min()) > 0);
  const cp = f.filter(pl.col("channel").eq(pl.lit("card_present")));
  assert.equal(
    cp.getColumn("device_risk").nullCount(),
    cp.height,
    "card-present rows have no device",
  );
  // Compromised cards move to card-not-present with large amounts far from home.
  const stolen = f.filter(pl.col("fraud_scenario").eq(3));
  assert.ok(share(stolen, pl.col("channel").eq(pl.lit("online"))) === 1);
  assert.ok(Number(stolen.getColumn("distance_from_home").mean()) > 100);
});

Deno.test("simulate: same options give byte-identical Parquet and CSV; another seed differs", async () => {
  const dir = await Deno.makeTempDir();
  const shas: string[] = [];
  for (const [i, seed] of [[0, 5], [1, 5], [2, 6]]) {
    const f = simulateTransactions({ ...BASE, customers: 300, days: 20, seed });
    writeFrame(f, `${dir}/${i}.parquet`);
    writeFrame(f, `${dir}/${i}.csv`);
    shas.push(
      sha256Hex(await Deno.readFile(`${dir}/${i}.parquet`)) +
        sha256Hex(await Deno.readFile(`${dir}/${i}.csv`)),
    );
  }
  assert.equal(shas[0], shas[1]);
  assert.notEqual(shas[0], shas[2]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("simulate: CSV and Parquet outputs load to the same frame", async () => {
  const dir = await Deno.makeTempDir();
  const f = simulateTransactions({ ...BASE, customers: 200, days: 10 });
  writeFrame(f, `${dir}/x.parquet`);
  writeFrame(f, `${dir}/x.csv`);
  const spec = await loadSpec("txsim");
  const a = await loadDataset(`${dir}/x.parquet`, spec),
    b = await loadDataset(`${dir}/x.csv`, spec);
  assert.ok(a.frame.frameEqual(b.frame, true), "frames differ");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("simulate: drift scenarios change the world from their date only", () => {
  const from = "2025-01-31";
  const split = pl.col("tx_time").lt(pl.lit(new Date(Date.UTC(2025, 0, 31))));
  const world = (scenario: Parameters<typeof parseDrift>[0]) =>
    simulateTransactions({
      ...BASE,
      drift: [parseDrift(`${scenario}@${from}`, { start: "2025-01-01", days: 60 })],
    });
  const before = (f: pl.DataFrame) => f.filter(split),
    after = (f: pl.DataFrame) => f.filter(split.not());
  const legit = pl.col("is_fraud").eq(0);

  const inflated = world("amount_inflation");
  const meanAmount = (f: pl.DataFrame) => Number(f.filter(legit).getColumn("amount").mean());
  const ratio = meanAmount(after(inflated)) / meanAmount(before(inflated));
  assert.ok(ratio > 1.18 && ratio < 1.32, `amount ratio ${ratio}`);

  const shifted = world("channel_shift");
  const online = pl.col("channel").eq(pl.lit("online"));
  assert.ok(share(after(shifted), online) > 1.6 * share(before(shifted), online));

  const cats = world("category_shift");
  const electronics = pl.col("merchant_category").eq(pl.lit("electronics"));
  assert.ok(share(after(cats), electronics) > 1.8 * share(before(cats), electronics));

  const novel = world("new_fraud");
  const s5 = pl.col("fraud_scenario").eq(5);
  assert.equal(before(novel).filter(s5).height, 0);
  assert.ok(after(novel).filter(s5).height > 20);
  const hours = after(novel).filter(s5).select(pl.col("tx_time").dt.hour().alias("h")).getColumn(
    "h",
  ).toArray().map(Number);
  assert.ok(hours.every((h: number) => h >= 1 && h < 5), "night takeover happens at night");

  const baseline = simulateTransactions(BASE);
  assert.ok(Math.abs(meanAmount(before(inflated)) / meanAmount(before(baseline)) - 1) < 0.02);
});

Deno.test("simulate: bad options are user errors", () => {
  assert.throws(() => parseDrift("meteor", { start: "2025-01-01", days: 30 }), UserError);
  assert.throws(
    () => parseDrift("new_fraud@2025-02-30", { start: "2025-01-01", days: 30 }),
    /expected a date YYYY-MM-DD/,
  );
  assert.throws(() => simulateTransactions({ days: 0, quiet: true }), /--days/);
  assert.throws(() => simulateTransactions({ start: "01/02/2025", quiet: true }), /--start/);
});

Deno.test("generate task: same arguments twice give the same sha256", async () => {
  const dir = await Deno.makeTempDir();
  const run = (out: string) =>
    runTaskFile("generate", [
      "--customers",
      "300",
      "--days",
      "15",
      "--seed",
      "7",
      "--drift",
      "channel_shift",
      "--quiet",
      "--out",
      out,
    ]);
  const a = await run(`${dir}/a.parquet`), b = await run(`${dir}/b.parquet`);
  assert.equal(a.code, 0, a.stderr);
  const sha = (s: string) => /sha256 ([0-9a-f]{64})/.exec(s)?.[1];
  assert.ok(sha(a.stdout));
  assert.equal(sha(a.stdout), sha(b.stdout));
  assert.equal(sha(a.stdout), sha256Hex(await Deno.readFile(`${dir}/b.parquet`)));
  const bad = await runTaskFile("generate", ["--customers", "ten", "--out", `${dir}/c.parquet`]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr.trim(), /^error: --customers: expected a whole number/);
  await Deno.remove(dir, { recursive: true });
});
