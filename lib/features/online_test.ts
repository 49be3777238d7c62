import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { simulateTransactions } from "../data/simulate.ts";
import { HANDBOOK_SPEC, TXSIM_SPEC } from "../data/datasets.ts";
import { simulateHandbook } from "../data/handbook.ts";
import type { ResolvedSpec } from "../data/spec.ts";
import { writeFrame } from "../data/write.ts";
import { loadDataset } from "../data/load.ts";
import { entityRunsOf, OnlineVelocity } from "./online.ts";
import { Rng } from "../util/rng.ts";
import { DAY_MS } from "../util/time.ts";
import { numericColumn, stringColumn } from "../data/frame.ts";
import {
  timesMs,
  velocityColumnNames,
  velocityFeatures,
  type VelocityOptions,
} from "./velocity.ts";

/** Replays `ds` one transaction at a time and compares every feature with the frame computation. */
function assertOnlineMatchesFrame(
  ds: { frame: pl.DataFrame; spec: ResolvedSpec },
  options: Required<VelocityOptions>,
  columns: { time: string; amount: string; label: string; id: string },
) {
  const frame = velocityFeatures(ds, options);
  const names = velocityColumnNames(options.entities, options);
  const expected = names.map((n) => numericColumn(frame, n));
  const t = timesMs(ds.frame, columns.time);
  const ents = options.entities.map((e) => stringColumn(ds.frame, e));
  const amount = numericColumn(ds.frame, columns.amount);
  const labels = ds.frame.getColumn(columns.label).cast(pl.Int8).toArray() as number[];
  const ids = stringColumn(ds.frame, columns.id);
  const order = Array.from(t.keys()).sort((a, b) => t[a] - t[b] || a - b);
  const online = new OnlineVelocity(options);
  let worst = 0, compared = 0;
  for (const i of order) {
    const values = ents.map((c) => c[i]);
    const a = Number.isNaN(amount[i]) ? null : amount[i];
    const got = online.features(t[i], values, a);
    for (let k = 0; k < names.length; k++) {
      const want = expected[k][i];
      const g = got[names[k]];
      if (Number.isNaN(want)) {
        assert.equal(g, null, `${names[k]} row ${i}: expected missing, got ${g}`);
        continue;
      }
      assert.ok(g !== null && g !== undefined, `${names[k]} row ${i}: expected ${want}, got ${g}`);
      const d = Math.abs(g - want) / Math.max(1, Math.abs(want));
      if (d > worst) worst = d;
      compared++;
    }
    // Labels are all known in the frame computation: give them at once.
    online.add(t[i], values, a, ids[i], labels[i] === 1);
  }
  assert.ok(compared > ds.frame.height * names.length * 0.9, `compared ${compared} values`);
  assert.ok(worst < 1e-9, `largest relative difference ${worst}`);
}

Deno.test("online velocity: one transaction at a time equals the frame computation", async () => {
  const path = await Deno.makeTempFile({ suffix: ".parquet" });
  writeFrame(simulateTransactions({ customers: 300, days: 45, seed: 5, quiet: true }), path);
  const ds = await loadDataset(path, TXSIM_SPEC);
  assertOnlineMatchesFrame(ds, {
    windowsDays: [1, 7, 30],
    delayDays: 7,
    entities: ["customer_id", "terminal_id"],
    calendar: true,
    rules: "fraudlab",
  }, { time: "tx_time", amount: "amount", label: "is_fraud", id: "tx_id" });
  await Deno.remove(path);
});

Deno.test("online velocity, the Handbook's feature set: one transaction at a time equals the frame computation", async () => {
  const path = await Deno.makeTempFile({ suffix: ".csv" });
  writeFrame(simulateHandbook({ customers: 200, terminals: 400, days: 50, seed: 3 }), path);
  const ds = await loadDataset(path, HANDBOOK_SPEC);
  assertOnlineMatchesFrame(ds, {
    windowsDays: [1, 7, 30],
    delayDays: 7,
    entities: ["CUSTOMER_ID", "TERMINAL_ID"],
    calendar: true,
    rules: "handbook",
  }, { time: "TX_DATETIME", amount: "TX_AMOUNT", label: "TX_FRAUD", id: "TRANSACTION_ID" });
  await Deno.remove(path);
});

