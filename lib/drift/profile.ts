/**
 * Reference profiles: everything drift monitoring needs to know about the
 * reference data, without the data. A run computes one from its training
 * rows (and its validation scores) and stores it as `profile.json`; the
 * drift task compares a current file against it.
 *
 * Per numeric column: counts, missing values, min/max/mean/std, 1,001
 * quantiles (p = k/1000), the 256 lowest and highest values, decile bins with counts (PSI), 40 equal-width bins
 * over the 0.5–99.5% range plus an underflow and an overflow bin (plots,
 * Jensen–Shannon), and a seeded reservoir sample of at most 5,000 values
 * (KS). A numeric column with at most 5 distinct values also keeps its value
 * counts, since the default test choice treats it as categorical.
 * Per categorical column: counts, missing values and the counts of the 200
 * most frequent categories (the rest summed as one "other" count).
 * @module
 */
import { Rng } from "../util/rng.ts";
import { UserError } from "../util/errors.ts";
import { binOf, quantileSorted } from "./tests.ts";
import { sortFloat64 } from "../util/sort.ts";

/** Format tag of a stored profile. */
export const PROFILE_FORMAT = "fraudlab.profile/1";
/** Quantile grid resolution: quantiles at p = k / QUANTILE_STEPS. */
export const QUANTILE_STEPS = 1000;
/** Order statistics kept exactly at each end of a numeric column. */
export const TAIL_VALUES = 256;
/** A numeric column with at most this many distinct values is tested as categorical. */
export const DISCRETE_MAX = 5;

/** How a profile is built. */
export interface ReferenceOptions {
  /** Reservoir sample size per numeric column. Default 5000. */
  sampleSize?: number;
  /** Seed of the reservoir samples. Default 0. */
  seed?: number;
  /** Equal-width histogram bins (plus underflow and overflow). Default 40. */
  histogramBins?: number;
  /** Categories kept per categorical column. Default 200. */
  maxCategories?: number;
}

/** Profile of one numeric column. */
export interface NumericProfile {
  /** Numeric column. */
  type: "numeric";
  /** Non-missing values. */
  count: number;
  /** Missing values. */
  missing: number;
  /** Smallest value. */
  min: number;
  /** Largest value. */
  max: number;
  /** Mean. */
  mean: number;
  /** Population standard deviation. */
  std: number;
  /** Value counts when the column has at most {@linkcode DISCRETE_MAX} distinct values, else null. */
  discrete: [number, number][] | null;
  /** QUANTILE_STEPS + 1 quantiles (type 7) at p = k / QUANTILE_STEPS. */
  quantiles: number[];
  /**
   * The TAIL_VALUES lowest and highest values, ascending (all values in
   * `low` and none in `high` when there are at most twice that many).
   */
  tails: { low: number[]; high: number[] };
  /** Decile bins: inner edges (right-closed) and counts. */
  deciles: { edges: number[]; counts: number[] };
  /** Equal-width bins: edges (bins + 1) and counts (underflow, bins…, overflow). */
  histogram: { edges: number[]; counts: number[] };
  /** Seeded reservoir sample (in reservoir order). */
  sample: number[];
}

/** Profile of one categorical column. */
export interface CategoricalProfile {
  /** Categorical column. */
  type: "categorical";
  /** Non-missing values. */
  count: number;
  /** Missing values. */
  missing: number;
  /** Counts of the most frequent categories, most frequent first. */
  categories: [string, number][];
  /** Rows in categories beyond the kept ones, and how many such categories. */
  other: { count: number; distinct: number };
}

/** Profile of one column. */
export type ReferenceColumn = NumericProfile | CategoricalProfile;

