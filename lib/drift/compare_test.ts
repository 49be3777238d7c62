import assert from "node:assert/strict";
import { Rng } from "../util/rng.ts";
import { UserError } from "../util/errors.ts";
import { sortFloat64 } from "../util/sort.ts";
import {
  PROFILE_FORMAT,
  profileCategorical,
  profileNumeric,
  profileOptions,
  type ReferenceProfile,
  reservoirSample,
} from "./profile.ts";
import {
  compareCategorical,
  compareNumeric,
  compareToProfile,
  defaultTest,
  profileKnots,
  wassersteinFromKnots,
} from "./compare.ts";
import { ksTest, populationStd, wassersteinDistance } from "./tests.ts";

function normals(n: number, seed: number, mean = 0, sd = 1): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, () => rng.normal(mean, sd));
}

function lognormals(n: number, seed: number, scale = 1): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, () => scale * Math.exp(rng.normal(3, 1)));
}

Deno.test("sortFloat64 equals the built-in sort, negatives, duplicates and ±0 included", () => {
  const rng = new Rng(3);
  for (const n of [0, 1, 100, 4095, 4096, 50_000]) {
    const a = Float64Array.from(
      { length: n },
      (_, i) => i % 11 === 0 ? 0 : i % 13 === 0 ? -0 : Math.round(rng.normal(0, 1e3)) / 7,
    );
    if (n > 10) a[5] = -Infinity, a[6] = Infinity, a[7] = 1e-310, a[8] = -1e-310;
    const want = a.slice().sort(), got = sortFloat64(a);
    assert.equal(got.length, n);
    for (let i = 0; i < n; i++) assert.ok(got[i] === want[i], `n=${n} index ${i}`);
  }
});

Deno.test("reservoir sample: bounded, seeded, drawn from the input, unbiased", () => {
  const n = 200_000, k = 5000;
  const values = Float64Array.from({ length: n }, (_, i) => i);
  const a = reservoirSample(values, { size: k, seed: 1 }),
    b = reservoirSample(values, { size: k, seed: 1 });
  assert.equal(a.length, k);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, reservoirSample(values, { size: k, seed: 2 }));
  assert.equal(new Set(a).size, k, "no value drawn twice");
  // Mean of a uniform sample of 0..n−1: (n−1)/2 with SE n/√12/√k ≈ 816.
  const mean = a.reduce((s, v) => s + v, 0) / k;
  assert.ok(Math.abs(mean - (n - 1) / 2) < 4 * 816, `sample mean ${mean}`);
  // Positions spread over the whole stream (not just the head).
  assert.ok(a.filter((v) => v >= n / 2).length > k * 0.45);
  assert.deepEqual(reservoirSample([1, 2, 3], { size: 5, seed: 0 }), [1, 2, 3]);
});

Deno.test("wasserstein from the profile's quantile function is within 1% of the exact distance", () => {
  for (
    const [ref, cur] of [
      [normals(50_000, 1), normals(20_000, 2, 0.3, 1.2)],
      [lognormals(80_000, 3), lognormals(30_000, 4, 1.25)],
      [normals(40_000, 5), normals(40_000, 6)],
    ]
  ) {
    const { u, v } = profileKnots(profileNumeric(ref));
    const approx = wassersteinFromKnots({ u, v }, sortFloat64(cur));
    const exact = wassersteinDistance(ref, cur);
    assert.ok(
      Math.abs(approx - exact) <= 0.01 * exact + 1e-3 * populationStd(ref),
      `profile ${approx} vs exact ${exact}`,
    );
  }
});