Deno.test("online velocity: late labels, missing entities, out-of-order events and pruning", () => {
  const day = 86_400_000;
  const v = new OnlineVelocity({
    windowsDays: [1],
    delayDays: 2,
    entities: ["c"],
    calendar: false,
    rules: "fraudlab",
  });
  const t0 = Date.UTC(2025, 0, 10);
  v.add(t0, ["a"], 10, "x1");
  v.add(t0 + 3_600_000, ["a"], 30, "x2");
  v.add(t0 + 1_800_000, ["a"], 20, "x3"); // arrives late, inserted in time order
  let f = v.features(t0 + 2 * 3_600_000, ["a"]);
  assert.equal(f.c_n_1d, 3);
  assert.equal(f.c_mean_amount_1d, 20);
  // The same time is excluded (windows are [t − w, t)).
  assert.equal(v.features(t0, ["a"]).c_n_1d, 0);
  // Risk looks at [t − 2d − 1d, t − 2d): unlabelled transactions count as legitimate.
  f = v.features(t0 + 2 * day + 7_200_000, ["a"]);
  assert.equal(f.c_risk_1d, 0);
  assert.equal(v.label("x2", true), true);
  f = v.features(t0 + 2 * day + 7_200_000, ["a"]);
  assert.ok(Math.abs(f.c_risk_1d! - 1 / 3) < 1e-12);
  assert.equal(v.label("nope", true), false);
  // A missing entity gives missing features, an unseen one zeros.
  assert.equal(v.features(t0, [null]).c_n_1d, null);
  assert.equal(v.features(t0, ["b"]).c_n_1d, 0);
  assert.equal(v.features(t0, ["b"]).c_mean_amount_1d, null);
  // The same id twice counts once.
  v.add(t0 + 3_600_000, ["a"], 30, "x2");
  assert.equal(v.features(t0 + 2 * 3_600_000, ["a"]).c_n_1d, 3);
  // Far later, the old events are pruned: their ids no longer take labels.
  v.add(t0 + 10 * day, ["a"], 5, "late");
  v.sweep();
  assert.equal(v.label("x1", true), false);
  assert.equal(v.idsHeld, 1);
});

Deno.test("online velocity: bounded memory (least recently seen entity forgotten first, events per value capped) and pruning on the clock, not on client times", () => {
  const day = 86_400_000;
  const t0 = Date.UTC(2025, 0, 10);
  let clock = t0 + day;
  const v = new OnlineVelocity({
    windowsDays: [7],
    delayDays: 0,
    entities: ["c", "t"],
    calendar: false,
    rules: "fraudlab",
  }, { maxEntities: 3, maxEvents: 4, clock: () => clock });
  for (const [i, c] of ["a", "b", "c"].entries()) v.add(t0 + i, [c, "T"], 10, `id-${c}`);
  v.add(t0 + 10, ["a", "T"], 10, "id-a2"); // "a" seen again: "b" is now the least recent
  v.add(t0 + 11, ["d", "T"], 10, "id-d");
  let st = v.stats;
  assert.deepEqual(st.entities, [3, 1]);
  assert.deepEqual(st.evicted, [1, 0]);
  assert.equal(v.features(t0 + 20, ["b", null]).c_n_7d, 0, "b was forgotten");
  assert.equal(v.features(t0 + 20, ["a", null]).c_n_7d, 2, "a was kept");
  // "T" holds at most 4 events: the oldest went first.
  assert.equal(v.features(t0 + 20, [null, "T"]).t_n_7d, 4);
  assert.equal(st.capped, 1);
  // "b" is forgotten but its event is still in T's list: its id still takes a label.
  assert.equal(v.label("id-b", true), true);
  assert.equal(v.idsHeld, 5);
  // A client-supplied far-future time does not prune everyone's history: the clock decides.
  v.add(Date.UTC(2199, 11, 31), ["e", null], 10, "future");
  v.sweep();
  assert.equal(v.features(t0 + 20, ["a", null]).c_n_7d, 2);
  // The clock moving on prunes.
  clock = t0 + 30 * day;
  v.sweep();
  st = v.stats;
  assert.equal(v.features(clock, ["a", null]).c_n_7d, 0);
  assert.deepEqual(st.entities, [1, 0]);
  // An id whose event no list holds any more is forgotten.
  assert.equal(v.label("id-a", true), false);
  assert.equal(v.idsHeld, 1);
});