/** A stored reference profile. */
export interface ReferenceProfile {
  /** File format tag. */
  format: typeof PROFILE_FORMAT;
  /** When it was computed; null inside a run (run.json dates it, and run files stay reproducible). */
  created: string | null;
  /** Rows profiled. */
  rows: number;
  /** Where the rows came from (file, sha256, which rows). */
  source: { path: string; sha256: string; rows: string };
  /** Feature columns in spec order with their type. */
  schema: { name: string; type: "numeric" | "categorical" }[];
  /** Each column's profile, by name. */
  columns: Record<string, ReferenceColumn>;
  /** Label counts of the profiled rows, when labelled. */
  target: { label: string; rows: number; positives: number } | null;
  /** The model's scores on its validation rows, with the alert threshold. */
  prediction: {
    rows: number;
    threshold: number;
    alerts: number;
    scores: NumericProfile;
  } | null;
  /** The options it was computed with. */
  options: Required<ReferenceOptions>;
}

/** Fills in profile option defaults. */
export function profileOptions(o: ReferenceOptions = {}): Required<ReferenceOptions> {
  return {
    sampleSize: o.sampleSize ?? 5000,
    seed: o.seed ?? 0,
    histogramBins: o.histogramBins ?? 40,
    maxCategories: o.maxCategories ?? 200,
  };
}

/** The non-missing (non-NaN) values of a column, in order, and how many were missing. */
export function finiteValues(values: ArrayLike<number>): { values: Float64Array; missing: number } {
  const out = new Float64Array(values.length);
  let k = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[k] = v;
    k += Number(v === v);
  }
  return { values: k === values.length ? out : out.slice(0, k), missing: values.length - k };
}

/**
 * A seeded reservoir sample (Li's algorithm L: the number of values skipped
 * between replacements is drawn directly, so the cost grows with the sample,
 * not the stream).
 */
export function reservoirSample(
  values: ArrayLike<number>,
  options: { size: number; seed: number },
): number[] {
  const { size, seed } = options;
  const n = values.length;
  if (n <= size) return Array.from(values);
  const rng = new Rng(seed);
  const res = Array.from({ length: size }, (_, i) => values[i]);
  const u = () => 1 - rng.random(); // (0, 1]
  let w = Math.exp(Math.log(u()) / size);
  let i = size - 1;
  for (;;) {
    i += Math.floor(Math.log(u()) / Math.log(1 - w)) + 1;
    if (!(i < n)) break;
    res[rng.int(size)] = values[i];
    w *= Math.exp(Math.log(u()) / size);
  }
  return res;
}

/** Counts of an ascending array in right-closed bins of `edges` (edges.length + 1 bins). */
export function sortedBinCounts(sorted: Float64Array, edges: ArrayLike<number>): number[] {
  const counts: number[] = [];
  let prev = 0;
  for (let k = 0; k < edges.length; k++) {
    const upto = upperBound(sorted, edges[k]);
    counts.push(upto - prev);
    prev = upto;
  }
  counts.push(sorted.length - prev);
  return counts;
}

/** Number of elements ≤ x in an ascending array. */
export function upperBound(sorted: ArrayLike<number>, x: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of elements < x in an ascending array. */
export function lowerBound(sorted: ArrayLike<number>, x: number): number {
  return binOf(sorted, x);
}

/**
 * Counts in the equal-width histogram bins `edges` of an ascending array:
 * [underflow (< edges[0]), bins (left-closed, the last one closed),
 * overflow (> last edge)].
 */
export function sortedHistogram(sorted: Float64Array, edges: ArrayLike<number>): number[] {
  const counts: number[] = [lowerBound(sorted, edges[0])];
  let prev = counts[0];
  for (let k = 1; k < edges.length; k++) {
    const upto = k === edges.length - 1
      ? upperBound(sorted, edges[k])
      : lowerBound(sorted, edges[k]);
    counts.push(upto - prev);
    prev = upto;
  }
  counts.push(sorted.length - prev);
  return counts;
}

/** Value counts of an ascending array if it has at most `max` distinct values, else null. */
function discreteCounts(sorted: Float64Array, max: number): [number, number][] | null {
  const out: [number, number][] = [];
  let i = 0;
  while (i < sorted.length) {
    if (out.length === max) return null;
    const v = sorted[i], end = upperBound(sorted, v);
    out.push([v, end - i]);
    i = end;
  }
  return out;
}

/** Mean and population standard deviation. */
export function moments(values: Float64Array): { mean: number; std: number } {
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i];
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i] - mean;
    ss += d * d;
  }
  return { mean, std: Math.sqrt(ss / n) };
}