Deno.test("numeric profile: counts, moments, deciles, histogram and discrete detection", () => {
  const values = Float64Array.from([...normals(10_000, 7), NaN, NaN, NaN]);
  const p = profileNumeric(values, { sampleSize: 500, seed: 9 });
  assert.equal(p.count, 10_000);
  assert.equal(p.missing, 3);
  assert.equal(p.sample.length, 500);
  assert.equal(p.quantiles.length, 1001);
  assert.equal(p.quantiles[0], p.min);
  assert.equal(p.quantiles[1000], p.max);
  assert.equal(p.deciles.counts.reduce((s, c) => s + c, 0), 10_000);
  for (const c of p.deciles.counts) assert.ok(Math.abs(c - 1000) <= 1, `decile count ${c}`);
  assert.equal(p.histogram.counts.length, p.histogram.edges.length + 1);
  assert.equal(p.histogram.counts.reduce((s, c) => s + c, 0), 10_000);
  assert.equal(p.discrete, null);
  const flags = profileNumeric(Float64Array.from({ length: 100 }, (_, i) => i % 3));
  assert.deepEqual(flags.discrete, [[0, 34], [1, 33], [2, 33]]);
  assert.throws(() => profileNumeric([NaN, NaN]), UserError);
});

Deno.test("default test choice follows the reference size and column kind", () => {
  assert.equal(defaultTest(1000, "numeric"), "ks");
  assert.equal(defaultTest(1000, "categorical", 2), "z");
  assert.equal(defaultTest(1000, "categorical", 3), "chisquare");
  assert.equal(defaultTest(1001, "numeric"), "wasserstein");
  assert.equal(defaultTest(1001, "categorical", 2), "jensenshannon");
  // Small reference: KS on the whole reference (the sample holds every value).
  const ref = normals(800, 11), cur = normals(900, 12, 0.5);
  const small = compareNumeric(profileNumeric(ref), {
    column: "x",
    values: cur,
    referenceRows: 800,
  });
  assert.equal(small.result!.test, "ks");
  const direct = ksTest(ref, cur);
  assert.equal(small.result!.statistic, direct.statistic);
  assert.equal(small.result!.pValue, direct.pValue);
  assert.equal(small.drifted, true);
  // Large reference: normalized Wasserstein, drift at >= 0.1.
  const big = normals(20_000, 13);
  const same = compareNumeric(profileNumeric(big), {
    column: "x",
    values: normals(5000, 14),
    referenceRows: 20_000,
  });
  assert.equal(same.result!.test, "wasserstein");
  assert.equal(same.drifted, false);
  const shifted = compareNumeric(profileNumeric(big), {
    column: "x",
    values: normals(5000, 15, 0.3),
    referenceRows: 20_000,
  });
  assert.ok(shifted.result!.statistic > 0.25 && shifted.result!.statistic < 0.35);
  assert.equal(shifted.drifted, true);
  // A numeric column with <= 5 distinct values is tested as categorical.
  const flags = Float64Array.from({ length: 5000 }, (_, i) => i % 2);
  const asCat = compareNumeric(profileNumeric(flags), {
    column: "flag",
    values: flags.slice(0, 3000),
    referenceRows: 5000,
  });
  assert.equal(asCat.testedAs, "categorical");
  assert.equal(asCat.result!.test, "jensenshannon");
  assert.equal(asCat.drifted, false);
});

Deno.test("overrides: test and threshold per column; inapplicable tests are refused", () => {
  const p = profileNumeric(normals(20_000, 21));
  const cur = normals(5000, 22, 0.05);
  const psi = compareNumeric(p, { column: "x", values: cur, referenceRows: 20_000 }, {
    override: { test: "psi", threshold: 0.001 },
  });
  assert.equal(psi.result!.test, "psi");
  assert.equal(psi.chosenBy, "override");
  assert.equal(psi.result!.threshold, 0.001);
  assert.equal(psi.drifted, true);
  const ks = compareNumeric(p, { column: "x", values: cur, referenceRows: 20_000 }, {
    override: { test: "ks" },
  });
  assert.equal(ks.result!.test, "ks");
  assert.equal(ks.result!.method, "exact");
  assert.throws(
    () =>
      compareNumeric(p, { column: "x", values: cur, referenceRows: 20_000 }, {
        override: { test: "chisquare" },
      }),
    /does not apply/,
  );
  const cp = profileCategorical(["a", "b", "c", "a"]);
  assert.throws(
    () =>
      compareCategorical(cp, { column: "c", values: ["a"], referenceRows: 4 }, {
        override: { test: "z" },
      }),
    /at most 2/,
  );
  assert.throws(
    () =>
      compareCategorical(cp, { column: "c", values: ["a"], referenceRows: 4 }, {
        override: { test: "ks" },
      }),
    /does not apply/,
  );
});

