import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { HANDBOOK_TOTALS, simulateHandbook } from "../data/handbook.ts";
import { writeFrame } from "../data/write.ts";
import { loadDataset } from "../data/load.ts";
import { HANDBOOK_SPEC } from "../data/datasets.ts";
import { velocityColumnNames, velocityFeatures } from "./velocity.ts";
import { SMALL_HANDBOOK } from "./fixtures/write_handbook_small.ts";

Deno.test("the Handbook's feature set equals the book's pandas rules (fixture by make_handbook_features.py)", async () => {
  const path = await Deno.makeTempFile({ suffix: ".csv" });
  writeFrame(simulateHandbook(SMALL_HANDBOOK), path);
  const ds = await loadDataset(path, HANDBOOK_SPEC);
  await Deno.remove(path);
  const options = { rules: "handbook" as const, delayDays: 7, windowsDays: [1, 7, 30] };
  const ours = velocityFeatures(ds, options);
  const ref = pl.readCSV(
    new TextDecoder().decode(
      await Deno.readFile(new URL("./fixtures/handbook_features.csv", import.meta.url)),
    ),
    { inferSchemaLength: 0 }, // every column as text, read as numbers below
  );
  assert.equal(ref.height, ds.frame.height);
  const ids = ds.frame.getColumn("TRANSACTION_ID").toArray().map(Number);
  assert.deepEqual(ids, ref.getColumn("TRANSACTION_ID").toArray().map(Number));
  const names = velocityColumnNames(ds.spec.entities, options);
  assert.equal(names.length, 14); // with TX_AMOUNT, the book's 15 features
  for (const n of names) {
    const a = ours.getColumn(n).toArray() as number[];
    const b = ref.getColumn(n).cast(pl.Float64).toArray() as number[];
    for (let i = 0; i < a.length; i++) {
      assert.ok(
        Math.abs(a[i] - b[i]) <= 1e-9 * Math.max(1, Math.abs(b[i])),
        `${n} row ${i}: ${a[i]} vs ${b[i]}`,
      );
    }
  }
});

Deno.test("the Handbook's simulator: deterministic, the book's columns, and its fraud rules", () => {
  const a = simulateHandbook({ customers: 80, terminals: 150, days: 45, seed: 2 });
  const b = simulateHandbook({ customers: 80, terminals: 150, days: 45, seed: 2 });
  assert.ok(a.frameEqual(b));
  assert.ok(!a.frameEqual(simulateHandbook({ customers: 80, terminals: 150, days: 45, seed: 3 })));
  assert.deepEqual(a.columns, [
    "TRANSACTION_ID",
    "TX_DATETIME",
    "CUSTOMER_ID",
    "TERMINAL_ID",
    "TX_AMOUNT",
    "TX_TIME_SECONDS",
    "TX_TIME_DAYS",
    "TX_FRAUD",
    "TX_FRAUD_SCENARIO",
  ]);
  const col = (n: string) => a.getColumn(n).toArray().map(Number);
  const [id, sec, days, fraud, scenario, amount] = [
    col("TRANSACTION_ID"),
    col("TX_TIME_SECONDS"),
    col("TX_TIME_DAYS"),
    col("TX_FRAUD"),
    col("TX_FRAUD_SCENARIO"),
    col("TX_AMOUNT"),
  ];
  const text = a.getColumn("TX_DATETIME").toArray() as string[];
  const seen = new Set<number>();
  for (let i = 0; i < a.height; i++) {
    assert.equal(id[i], i);
    if (i > 0) assert.ok(sec[i] >= sec[i - 1], "sorted by time");
    assert.equal(days[i], Math.floor(sec[i] / 86_400));
    assert.equal(Date.parse(text[i] + "Z"), Date.UTC(2018, 3, 1) + sec[i] * 1000);
    assert.equal(fraud[i], scenario[i] > 0 ? 1 : 0);
    // Scenario 1 is every amount above 220 that no later scenario took over.
    if (scenario[i] === 1) assert.ok(amount[i] > 220);
    if (scenario[i] === 0) assert.ok(amount[i] <= 220);
    seen.add(scenario[i]);
  }
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3]);
});

/** The rows as the fixture's generator hashes them: seconds, customer, terminal, amount (Python's repr), fraud, scenario. */
async function rowsSha256(frame: pl.DataFrame): Promise<string> {
  const col = (n: string) => frame.getColumn(n).toArray().map(Number);
  const [s, c, t, a, f, sc] = [
    "TX_TIME_SECONDS",
    "CUSTOMER_ID",
    "TERMINAL_ID",
    "TX_AMOUNT",
    "TX_FRAUD",
    "TX_FRAUD_SCENARIO",
  ].map(col);
  const repr = (x: number) => (Number.isInteger(x) ? `${x}.0` : String(x));
  const text = s.map((_, i) => `${s[i]},${c[i]},${t[i]},${repr(a[i])},${f[i]},${sc[i]}`).join("\n");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("the book's draws rebuild the book's data set: its 1,754,155 transactions and 14,681 frauds, and every row of the notebook's code (fixture by make_handbook_book.py)", async () => {
  const fixture = JSON.parse(
    await Deno.readTextFile(new URL("../data/fixtures/handbook_book.json", import.meta.url)),
  );
  for (const w of [fixture.small, fixture.full]) {
    const frame = simulateHandbook({
      customers: w.customers,
      terminals: w.terminals,
      days: w.days,
    });
    assert.equal(frame.height, w.rows);
    assert.equal(Number(frame.getColumn("TX_FRAUD").sum()), w.frauds);
    const sc = frame.getColumn("TX_FRAUD_SCENARIO").toArray().map(Number);
    assert.deepEqual([1, 2, 3].map((k) => sc.filter((v) => v === k).length), w.scenarios);
    assert.equal(await rowsSha256(frame), w.sha256);
  }
  // The book's published totals.
  assert.equal(fixture.full.rows, HANDBOOK_TOTALS.transactions);
  assert.equal(fixture.full.frauds, HANDBOOK_TOTALS.frauds);
});