Deno.test("online velocity: a long stream with late labels equals brute force over every event kept", () => {
  const options: Required<VelocityOptions> = {
    windowsDays: [1, 3],
    delayDays: 2,
    entities: ["c", "t"],
    calendar: false,
    rules: "fraudlab",
  };
  const v = new OnlineVelocity(options);
  const rng = new Rng(11);
  const all: {
    t: number;
    c: string | null;
    tt: string | null;
    a: number | null;
    id: string;
    fraud: boolean;
  }[] = [];
  const out = new Float64Array(v.names.length);
  let t = Date.UTC(2025, 0, 1), worst = 0, compared = 0;
  for (let i = 0; i < 30_000; i++) {
    t += Math.floor(rng.random() * 40 * 60_000); // a few hours between events on average: lists prune and compact
    const c = rng.random() < 0.05 ? null : `c${Math.floor(rng.random() * 3)}`;
    const tt = rng.random() < 0.05 ? null : `t${Math.floor(rng.random() * 2)}`;
    // Whole cents mostly; now and then an amount that is not, or none.
    const r = rng.random();
    const a = r < 0.05
      ? null
      : r < 0.1
      ? rng.random() * 100
      : Math.round(rng.random() * 50000) / 100;
    v.featuresInto(t, [c, tt], a, { out, at: 0 });
    // Brute force: every earlier event of the same entity value within its window.
    for (const [e, key] of [c, tt].entries()) {
      for (const [k, w] of options.windowsDays.entries()) {
        const base = (e * options.windowsDays.length + k) * 3;
        if (key === null) {
          assert.ok([0, 1, 2].every((j) => Number.isNaN(out[base + j])));
          continue;
        }
        const wMs = w * DAY_MS, dMs = options.delayDays * DAY_MS;
        const mine = all.filter((x) => (e === 0 ? x.c : x.tt) === key);
        const inW = mine.filter((x) => x.t >= t - wMs && x.t < t && x.a !== null);
        const risk = mine.filter((x) => x.t >= t - dMs - wMs && x.t < t - dMs);
        assert.equal(out[base], inW.length, `event ${i}: count`);
        const mean = inW.length ? inW.reduce((s, x) => s + x.a!, 0) / inW.length : NaN;
        if (inW.length) {
          worst = Math.max(worst, Math.abs(out[base + 1] - mean) / Math.abs(mean));
          compared++;
        } else assert.ok(Number.isNaN(out[base + 1]));
        const want = risk.length ? risk.filter((x) => x.fraud).length / risk.length : 0;
        assert.equal(out[base + 2], want, `event ${i}: risk`);
      }
    }
    const id = `x${i}`;
    v.add(t, [c, tt], a, id);
    all.push({ t, c, tt, a, id, fraud: false });
    // A late label now and then, for an event still remembered (and sometimes taken back).
    if (rng.random() < 0.2 && all.length > 10) {
      const back = all[all.length - 1 - Math.floor(rng.random() * Math.min(all.length, 300))];
      const fraud = rng.random() < 0.8;
      if (v.label(back.id, fraud)) back.fraud = fraud;
    }
    // Keep the brute force's store as short as the retention.
    if (all.length > 2000 && all[0].t < t - 10 * DAY_MS) all.splice(0, 1000);
  }
  assert.ok(compared > 50_000, `compared ${compared} means`);
  assert.ok(worst < 1e-9, `largest relative difference of a mean ${worst}`);
});

