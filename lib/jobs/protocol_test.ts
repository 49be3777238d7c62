import assert from "node:assert/strict";
import { simulateHandbook } from "../data/handbook.ts";
import { writeFrame } from "../data/write.ts";
import { loadDataset } from "../data/load.ts";
import { HANDBOOK_SPEC } from "../data/datasets.ts";
import { labelsOf, stringColumn } from "../data/frame.ts";
import { timesMs } from "../features/velocity.ts";
import { resolveRunConfig } from "../registry/config.ts";
import { entityPrecisionAtK } from "../eval/metrics.ts";
import { DAY_MS } from "../util/time.ts";
import { splitForRun } from "./split.ts";

async function handbookData() {
  const path = await Deno.makeTempFile({ suffix: ".parquet" });
  writeFrame(simulateHandbook({ customers: 600, terminals: 1200, days: 70, seed: 4 }), path);
  const ds = await loadDataset(path, HANDBOOK_SPEC);
  await Deno.remove(path);
  return { ds, labels: labelsOf(ds) };
}

Deno.test("time split: out-of-time validation lies after the label delay and before test, and known-compromised cards leave validation and test", async () => {
  const data = await handbookData();
  const split = {
    method: "time" as const,
    trainDays: 14,
    delayDays: 7,
    testDays: 7,
    validationDays: 7,
  };
  const config = resolveRunConfig({ data: "x", spec: "handbook", model: "logreg", split });
  const s = splitForRun(config, data);
  const t = timesMs(data.ds.frame, "TX_DATETIME");
  const span = (rows: Uint32Array) => {
    let lo = Infinity, hi = -Infinity;
    for (const i of rows) [lo, hi] = [Math.min(lo, t[i]), Math.max(hi, t[i])];
    return { lo, hi };
  };
  const fit = span(s.fit), val = span(s.validation), test = span(s.test);
  assert.ok(val.lo >= fit.hi + 6 * DAY_MS, "validation starts a label delay after training");
  assert.ok(val.hi < test.lo, "validation ends before test starts");
  const fitSet = new Set(s.fit), valSet = new Set(s.validation);
  for (const i of s.validation) assert.ok(!fitSet.has(i));
  for (const i of s.test) assert.ok(!fitSet.has(i) && !valSet.has(i));
  // Every kept test row's card had no fraud from the training window on, known by its day
  // (at least the delay before it); and some rows were dropped by that rule.
  const cards = stringColumn(data.ds.frame, "CUSTOMER_ID");
  const fitStart = Math.floor(fit.lo / DAY_MS) * DAY_MS;
  for (const part of [s.validation, s.test]) {
    for (const r of part) {
      const knownBy = Math.floor(t[r] / DAY_MS) * DAY_MS - 7 * DAY_MS;
      for (let i = 0; i < t.length; i++) {
        if (data.labels[i] === 1 && cards[i] === cards[r] && t[i] >= fitStart) {
          assert.ok(t[i] >= knownBy, `row ${r}: its card had a fraud at row ${i}, known by then`);
        }
      }
    }
  }
  assert.ok(s.knownCompromised!.test > 0, JSON.stringify(s.knownCompromised));
  // Kept when asked: the test window then has those rows too.
  const keep = splitForRun(
    resolveRunConfig({ ...config, split: { ...split, compromised: "keep" as const } }),
    data,
  );
  assert.equal(keep.test.length, s.test.length + s.knownCompromised!.test);
});

Deno.test("card precision@k, the Handbook's variant: a card detected one day is not counted again", () => {
  const day = (d: number) => Date.UTC(2018, 7, 8 + d, 12);
  // Card A is fraud both days and ranked first each day; B legitimate; C fraud on day 2.
  const rows = [
    { t: day(0), card: "A", y: 1, s: 0.9 },
    { t: day(0), card: "B", y: 0, s: 0.5 },
    { t: day(1), card: "A", y: 1, s: 0.95 },
    { t: day(1), card: "C", y: 1, s: 0.4 },
    { t: day(1), card: "B", y: 0, s: 0.6 },
  ];
  const args = {
    timesMs: rows.map((r) => r.t),
    entities: rows.map((r) => r.card),
    k: 1,
  };
  const labels = rows.map((r) => r.y), scores = rows.map((r) => r.s);
  const plain = entityPrecisionAtK(labels, scores, args);
  assert.deepEqual(plain.days.map((d) => d.precision), [1, 1]); // A counted twice
  const handbook = entityPrecisionAtK(labels, scores, { ...args, removeDetected: true });
  // Day 2 without A: B (0.6) outranks C (0.4), so nothing is found.
  assert.deepEqual(handbook.days.map((d) => d.precision), [1, 0]);
  assert.equal(handbook.mean, 0.5);
  // Over k, not over the cards a day has: k = 3 with two cards on day 1.
  const wide = entityPrecisionAtK(labels, scores, { ...args, k: 3, removeDetected: true });
  assert.equal(wide.days[0].precision, 1 / 3);
});
