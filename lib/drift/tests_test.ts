import assert from "node:assert/strict";
import {
  chiSquareTest,
  jensenShannonTest,
  ksTest,
  psiTest,
  wassersteinDistance,
  wassersteinTest,
  zTest,
} from "./tests.ts";

/** The fixture sample formula (see fixtures/make_fixtures.py). */
interface SampleSpec {
  n: number;
  a: number;
  b: number;
  mod: number;
  offset: number;
  scale: number;
}

function sample(p: SampleSpec): Float64Array {
  return Float64Array.from({ length: p.n }, (_, i) => {
    const v = Number((BigInt(i) * BigInt(p.a) + BigInt(p.b)) % BigInt(p.mod)) / p.mod;
    return p.offset + p.scale * v * v;
  });
}

const fixtures = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/scipy.json", import.meta.url)),
);

function near(got: number, want: number, tol: number, what: string): void {
  assert.ok(
    Math.abs(got - want) <= tol,
    `${what}: got ${got}, scipy ${want} (|diff| ${Math.abs(got - want)} > ${tol})`,
  );
}

Deno.test("ks: statistic to 1e-9 and p-value to 1e-6 of scipy's ks_2samp", () => {
  for (const f of fixtures.ks) {
    const r = ksTest(sample(f.reference), sample(f.current));
    near(r.statistic, f.statistic, 1e-9, `${f.name} D`);
    if (f.method === "exact") {
      assert.equal(r.method, "exact", f.name);
      near(r.pValue!, f.pvalue, 1e-6, `${f.name} p`);
      // Relative agreement too, so that tiny p-values are really checked.
      near(r.pValue! / f.pvalue, 1, 1e-6, `${f.name} p (relative)`);
    } else {
      assert.equal(r.method, "asymptotic", f.name);
      // Above 10,000 rows the p-value is the Kolmogorov limit (scipy's
      // kstwobign), not scipy's finite-n kstwo.
      near(r.pValue!, f.pvalue_kolmogorov_asymptotic, 1e-12, `${f.name} p (Kolmogorov)`);
    }
    assert.equal(r.drifted, r.pValue! < 0.05);
  }
});

Deno.test("psi: edges, counts and PSI match numpy/scipy", () => {
  for (const f of fixtures.psi) {
    const r = psiTest(sample(f.reference), sample(f.current));
    f.edges.forEach((e: number, k: number) => near(r.edges[k], e, 1e-12, `${f.name} edge ${k}`));
    assert.deepEqual(Array.from(r.referenceCounts), f.reference_counts, `${f.name} ref counts`);
    assert.deepEqual(Array.from(r.currentCounts), f.current_counts, `${f.name} cur counts`);
    near(r.statistic, f.statistic, 1e-9, `${f.name} PSI`);
  }
});

Deno.test("chisquare: statistic, dof and p-value match chi2_contingency", () => {
  for (const f of fixtures.chisquare) {
    const r = chiSquareTest(f.reference, f.current);
    near(r.statistic, f.statistic, 1e-9, `${f.name} chi2`);
    assert.equal(r.dof, f.dof);
    near(r.pValue!, f.pvalue, 1e-6, `${f.name} p`);
  }
});

Deno.test("z: statistic and two-sided p-value match the normal distribution", () => {
  for (const f of fixtures.z) {
    const r = zTest(f.reference, f.current);
    near(r.statistic, f.statistic, 1e-9, `${f.name} z`);
    near(r.pValue!, f.pvalue, 1e-6, `${f.name} p`);
  }
});

Deno.test("wasserstein: distance and normalized statistic match scipy", () => {
  for (const f of fixtures.wasserstein) {
    const a = sample(f.reference), b = sample(f.current);
    near(wassersteinDistance(a, b), f.distance, 1e-9, `${f.name} distance`);
    near(wassersteinTest(a, b).statistic, f.statistic, 1e-9, `${f.name} normalized`);
  }
});

Deno.test("jensenshannon: base-2 distance matches scipy", () => {
  for (const f of fixtures.jensenshannon) {
    near(jensenShannonTest(f.reference, f.current).statistic, f.statistic, 1e-9, f.name);
  }
});

Deno.test("drift tests: empty samples and mismatched bins are named errors", () => {
  assert.throws(() => ksTest([], [1, 2]), /ks: the reference sample is empty/);
  assert.throws(() => ksTest([1, NaN], [1, 2]), /NaN in the sample/);
  assert.throws(() => chiSquareTest([1, 2], [1]), /2 reference categories vs 1 current/);
  assert.throws(() => chiSquareTest([5, 0], [3, 0]), /fewer than 2 categories/);
  assert.throws(() => jensenShannonTest([0, 0], [1, 1]), /reference sample is empty/);
});
