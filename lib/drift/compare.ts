/**
 * Compares current data with a stored reference profile: one drift test per
 * column, dataset drift, prediction drift (score distribution and alert
 * rate), target drift and data quality.
 *
 * Default test choice (Evidently's rule): with a reference of at most 1,000
 * rows, KS for numeric columns with more than 5 distinct values, otherwise
 * chi-square (more than 2 categories) or the Z-test; with a larger
 * reference, Wasserstein distance normalized by the reference std (drift at
 * ≥ 0.1) for numeric columns with more than 5 distinct values, otherwise
 * Jensen–Shannon distance (≥ 0.1). Any column's test and threshold can be
 * overridden. Dataset drift: at least `driftShare` (default 0.5) of the
 * columns drifted.
 *
 * Against a profile the tests read: KS the reservoir sample (the whole
 * reference when it has at most 5,000 values), Wasserstein the quantile
 * function (exact integral of |Q_ref − Q_cur|, Q_ref exact over the 256
 * lowest and highest values and linear between 1,001 grid points elsewhere), PSI the decile bins, Jensen–Shannon the histogram
 * bins or category counts, chi-square and Z the category counts.
 * @module
 */
import { UserError } from "../util/errors.ts";
import {
  chiSquareTest,
  DEFAULT_THRESHOLDS,
  DRIFT_TESTS,
  type DriftTestName,
  jensenShannonTest,
  judge,
  ksTest,
  psiFromCounts,
  type TestResult,
  zTest,
} from "./tests.ts";
import {
  type CategoricalProfile,
  categoryCounts,
  finiteValues,
  lowerBound,
  moments,
  type NumericProfile,
  type ReferenceProfile,
  sortedBinCounts,
  sortedHistogram,
  upperBound,
} from "./profile.ts";
import { sortFloat64 } from "./sort.ts";
import { percent as sharePercent } from "../util/format.ts";

/** Format tag of a drift result. */
export const DRIFT_FORMAT = "fraudlab.drift/1";
/** References up to this many rows get KS / chi-square / Z by default. */
export const SMALL_REFERENCE_MAX = 1000;

/** A per-column choice of test and threshold. */
export interface ColumnOverride {
  /** The test (default: chosen by column type and reference size). */
  test?: DriftTestName;
  /** Its drift threshold (a p-value below it, or a distance at or above it). */
  threshold?: number;
}

/** Options of a comparison. */
export interface DriftOptions {
  /** Per-column test and threshold overrides. */
  columns?: Record<string, ColumnOverride>;
  /** Dataset drift when at least this share of the columns drifted. Default 0.5. */
  driftShare?: number;
  /** Test and threshold for the score distribution. */
  prediction?: ColumnOverride;
  /** Test and threshold for the label distribution. */
  target?: ColumnOverride;
  /**
   * The alert rate drifts when it changed by at least this factor (either
   * way) and a two-proportion Z-test says the change is real (p < 0.05).
   * Default 2.
   */
  alertRateFactor?: number;
  /** The fraud rate drifts when it changed by this factor (see TargetDrift). Default 2. */
  targetRateFactor?: number;
  /** A missing-value share change above this is flagged. Default 0.05. */
  missingShareTolerance?: number;
}

/** The current data, column by column. */
export interface CurrentData {
  rows: number;
  /** Numeric columns, NaN = missing. */
  numeric: Record<string, Float64Array>;
  /** Categorical columns, null or "" = missing. */
  categorical: Record<string, ArrayLike<string | null>>;
  /** The reference model's scores on the current rows. */
  scores?: Float32Array | null;
  /** Current labels, when known. */
  labels?: Int8Array | null;
}

/** Reference and current distributions of a column, as shares, for plotting. */
export interface DistributionPlot {
  /** Numeric columns as a histogram, categorical as bars. */
  kind: "histogram" | "bars";
  /** histogram: bin edges; shares[0] is below edges[0], the last share above the last edge. */
  edges?: number[];
  /** bars: category labels. */
  labels?: string[];
  /** Reference shares. */
  reference: number[];
  /** Current shares. */
  current: number[];
}

