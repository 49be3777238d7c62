/**
 * Comparing a categorical (or discrete numeric) column with its reference profile: category counts, unseen categories and bars to plot.
 * @module
 */
import { chooseTest } from "./policy.ts";
import { type CategoricalProfile, categoryCounts } from "./profile.ts";
import { missingShare, shares, withFlags } from "./quality.ts";
import type {
  ColumnDrift,
  ColumnOptions,
  ColumnSide,
  DistributionPlot,
  SideStats,
} from "./result.ts";
import {
  chiSquareTest,
  jensenShannonTest,
  judge,
  psiFromCounts,
  type TestResult,
  zTest,
} from "./tests.ts";
const OTHER = "(other)";
const PLOT_BARS = 15;

/** Compares a categorical column (or a discrete numeric one) with its profile. */
export function compareCategorical(
  p: CategoricalProfile,
  side: ColumnSide<string | null>,
  options: ColumnOptions & { type?: "numeric" | "categorical" } = {},
): ColumnDrift {
  const { column, values, referenceRows } = side;
  const override = options.override;
  const type = options.type ?? "categorical";
  const cur = categoryCounts(values);
  const known = new Map(p.categories);
  const curOf = new Map<string, number>();
  const unseen: [string, number][] = [];
  let otherCount = 0;
  for (const [cat, c] of cur.counts) {
    if (known.has(cat)) curOf.set(cat, c);
    else if (p.other.count > 0) otherCount += c;
    else unseen.push([cat, c]);
  }
  const labels = [...p.categories.map(([c]) => c)];
  const refCounts = p.categories.map(([, c]) => c);
  const curCounts = labels.map((c) => curOf.get(c) ?? 0);
  if (p.other.count > 0) {
    labels.push(OTHER);
    refCounts.push(p.other.count);
    curCounts.push(otherCount);
  }
  for (const [cat, c] of unseen) {
    labels.push(cat);
    refCounts.push(0);
    curCounts.push(c);
  }
  const curTotal = values.length - cur.missing;
  const reference: SideStats = {
    count: p.count,
    missing: p.missing,
    missingShare: missingShare(p.count, p.missing),
    top: p.categories.length ? [p.categories[0][0], p.categories[0][1] / p.count] : undefined,
  };
  const current: SideStats = {
    count: curTotal,
    missing: cur.missing,
    missingShare: missingShare(curTotal, cur.missing),
    top: cur.counts.length ? [cur.counts[0][0], cur.counts[0][1] / curTotal] : undefined,
  };
  const choice = chooseTest(column, {
    testedAs: "categorical",
    referenceRows,
    categories: labels.length,
    override,
  });
  const unseenTotal = unseen.reduce((s, [, c]) => s + c, 0);
  const quality = withFlags({
    missingShareChange: current.missingShare - reference.missingShare,
    outOfRangeShare: null,
    unseenShare: curTotal > 0 ? unseenTotal / curTotal : null,
    unseen: unseen.slice(0, 10),
  }, options);
  const plot = barsPlot(labels, { reference: refCounts, current: curCounts });
  const base = {
    column,
    type,
    testedAs: "categorical" as const,
    chosenBy: choice.chosenBy,
    reference,
    current,
    quality,
    plot,
  };
  if (curTotal === 0) {
    return {
      ...base,
      result: null,
      drifted: true,
      psi: null,
      note: "every current value is missing: counted as drifted",
    };
  }
  const psi = psiFromCounts(refCounts, curCounts).statistic;
  let result: TestResult;
  switch (choice.test) {
    case "chisquare":
      result = labels.length < 2
        ? judge("chisquare", { statistic: 0, pValue: 1 }, choice.threshold)
        : chiSquareTest(refCounts, curCounts, { threshold: choice.threshold });
      break;
    case "z":
      result = zTest(
        { hits: refCounts[0], n: p.count },
        { hits: curCounts[0] ?? 0, n: curTotal },
        { threshold: choice.threshold },
      );
      break;
    case "psi":
      result = judge("psi", { statistic: psi, pValue: null }, choice.threshold);
      break;
    default:
      result = jensenShannonTest(refCounts, curCounts, { threshold: choice.threshold });
  }
  return { ...base, result, drifted: result.drifted, psi };
}

/** The largest categories side by side (by the larger of the two shares), the rest as "(rest)". */
export function barsPlot(
  labels: string[],
  counts: { reference: number[]; current: number[] },
): DistributionPlot {
  const ref = counts.reference, cur = counts.current;
  const rs = shares(ref), cs = shares(cur);
  const order = labels.map((_, i) => i).sort((a, b) =>
    Math.max(rs[b], cs[b]) - Math.max(rs[a], cs[a]) || a - b
  );
  const top = order.slice(0, PLOT_BARS), rest = order.slice(PLOT_BARS);
  const plot: DistributionPlot = {
    kind: "bars",
    labels: top.map((i) => labels[i]),
    reference: top.map((i) => rs[i]),
    current: top.map((i) => cs[i]),
  };
  if (rest.length) {
    plot.labels!.push(`(rest: ${rest.length})`);
    plot.reference.push(rest.reduce((s, i) => s + rs[i], 0));
    plot.current.push(rest.reduce((s, i) => s + cs[i], 0));
  }
  return plot;
}