Deno.test("online velocity: batches (grouped by value or row after row) equal the same rows one at a time, late labels between them", () => {
  const options: Required<VelocityOptions> = {
    windowsDays: [1, 3],
    delayDays: 1,
    entities: ["c", "t"],
    calendar: true,
    rules: "fraudlab",
  };
  for (const limits of [{}, { maxEntities: 6, maxEvents: 40 }]) {
    const batched = new OnlineVelocity(options, limits);
    const single = new OnlineVelocity(options, limits);
    const rng = new Rng(5);
    const m = batched.names.length;
    const ways = { grouped: 0, rows: 0 };
    let t = Date.UTC(2025, 0, 1), serial = 0;
    const kept: string[] = [];
    for (let b = 0; b < 300; b++) {
      // Batches long enough in all to sweep the lists (every 50,000 adds) a few times.
      const n = 1 + Math.floor(rng.random() * ("maxEntities" in limits ? 60 : 1200));
      // Now and then a batch the grouped way cannot take: out of order, or an id seen before.
      const shuffled = rng.random() < 0.1, repeat = rng.random() < 0.1 && kept.length > 0;
      const times = new Float64Array(n), amounts = new Float64Array(n), skip = new Uint8Array(n);
      const ids: (string | null)[] = [], cs: (string | null)[] = [], ts: (string | null)[] = [];
      for (let i = 0; i < n; i++) {
        // Equal times now and then (the same second twice in a row).
        if (rng.random() > 0.05) {
          t += Math.floor(rng.random() * ("maxEntities" in limits ? 90 : 4) * 60_000);
        }
        times[i] = shuffled && rng.random() < 0.3 ? t - Math.floor(rng.random() * DAY_MS) : t;
        const r = rng.random();
        amounts[i] = r < 0.05
          ? NaN
          : r < 0.1
          ? rng.random() * 100
          : Math.round(rng.random() * 50000) / 100;
        // Mostly a few customers; now and then one never seen again (only a sweep prunes its list).
        const c = rng.random();
        cs.push(c < 0.05 ? null : c < 0.07 ? `once${serial}` : `c${Math.floor(rng.random() * 8)}`);
        ts.push(rng.random() < 0.05 ? null : `t${Math.floor(rng.random() * 4)}`);
        ids.push(
          rng.random() < 0.05
            ? null
            : repeat && i === n - 1
            ? kept[kept.length - 1]
            : `x${serial++}`,
        );
        skip[i] = rng.random() < 0.03 ? 1 : 0;
      }
      const cols = Array.from({ length: m }, () => new Float64Array(n).fill(-7));
      ways[
        batched.batchInto({
          times,
          entities: [entityRunsOf(cs), entityRunsOf(ts)],
          amounts,
          ids,
          skip,
        }, cols)
      ]++;
      const out = new Float64Array(n * m);
      for (let i = 0; i < n; i++) for (let k = 0; k < m; k++) out[i * m + k] = cols[k][i];
      const want = new Float64Array(n * m).fill(-7);
      for (let i = 0; i < n; i++) {
        if (skip[i]) continue;
        const a = Number.isNaN(amounts[i]) ? null : amounts[i];
        single.featuresInto(times[i], [cs[i], ts[i]], a, { out: want, at: i * m });
        single.add(times[i], [cs[i], ts[i]], a, ids[i]);
        if (ids[i] !== null) kept.push(ids[i]!);
      }
      for (let k = 0; k < n * m; k++) {
        assert.ok(
          Object.is(out[k], want[k]),
          `batch ${b}, row ${Math.floor(k / m)}, ${batched.names[k % m]}: ${out[k]} against ${
            want[k]
          }`,
        );
      }
      // Late labels reach the same transactions in both.
      for (let q = 0; q < 5 && kept.length > 0; q++) {
        const id = kept[kept.length - 1 - Math.floor(rng.random() * Math.min(kept.length, 200))];
        const fraud = rng.random() < 0.8;
        assert.equal(batched.label(id, fraud), single.label(id, fraud), `label ${id}`);
      }
      assert.equal(batched.idsHeld, single.idsHeld, `ids held after batch ${b}`);
    }
    assert.deepEqual(batched.stats, single.stats);
    if ("maxEntities" in limits) {
      assert.ok(single.stats.evicted[0] > 0 && single.stats.capped > 0, "the limits were reached");
      assert.ok(ways.rows > 0 && ways.grouped > 0, `ways ${JSON.stringify(ways)}`);
    } else assert.ok(ways.grouped > 200 && ways.rows > 20, `ways ${JSON.stringify(ways)}`);
  }
});

Deno.test("online velocity: a batch refuses a row with no time that is not skipped, and entity columns of the wrong count", () => {
  const v = new OnlineVelocity({
    windowsDays: [1],
    delayDays: 1,
    entities: ["c"],
    calendar: false,
    rules: "fraudlab",
  });
  const out = [new Float64Array(2), new Float64Array(2), new Float64Array(2)];
  assert.throws(
    () =>
      v.batchInto({
        times: new Float64Array([1, NaN]),
        entities: [entityRunsOf(["a", "b"])],
        amounts: null,
        ids: null,
        skip: null,
      }, out),
    /row 1 has no finite time/,
  );
  assert.throws(
    () =>
      v.batchInto({
        times: new Float64Array([1]),
        entities: [],
        amounts: null,
        ids: null,
        skip: null,
      }, out),
    /needs 1 entity columns, got 0/,
  );
});