/** Summary statistics of one side of a column. */
export interface SideStats {
  /** Non-missing values. */
  count: number;
  /** Missing values. */
  missing: number;
  /** Missing over all values. */
  missingShare: number;
  /** Numeric: mean. */
  mean?: number;
  /** Numeric: standard deviation. */
  std?: number;
  /** Numeric: smallest value. */
  min?: number;
  /** Numeric: largest value. */
  max?: number;
  /** Numeric: median. */
  median?: number;
  /** Categorical: the most frequent category and its share. */
  top?: [string, number];
}

/** Drift of one column. */
export interface ColumnDrift {
  /** Column name. */
  column: string;
  /** Its type in the spec. */
  type: "numeric" | "categorical";
  /** How the column was tested (a numeric column with ≤ 5 distinct values as categorical). */
  testedAs: "numeric" | "categorical";
  /** The test outcome, or null when the current side had no values. */
  result: TestResult | null;
  /** Whether the test says it drifted. */
  drifted: boolean;
  /** Whether the test came from the defaults or an override. */
  chosenBy: "default" | "override";
  /** PSI over the reference's decile bins (numeric) or categories, for information. */
  psi: number | null;
  /** Reference statistics. */
  reference: SideStats;
  /** Current statistics. */
  current: SideStats;
  /** Data-quality changes between the two sides. */
  quality: {
    missingShareChange: number;
    /** Share of current values outside the reference [min, max] (numeric). */
    outOfRangeShare: number | null;
    /** Share of current values in categories the reference never had, and the top ones. */
    unseenShare: number | null;
    unseen: [string, number][];
    flags: string[];
  };
  /** What the report plots. */
  plot: DistributionPlot;
  /** Why the column was not tested, or how, when unusual. */
  note?: string;
}

/** Prediction drift: the score distribution and the alert rate. */
export interface PredictionDrift {
  /** Drift of the score distribution. */
  scores: ColumnDrift;
  /** The served threshold. */
  threshold: number;
  /** Alert rates at the threshold, their ratio and the Z-test on them. */
  alertRate: {
    reference: number;
    current: number;
    ratio: number;
    z: TestResult;
    factor: number;
    drifted: boolean;
  };
  /** Whether the scores or the alert rate drifted. */
  drifted: boolean;
}

/**
 * Target drift: the fraud rate. By default it drifts when it changed by at
 * least `targetRateFactor` (either way) and a two-proportion Z-test says
 * the change is real; with a `target` test override, by that test alone.
 * (A distance such as Jensen–Shannon barely moves when a 0.5% rate
 * triples, so it is not the default for a rare class.)
 */
export interface TargetDrift {
  /** Label column. */
  label: string;
  /** Reference rows, fraud rows and fraud rate. */
  reference: { rows: number; positives: number; rate: number };
  /** Current rows, fraud rows and fraud rate. */
  current: { rows: number; positives: number; rate: number };
  /** Current rate over reference rate. */
  ratio: number;
  /** The rate-change factor applied, or null under a test override. */
  factor: number | null;
  /** The Z-test (or the override's test). */
  result: TestResult;
  /** Whether the test came from the defaults or an override. */
  chosenBy: "default" | "override";
  /** Whether the fraud rate drifted. */
  drifted: boolean;
}

/** Schema differences between the reference and the current file. */
export interface SchemaChanges {
  /** Reference columns the current file lacks. */
  missing: string[];
  /** Current columns the reference lacks. */
  extra: string[];
  /** Columns whose type changed. */
  typeChanged: { column: string; reference: string; current: string }[];
}