/** Equal-width histogram edges over the 0.5–99.5% range (the full range when that is empty). */
function histogramEdges(sorted: Float64Array, bins: number): number[] {
  let lo = quantileSorted(sorted, 0.005), hi = quantileSorted(sorted, 0.995);
  if (!(hi > lo)) [lo, hi] = [sorted[0], sorted[sorted.length - 1]];
  if (!(hi > lo)) return [lo, lo];
  return Array.from({ length: bins + 1 }, (_, k) => k === bins ? hi : lo + ((hi - lo) * k) / bins);
}

/**
 * Profiles a numeric column (NaN = missing). `sorted` may pass the already
 * sorted non-missing values to skip the sort.
 */
export function profileNumeric(
  values: ArrayLike<number>,
  options: ReferenceOptions & {
    /** The finite values already sorted ascending (skips the sort). */
    sorted?: Float64Array;
  } = {},
): NumericProfile {
  const sorted = options.sorted;
  const o = profileOptions(options);
  const finite = finiteValues(values);
  const n = finite.values.length;
  if (n === 0) {
    throw new UserError("cannot profile a numeric column whose values are all missing");
  }
  const s = sorted ?? sortFloat64(finite.values);
  const quantiles = Array.from(
    { length: QUANTILE_STEPS + 1 },
    (_, k) => quantileSorted(s, k / QUANTILE_STEPS),
  );
  const decileEdges = Array.from({ length: 9 }, (_, k) => quantiles[(k + 1) * 100]);
  const edges = histogramEdges(s, o.histogramBins);
  return {
    type: "numeric",
    count: n,
    missing: finite.missing,
    min: s[0],
    max: s[n - 1],
    ...moments(s),
    discrete: discreteCounts(s, DISCRETE_MAX),
    quantiles,
    tails: n <= 2 * TAIL_VALUES ? { low: Array.from(s), high: [] } : {
      low: Array.from(s.subarray(0, TAIL_VALUES)),
      high: Array.from(s.subarray(n - TAIL_VALUES)),
    },
    deciles: { edges: decileEdges, counts: sortedBinCounts(s, decileEdges) },
    histogram: { edges, counts: sortedHistogram(s, edges) },
    sample: reservoirSample(finite.values, { size: o.sampleSize, seed: o.seed }),
  };
}

/** Value counts of a string column (null = missing), most frequent first, ties by name. */
export function categoryCounts(values: ArrayLike<string | null>): {
  counts: [string, number][];
  missing: number;
} {
  const map = new Map<string, number>();
  let missing = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || v === "") missing++;
    else map.set(v, (map.get(v) ?? 0) + 1);
  }
  const counts = [...map].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { counts, missing };
}

/** Profiles a categorical column (null or "" = missing). */
export function profileCategorical(
  values: ArrayLike<string | null>,
  options: ReferenceOptions = {},
): CategoricalProfile {
  const o = profileOptions(options);
  const { counts, missing } = categoryCounts(values);
  const kept = counts.slice(0, o.maxCategories), rest = counts.slice(o.maxCategories);
  return {
    type: "categorical",
    count: values.length - missing,
    missing,
    categories: kept,
    other: { count: rest.reduce((s, [, c]) => s + c, 0), distinct: rest.length },
  };
}

/** Checks that a value read from JSON is a profile this version understands. */
export function profileFromJSON(value: unknown, source: string): ReferenceProfile {
  const p = value as Partial<ReferenceProfile> | null;
  if (typeof p !== "object" || p === null || p.format !== PROFILE_FORMAT) {
    throw new UserError(
      `${source}: not a fraudlab reference profile (expected "format": "${PROFILE_FORMAT}")`,
    );
  }
  if (typeof p.columns !== "object" || !Array.isArray(p.schema) || !(Number(p.rows) > 0)) {
    throw new UserError(`${source}: profile lacks its columns, schema or row count`);
  }
  return p as ReferenceProfile;
}