Deno.test("categorical: unseen categories, missing share and the chi-square default", () => {
  const ref = Array.from({ length: 900 }, (_, i) => ["web", "pos", "atm"][i % 3]);
  const p = profileCategorical([...ref, null, null]);
  const cur = [
    ...Array.from({ length: 300 }, (_, i) => ["web", "pos", "atm"][i % 3]),
    ..."x".repeat(30).split("").map(() => "crypto"),
    ...Array(60).fill(null),
  ];
  const d = compareCategorical(p, { column: "channel", values: cur, referenceRows: 902 });
  assert.equal(d.result!.test, "chisquare");
  assert.equal(d.drifted, true);
  assert.deepEqual(d.quality.unseen, [["crypto", 30]]);
  assert.ok(Math.abs(d.quality.unseenShare! - 30 / 330) < 1e-12);
  assert.ok(Math.abs(d.quality.missingShareChange - (60 / 390 - 2 / 902)) < 1e-12);
  assert.ok(d.quality.flags.some((f) => f.includes("unseen")));
  assert.ok(d.quality.flags.some((f) => f.includes("missing share")));
});

function profileOf(
  columns: Record<string, Float64Array | string[]>,
  rows: number,
): ReferenceProfile {
  const schema = Object.entries(columns).map(([name, v]) => ({
    name,
    type: v instanceof Float64Array ? "numeric" as const : "categorical" as const,
  }));
  return {
    format: PROFILE_FORMAT,
    created: new Date().toISOString(),
    rows,
    source: { path: "memory", sha256: "0".repeat(64), rows: "all rows" },
    schema,
    columns: Object.fromEntries(
      Object.entries(columns).map((
        [k, v],
      ) => [k, v instanceof Float64Array ? profileNumeric(v) : profileCategorical(v)]),
    ),
    target: { label: "y", rows, positives: Math.round(rows * 0.01) },
    prediction: null,
    options: profileOptions(),
  };
}

Deno.test("dataset drift at the configured share; missing columns count as drifted", () => {
  const n = 20_000;
  const profile = profileOf({
    a: normals(n, 31),
    b: normals(n, 32),
    c: normals(n, 33),
    d: Array.from({ length: n }, (_, i) => (i % 4 ? "x" : "y")),
  }, n);
  const m = 5000;
  const current = {
    rows: m,
    numeric: { a: normals(m, 41, 1), b: normals(m, 42), c: normals(m, 43) },
    categorical: { d: Array.from({ length: m }, (_, i) => (i % 4 ? "x" : "y")) },
    labels: Int8Array.from({ length: m }, (_, i) => Number(i % 25 === 0)),
  };
  const one = compareToProfile(profile, current);
  assert.equal(one.driftedColumns, 1);
  assert.equal(one.columns[0].column, "a", "drifted columns first");
  assert.equal(one.datasetDrift, false);
  assert.equal(compareToProfile(profile, current, { driftShare: 0.25 }).datasetDrift, true);
  // Fraud rate 1% -> 4%: target drift by the rate rule.
  assert.equal(one.target!.drifted, true);
  assert.equal(one.drift, true);
  assert.ok(one.reasons.some((r) => r.startsWith("target drift")));
  const lost = compareToProfile(profile, {
    ...current,
    numeric: { a: current.numeric.a, c: current.numeric.c },
    labels: null,
  });
  assert.deepEqual(lost.schema.missing, ["b"]);
  assert.equal(lost.driftedColumns, 2);
  assert.equal(lost.datasetDrift, true);
  assert.throws(
    () => compareToProfile(profile, current, { columns: { nope: { test: "psi" } } }),
    /no such column/,
  );
});
