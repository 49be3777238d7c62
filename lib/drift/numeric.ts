/**
 * Comparing a numeric column with its reference profile: the chosen test, PSI over the reference deciles, Wasserstein from stored quantiles, range checks and a histogram to plot.
 * @module
 */
import { UserError } from "../util/errors.ts";
import { compareCategorical } from "./categorical.ts";
import { chooseTest } from "./policy.ts";
import {
  finiteValues,
  lowerBound,
  moments,
  type NumericProfile,
  sortedBinCounts,
  sortedHistogram,
  upperBound,
} from "./profile.ts";
import { missingShare, shares, withFlags } from "./quality.ts";
import type { ColumnDrift, ColumnOptions, ColumnSide, SideStats } from "./result.ts";
import { sortFloat64 } from "../util/sort.ts";
import { jensenShannonTest, judge, ksTest, psiFromCounts, type TestResult } from "./tests.ts";
/**
 * Wasserstein-1 distance between a reference quantile function given by
 * knots (u ascending in [0, 1], linear between knots; equal u values make a
 * jump) and an ascending current sample: the exact integral of
 * |Q_ref(u) − Q_cur(u)| over u in [0, 1].
 */
export function wassersteinFromKnots(
  knots: { u: ArrayLike<number>; v: ArrayLike<number> },
  cur: Float64Array,
): number {
  const { u, v } = knots;
  const K = u.length, m = cur.length;
  if (K < 2 || m === 0) throw new UserError("wasserstein: empty reference or current sample");
  let area = 0, k = 0, j = 0, u0 = u[0];
  while (k < K - 1 && j < m) {
    const ua = u[k], ub = u[k + 1];
    if (!(ub > ua)) {
      k++;
      continue;
    }
    const uc = (j + 1) / m;
    const u1 = Math.min(ub, uc);
    const slope = (v[k + 1] - v[k]) / (ub - ua), c = cur[j];
    const f0 = v[k] + slope * (u0 - ua) - c, f1 = v[k] + slope * (u1 - ua) - c;
    const w = u1 - u0, a0 = Math.abs(f0), a1 = Math.abs(f1);
    area += (f0 >= 0) === (f1 >= 0) || a0 + a1 === 0
      ? ((a0 + a1) / 2) * w
      : ((f0 * f0 + f1 * f1) / (2 * (a0 + a1))) * w;
    u0 = u1;
    if (ub <= uc) k++;
    if (uc <= ub) j++;
  }
  return area;
}

/**
 * The knots of a numeric profile's quantile function: the exact step
 * function over its lowest and highest order statistics (where a heavy tail
 * makes linear interpolation poor) and the 1,001-point grid in between.
 */
export function profileKnots(p: NumericProfile): { u: Float64Array; v: Float64Array } {
  const n = p.count, low = p.tails.low, high = p.tails.high, T = low.length;
  const u: number[] = [], v: number[] = [];
  const step = (rank: number, x: number) => {
    u.push(rank / n, (rank + 1) / n);
    v.push(x, x);
  };
  for (let r = 0; r < T; r++) step(r, low[r]);
  if (high.length > 0) {
    const Q = p.quantiles.length - 1;
    for (let k = 0; k <= Q; k++) {
      const uk = k / Q;
      if (uk > T / n && uk < 1 - high.length / n) {
        u.push(uk);
        v.push(p.quantiles[k]);
      }
    }
    for (let r = 0; r < high.length; r++) step(n - high.length + r, high[r]);
  }
  return { u: Float64Array.from(u), v: Float64Array.from(v) };
}

/** Compares a numeric column with its profile. */
export function compareNumeric(
  p: NumericProfile,
  side: ColumnSide<number>,
  options: ColumnOptions = {},
): ColumnDrift {
  const { column, values, referenceRows } = side;
  const override = options.override;
  if (p.discrete) {
    const cats = p.discrete.map(([v, c]) => [String(v), c] as [string, number]);
    const strings = Array.from(values, (v) => (v === v ? String(v) : null));
    return compareCategorical(
      {
        type: "categorical",
        count: p.count,
        missing: p.missing,
        categories: cats,
        other: { count: 0, distinct: 0 },
      },
      { column, values: strings, referenceRows },
      { ...options, type: "numeric" },
    );
  }
  const finite = finiteValues(values);
  const m = finite.values.length;
  const reference: SideStats = {
    count: p.count,
    missing: p.missing,
    missingShare: missingShare(p.count, p.missing),
    mean: p.mean,
    std: p.std,
    min: p.min,
    max: p.max,
    median: p.quantiles[p.quantiles.length >> 1],
  };
  const choice = chooseTest(column, {
    testedAs: "numeric",
    referenceRows,
    categories: 0,
    override,
  });
  const plotEdges = p.histogram.edges;
  // What every outcome shares: the column, the reference side, and the plot
  // and quality of the current side (`current` counts per histogram bin).
  const sides = (
    current: SideStats,
    quality: { missingShareChange: number; outOfRangeShare: number | null },
    counts: number[],
  ) => ({
    column,
    type: "numeric" as const,
    testedAs: "numeric" as const,
    chosenBy: choice.chosenBy,
    reference,
    current,
    quality: withFlags({ ...quality, unseenShare: null, unseen: [] }, options),
    plot: {
      kind: "histogram" as const,
      edges: plotEdges,
      reference: shares(p.histogram.counts),
      current: shares(counts),
    },
  });
  if (m === 0) {
    return {
      ...sides(
        { count: 0, missing: finite.missing, missingShare: 1 },
        { missingShareChange: 1 - reference.missingShare, outOfRangeShare: null },
        p.histogram.counts.map(() => 0),
      ),
      result: null,
      drifted: true,
      psi: null,
      note: "every current value is missing: counted as drifted",
    };
  }
  const cs = sortFloat64(finite.values);
  const { mean, std } = moments(cs);
  const current: SideStats = {
    count: m,
    missing: finite.missing,
    missingShare: missingShare(m, finite.missing),
    mean,
    std,
    min: cs[0],
    max: cs[m - 1],
    median: m % 2 ? cs[m >> 1] : (cs[m / 2 - 1] + cs[m / 2]) / 2,
  };
  const curDeciles = sortedBinCounts(cs, p.deciles.edges);
  const curHist = sortedHistogram(cs, plotEdges);
  const psi = psiFromCounts(p.deciles.counts, curDeciles).statistic;
  let result: TestResult;
  switch (choice.test) {
    case "ks":
      result = ksTest(p.sample, cs, { threshold: choice.threshold });
      break;
    case "wasserstein": {
      const { u, v } = profileKnots(p);
      const statistic = wassersteinFromKnots({ u, v }, cs) / Math.max(p.std, 0.001);
      result = judge("wasserstein", { statistic, pValue: null }, choice.threshold);
      break;
    }
    case "psi":
      result = judge("psi", { statistic: psi, pValue: null }, choice.threshold);
      break;
    default:
      result = jensenShannonTest(p.histogram.counts, curHist, { threshold: choice.threshold });
  }
  const outside = lowerBound(cs, p.min) + (m - upperBound(cs, p.max));
  return {
    ...sides(current, {
      missingShareChange: current.missingShare - reference.missingShare,
      outOfRangeShare: outside / m,
    }, curHist),
    result,
    drifted: result.drifted,
    psi,
  };
}