/** The whole comparison. */
export interface DriftResult {
  /** File format tag. */
  format: typeof DRIFT_FORMAT;
  /** When it was computed (ISO). */
  created: string;
  /** The reference side: rows, where they came from, label. */
  reference: {
    rows: number;
    source: ReferenceProfile["source"];
    created: string | null;
    label: string;
  };
  /** The current side: rows and label. */
  current: { rows: number; label: string };
  /** Share of drifted columns at which the dataset drifts. */
  driftShare: number;
  /** Whether the dataset drifted (drifted share ≥ driftShare). */
  datasetDrift: boolean;
  /** Columns that drifted. */
  driftedColumns: number;
  /** Columns tested. */
  testedColumns: number;
  /** driftedColumns / testedColumns. */
  driftedShareValue: number;
  /** Drifted columns first, then by column order. */
  columns: ColumnDrift[];
  /** Prediction drift, when the reference has scores. */
  prediction: PredictionDrift | null;
  /** Target drift, when both sides have labels. */
  target: TargetDrift | null;
  /** Schema differences. */
  schema: SchemaChanges;
  /** Drift verdict (dataset, prediction or target drift) and why. */
  drift: boolean;
  /** Why, one line each. */
  reasons: string[];
  /** What limits the comparison (small samples, missing labels…). */
  warnings: string[];
}

const NUMERIC_TESTS = new Set<DriftTestName>(["ks", "wasserstein", "psi", "jensenshannon"]);
const CATEGORICAL_TESTS = new Set<DriftTestName>(["chisquare", "z", "psi", "jensenshannon"]);

/** The default test for a column (see the module doc). */
export function defaultTest(
  referenceRows: number,
  testedAs: "numeric" | "categorical",
  categories = 0,
): DriftTestName {
  if (referenceRows <= SMALL_REFERENCE_MAX) {
    return testedAs === "numeric" ? "ks" : categories <= 2 ? "z" : "chisquare";
  }
  return testedAs === "numeric" ? "wasserstein" : "jensenshannon";
}

/** Checks an override and resolves the test to run. */
function chooseTest(
  column: string,
  testedAs: "numeric" | "categorical",
  referenceRows: number,
  categories: number,
  override: ColumnOverride | undefined,
): { test: DriftTestName; threshold: number; chosenBy: "default" | "override" } {
  const test = override?.test ?? defaultTest(referenceRows, testedAs, categories);
  if (!DRIFT_TESTS.includes(test)) {
    throw new UserError(`column "${column}": unknown test "${test}" (known: ${DRIFT_TESTS})`);
  }
  const allowed = testedAs === "numeric" ? NUMERIC_TESTS : CATEGORICAL_TESTS;
  if (!allowed.has(test)) {
    throw new UserError(
      `column "${column}" is tested as ${testedAs}; test "${test}" does not apply ` +
        `(use one of ${[...allowed].join(", ")})`,
    );
  }
  if (test === "z" && categories > 2) {
    throw new UserError(
      `column "${column}": the Z-test needs at most 2 categories, found ${categories} (use chisquare)`,
    );
  }
  const threshold = override?.threshold ?? DEFAULT_THRESHOLDS[test];
  if (!(Number.isFinite(threshold) && threshold > 0)) {
    throw new UserError(
      `column "${column}": threshold must be a positive number, got ${threshold}`,
    );
  }
  return {
    test,
    threshold,
    chosenBy: override?.test || override?.threshold ? "override" : "default",
  };
}

/**
 * Wasserstein-1 distance between a reference quantile function given by
 * knots (u ascending in [0, 1], linear between knots; equal u values make a
 * jump) and an ascending current sample: the exact integral of
 * |Q_ref(u) − Q_cur(u)| over u in [0, 1].
 */
export function wassersteinFromKnots(
  u: ArrayLike<number>,
  v: ArrayLike<number>,
  cur: Float64Array,
): number {
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

function shares(counts: ArrayLike<number>): number[] {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  return Array.from(counts, (c) => (total > 0 ? c / total : 0));
}

function missingShare(count: number, missing: number): number {
  return count + missing > 0 ? missing / (count + missing) : 0;
}

/** Values outside the reference range are flagged above this share (a few always fall outside). */
const OUT_OF_RANGE_FLAG = 0.001;

function qualityFlags(
  q: Omit<ColumnDrift["quality"], "flags">,
  tolerance: number,
): string[] {
  const flags: string[] = [];
  if (Math.abs(q.missingShareChange) > tolerance) {
    flags.push(
      `missing share ${q.missingShareChange > 0 ? "+" : ""}${
        (100 * q.missingShareChange).toFixed(1)
      } pts`,
    );
  }
  if (q.outOfRangeShare !== null && q.outOfRangeShare > OUT_OF_RANGE_FLAG) {
    flags.push(`${(100 * q.outOfRangeShare).toFixed(2)}% outside the reference range`);
  }
  if (q.unseenShare !== null && q.unseenShare > 0) {
    flags.push(`${(100 * q.unseenShare).toFixed(2)}% in unseen categories`);
  }
  return flags;
}

/** Compares a numeric column with its profile. */
export function compareNumeric(
  column: string,
  p: NumericProfile,
  values: ArrayLike<number>,
  referenceRows: number,
  options: DriftOptions = {},
  override?: ColumnOverride,
): ColumnDrift {
  if (p.discrete) {
    const cats = p.discrete.map(([v, c]) => [String(v), c] as [string, number]);
    const strings = Array.from(values, (v) => (v === v ? String(v) : null));
    return compareCategorical(
      column,
      {
        type: "categorical",
        count: p.count,
        missing: p.missing,
        categories: cats,
        other: { count: 0, distinct: 0 },
      },
      strings,
      referenceRows,
      options,
      override,
      "numeric",
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
  const choice = chooseTest(column, "numeric", referenceRows, 0, override);
  const plotEdges = p.histogram.edges;
  if (m === 0) {
    return {
      column,
      type: "numeric",
      testedAs: "numeric",
      result: null,
      drifted: true,
      chosenBy: choice.chosenBy,
      psi: null,
      reference,
      current: { count: 0, missing: finite.missing, missingShare: 1 },
      quality: withFlags({
        missingShareChange: 1 - reference.missingShare,
        outOfRangeShare: null,
        unseenShare: null,
        unseen: [],
      }, options),
      plot: {
        kind: "histogram",
        edges: plotEdges,
        reference: shares(p.histogram.counts),
        current: p.histogram.counts.map(() => 0),
      },
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
      const statistic = wassersteinFromKnots(u, v, cs) / Math.max(p.std, 0.001);
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
    column,
    type: "numeric",
    testedAs: "numeric",
    result,
    drifted: result.drifted,
    chosenBy: choice.chosenBy,
    psi,
    reference,
    current,
    quality: withFlags({
      missingShareChange: current.missingShare - reference.missingShare,
      outOfRangeShare: outside / m,
      unseenShare: null,
      unseen: [],
    }, options),
    plot: {
      kind: "histogram",
      edges: plotEdges,
      reference: shares(p.histogram.counts),
      current: shares(curHist),
    },
  };
}

function withFlags(
  q: Omit<ColumnDrift["quality"], "flags">,
  options: DriftOptions,
): ColumnDrift["quality"] {
  return { ...q, flags: qualityFlags(q, options.missingShareTolerance ?? 0.05) };
}

const OTHER = "(other)";
const PLOT_BARS = 15;

/** Compares a categorical column (or a discrete numeric one) with its profile. */
export function compareCategorical(
  column: string,
  p: CategoricalProfile,
  values: ArrayLike<string | null>,
  referenceRows: number,
  options: DriftOptions = {},
  override?: ColumnOverride,
  type: "numeric" | "categorical" = "categorical",
): ColumnDrift {
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
  const choice = chooseTest(column, "categorical", referenceRows, labels.length, override);
  const unseenTotal = unseen.reduce((s, [, c]) => s + c, 0);
  const quality = withFlags({
    missingShareChange: current.missingShare - reference.missingShare,
    outOfRangeShare: null,
    unseenShare: curTotal > 0 ? unseenTotal / curTotal : null,
    unseen: unseen.slice(0, 10),
  }, options);
  const plot = barsPlot(labels, refCounts, curCounts);
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
function barsPlot(labels: string[], ref: number[], cur: number[]): DistributionPlot {
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

const percent = (x: number, digits = 1) => sharePercent(x, digits);

/** Describes a test result in a few words ("wasserstein 0.23 ≥ 0.1"). */
export function describeResult(r: TestResult): string {
  if (r.pValue !== null) {
    return `${r.test} p=${r.pValue.toExponential(2)} ${r.drifted ? "<" : "≥"} ${r.threshold}`;
  }
  return `${r.test} ${r.statistic.toFixed(3)} ${r.drifted ? "≥" : "<"} ${r.threshold}`;
}

/**
 * Compares current data with a reference profile (see the module doc).
 * `schema` lists columns the current file lacks or adds; missing columns
 * count as drifted.
 */
export function compareToProfile(
  profile: ReferenceProfile,
  current: CurrentData,
  options: DriftOptions = {},
  context: {
    referenceLabel?: string;
    currentLabel?: string;
    schema?: SchemaChanges;
    warnings?: string[];
  } = {},
): DriftResult {
  const driftShare = options.driftShare ?? 0.5;
  if (!(driftShare > 0 && driftShare <= 1)) {
    throw new UserError(`drift share must be in (0, 1], got ${driftShare}`);
  }
  for (const name of Object.keys(options.columns ?? {})) {
    if (!profile.columns[name]) {
      throw new UserError(
        `override for column "${name}": the reference has no such column ` +
          `(columns: ${profile.schema.map((c) => c.name).join(", ")})`,
      );
    }
  }
  const schema = context.schema ?? { missing: [], extra: [], typeChanged: [] };
  const columns: ColumnDrift[] = [];
  let lost = 0;
  for (const { name } of profile.schema) {
    const p = profile.columns[name];
    const override = options.columns?.[name];
    if (p.type === "numeric" && current.numeric[name]) {
      columns.push(compareNumeric(name, p, current.numeric[name], profile.rows, options, override));
    } else if (p.type === "categorical" && current.categorical[name]) {
      columns.push(
        compareCategorical(name, p, current.categorical[name], profile.rows, options, override),
      );
    } else {
      lost++;
      if (!schema.missing.includes(name)) schema.missing.push(name);
    }
  }
  const order = new Map(profile.schema.map((c, i) => [c.name, i]));
  columns.sort((a, b) =>
    Number(b.drifted) - Number(a.drifted) || order.get(a.column)! - order.get(b.column)!
  );
  const tested = columns.length + lost;
  const drifted = columns.filter((c) => c.drifted).length + lost;
  const share = tested > 0 ? drifted / tested : 0;
  const datasetDrift = tested > 0 && share >= driftShare;

  const reasons: string[] = [];
  if (datasetDrift) {
    reasons.push(
      `dataset drift: ${drifted} of ${tested} columns drifted (${percent(share)} ≥ ${
        percent(driftShare, 0)
      })`,
    );
  }
  const prediction = comparePrediction(profile, current, options);
  if (prediction?.scores.drifted && prediction.scores.result) {
    reasons.push(`prediction drift: score ${describeResult(prediction.scores.result)}`);
  }
  if (prediction?.alertRate.drifted) {
    const a = prediction.alertRate;
    reasons.push(
      `alert rate ${percent(a.reference, 2)} → ${percent(a.current, 2)} (×${a.ratio.toFixed(2)})`,
    );
  }
  const target = compareTarget(profile, current, options);
  if (target?.drifted) {
    reasons.push(
      `target drift: fraud rate ${percent(target.reference.rate, 2)} → ${
        percent(target.current.rate, 2)
      } (${describeResult(target.result)})`,
    );
  }
  const warnings = [...(context.warnings ?? [])];
  if (lost > 0) {
    warnings.push(`current data lacks ${lost} reference column(s): ${schema.missing.join(", ")}`);
  }
  return {
    format: DRIFT_FORMAT,
    created: new Date().toISOString(),
    reference: {
      rows: profile.rows,
      source: profile.source,
      created: profile.created,
      label: context.referenceLabel ?? profile.source.path,
    },
    current: { rows: current.rows, label: context.currentLabel ?? "current" },
    driftShare,
    datasetDrift,
    driftedColumns: drifted,
    testedColumns: tested,
    driftedShareValue: share,
    columns,
    prediction,
    target,
    schema,
    drift: datasetDrift || Boolean(prediction?.drifted) || Boolean(target?.drifted),
    reasons,
    warnings,
  };
}

function comparePrediction(
  profile: ReferenceProfile,
  current: CurrentData,
  options: DriftOptions,
): PredictionDrift | null {
  const ref = profile.prediction;
  if (!ref || !current.scores || current.scores.length === 0) return null;
  const scores = compareNumeric(
    "score",
    ref.scores,
    Float64Array.from(current.scores),
    ref.rows,
    options,
    options.prediction,
  );
  let alerts = 0;
  for (let i = 0; i < current.scores.length; i++) {
    alerts += Number(current.scores[i] >= ref.threshold);
  }
  const rate = rateChange(
    { hits: ref.alerts, n: ref.rows },
    { hits: alerts, n: current.scores.length },
    options.alertRateFactor ?? 2,
    "alert rate",
  );
  const { result: z, ...change } = rate;
  return {
    scores,
    threshold: ref.threshold,
    alertRate: { ...change, z },
    drifted: scores.drifted || rate.drifted,
  };
}

/**
 * The rate rule for rare events (alerts, fraud): drifted when the rate
 * changed by at least `factor` either way and a two-proportion Z-test gives
 * p below its threshold.
 */
function rateChange(
  reference: { hits: number; n: number },
  current: { hits: number; n: number },
  factor: number,
  what: string,
  threshold?: number,
): {
  reference: number;
  current: number;
  ratio: number;
  factor: number;
  result: TestResult;
  drifted: boolean;
} {
  if (!(factor > 1)) throw new UserError(`${what} factor must be > 1, got ${factor}`);
  const r0 = reference.hits / reference.n, r1 = current.hits / current.n;
  const ratio = r0 > 0 ? r1 / r0 : r1 > 0 ? Infinity : 1;
  const result = zTest(reference, current, { threshold });
  const drifted = result.drifted && (ratio >= factor || ratio <= 1 / factor);
  return { reference: r0, current: r1, ratio, factor, result, drifted };
}

function compareTarget(
  profile: ReferenceProfile,
  current: CurrentData,
  options: DriftOptions,
): TargetDrift | null {
  const ref = profile.target;
  if (!ref || !current.labels || current.labels.length === 0) return null;
  let positives = 0;
  for (let i = 0; i < current.labels.length; i++) positives += Number(current.labels[i] === 1);
  const n = current.labels.length;
  const rate = rateChange(
    { hits: ref.positives, n: ref.rows },
    { hits: positives, n },
    options.targetRateFactor ?? 2,
    "target rate",
    options.target?.threshold,
  );
  const refCounts = [ref.rows - ref.positives, ref.positives],
    curCounts = [n - positives, positives];
  const base = {
    label: ref.label,
    reference: { rows: ref.rows, positives: ref.positives, rate: rate.reference },
    current: { rows: n, positives, rate: rate.current },
    ratio: rate.ratio,
  };
  if (!options.target?.test) {
    const { result, factor, drifted } = rate;
    return { ...base, result, factor, chosenBy: "default", drifted };
  }
  const choice = chooseTest(ref.label, "categorical", ref.rows, 2, options.target);
  let result: TestResult;
  switch (choice.test) {
    case "z":
      result = zTest({ hits: ref.positives, n: ref.rows }, { hits: positives, n }, choice);
      break;
    case "chisquare":
      result = chiSquareTest(refCounts, curCounts, choice);
      break;
    case "psi":
      result = psiFromCounts(refCounts, curCounts, choice);
      break;
    default:
      result = jensenShannonTest(refCounts, curCounts, choice);
  }
  return { ...base, result, factor: null, chosenBy: "override", drifted: result.drifted };
}
