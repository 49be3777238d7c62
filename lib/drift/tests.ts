/**
 * Two-sample drift tests: reference sample vs current sample of one column.
 * Each returns its statistic, a p-value where the test has one, the
 * threshold it was judged against and whether the column drifted.
 *
 * Definitions follow scipy (checked against it on fixtures, see
 * tests_test.ts) and the drift conventions of Evidently:
 * - `ks`: two-sample Kolmogorov–Smirnov, two-sided; drift when p < threshold.
 *   p-value as scipy's `ks_2samp(method="auto")` for samples up to 10,000
 *   rows (exact lattice-path probability); above that the asymptotic
 *   Kolmogorov distribution Q_KS(√(nm/(n+m))·D) (`kstwobign.sf`).
 * - `psi`: population stability index over bins from reference quantiles;
 *   drift when PSI ≥ threshold.
 * - `chisquare`: chi-square test of the 2 × K table of category counts
 *   (scipy `chi2_contingency`, Yates' correction when K = 2); drift when
 *   p < threshold.
 * - `z`: two-proportion Z-test for a two-category column; drift when
 *   p < threshold.
 * - `wasserstein`: Wasserstein-1 distance divided by the reference standard
 *   deviation (floored at 0.001); drift when ≥ threshold.
 * - `jensenshannon`: Jensen–Shannon distance (base 2) between two
 *   distributions over the same bins; drift when ≥ threshold.
 *
 * Special functions come from stdlib-js (regularized incomplete gamma for
 * chi-square, erfc for the normal tail); the KS path counts are written
 * here because no npm package computes them.
 *
 * One file: the six two-sample tests share judging against thresholds and
 * the p-value helpers, and each is short.
 * @module
 */
import gammainc from "@stdlib/math-base-special-gammainc";
import erfc from "@stdlib/math-base-special-erfc";
import { UserError } from "../util/errors.ts";

/** Names of the drift tests. */
export type DriftTestName = "ks" | "psi" | "chisquare" | "z" | "wasserstein" | "jensenshannon";

/** Every test name, for validation and help text. */
export const DRIFT_TESTS: readonly DriftTestName[] = [
  "ks",
  "psi",
  "chisquare",
  "z",
  "wasserstein",
  "jensenshannon",
];

/** Default drift thresholds (Evidently's defaults). */
export const DEFAULT_THRESHOLDS: Record<DriftTestName, number> = {
  ks: 0.05,
  psi: 0.1,
  chisquare: 0.05,
  z: 0.05,
  wasserstein: 0.1,
  jensenshannon: 0.1,
};

/** Tests judged on a p-value (drift when p < threshold); the others on a distance (≥). */
export const P_VALUE_TESTS: ReadonlySet<DriftTestName> = new Set(["ks", "chisquare", "z"]);

/** The outcome of one test on one column. */
export interface TestResult {
  /** Which test. */
  test: DriftTestName;
  /** Its statistic (KS D, chi-square, Z, or a distance). */
  statistic: number;
  /** p-value for ks, chisquare and z; null for distances. */
  pValue: number | null;
  /** The threshold it was judged against. */
  threshold: number;
  /** Whether it says the column drifted. */
  drifted: boolean;
  /** How the p-value was computed, where there is a choice (ks: exact | asymptotic). */
  method?: string;
}

/** Judges a statistic or p-value against a threshold (see the module doc). */
export function judge(
  test: DriftTestName,
  value: { statistic: number; pValue: number | null; method?: string },
  threshold = DEFAULT_THRESHOLDS[test],
): TestResult {
  const drifted = P_VALUE_TESTS.has(test)
    ? (value.pValue as number) < threshold
    : value.statistic >= threshold;
  return { test, ...value, threshold, drifted };
}

function sortedCopy(a: ArrayLike<number>, name: string): Float64Array {
  const out = Float64Array.from(a);
  for (let i = 0; i < out.length; i++) {
    if (Number.isNaN(out[i])) {
      throw new UserError(`${name}: NaN in the sample (drop missing first)`);
    }
  }
  return out.sort();
}

function nonEmpty(n: number, m: number, test: string): void {
  if (n === 0 || m === 0) {
    throw new UserError(`${test}: the ${n === 0 ? "reference" : "current"} sample is empty`);
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * The two-sample KS statistic D = max |F_ref − F_cur| over every observed
 * value, from two ascending samples.
 */
function ksStatistic(a: Float64Array, b: Float64Array): number {
  const n = a.length, m = b.length;
  let i = 0, j = 0, d = 0;
  while (i < n && j < m) {
    const x = a[i] <= b[j] ? a[i] : b[j];
    while (i < n && a[i] <= x) i++;
    while (j < m && b[j] <= x) j++;
    const diff = Math.abs(i / n - j / m);
    if (diff > d) d = diff;
  }
  return d;
}

/**
 * P(D ≥ h/n) for two samples of equal size n: the alternating sum of
 * binomial ratios, in nested (Horner-like) form to avoid cancellation.
 */
function probOutsideSquare(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let a = 1;
    for (let j = 0; j < h; j++) a = ((n - k * h - j) * a) / (n + k * h + j + 1);
    p = a * (1 - p);
  }
  return 2 * p;
}

/**
 * P(D ≥ d) for sample sizes n ≠ m, d = h / lcm(n, m): the share of monotone
 * lattice paths from (0, 0) to (n, m) that reach the band edge
 * |x·m/g − y·n/g| ≥ h. Paths are weighted as a uniform random interleaving
 * (from (x, y) the next value comes from the first sample with probability
 * (n − x)/(n + m − x − y)), so every mass stays in [0, 1]; the mass of each
 * step that leaves the band is summed directly, which keeps tiny p-values
 * accurate (no 1 − P(inside) cancellation).
 */
function probOutsideBand(n: number, m: number, h: number): number {
  const g = gcd(n, m), mg = m / g, ng = n / g;
  const inside = (x: number, y: number) => Math.abs(x * mg - y * ng) < h;
  // cur[y] = mass at (x, y) of paths still inside; nxt = column x + 1.
  let cur = new Float64Array(m + 1), nxt = new Float64Array(m + 1);
  cur[0] = 1;
  let out = 0;
  for (let x = 0; x <= n; x++) {
    nxt.fill(0);
    // Rows of this column reachable inside the band.
    const yLo = Math.max(0, Math.floor((x * mg - h) / ng)),
      yHi = Math.min(m, Math.ceil((x * mg + h) / ng));
    for (let y = yLo; y <= yHi; y++) {
      const mass = cur[y];
      if (mass === 0) continue;
      const left = n + m - x - y;
      if (left === 0) continue; // (n, m)
      if (y < m) {
        const p = (mass * (m - y)) / left;
        if (inside(x, y + 1)) cur[y + 1] += p;
        else out += p;
      }
      if (x < n) {
        const p = (mass * (n - x)) / left;
        if (inside(x + 1, y)) nxt[y] += p;
        else out += p;
      }
    }
    [cur, nxt] = [nxt, cur];
  }
  return Math.min(1, out);
}

/** Q_KS(x) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²x²}, the Kolmogorov limiting survival function. */
export function kolmogorovSurvival(x: number): number {
  if (x <= 0) return 1;
  if (x < 0.2) return 1; // the series converges slowly here and Q_KS(0.2) = 1 − 1e-12
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(-2 * k * k * x * x);
    sum += k % 2 ? term : -term;
    if (term < 1e-17) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/** Samples up to this size get the exact KS p-value (scipy's 'auto' rule). */
export const KS_EXACT_MAX = 10_000;

/**
 * Two-sample Kolmogorov–Smirnov test (two-sided). Missing values must be
 * dropped first.
 */
export function ksTest(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  options: { threshold?: number } = {},
): TestResult {
  const a = sortedCopy(reference, "ks"), b = sortedCopy(current, "ks");
  const n = a.length, m = b.length;
  nonEmpty(n, m, "ks");
  let d = ksStatistic(a, b);
  let pValue: number, method: string;
  if (Math.max(n, m) <= KS_EXACT_MAX) {
    const g = gcd(n, m), lcm = (n / g) * m;
    const h = Math.round(d * lcm);
    d = h / lcm;
    method = "exact";
    pValue = h === 0 ? 1 : n === m ? probOutsideSquare(n, h) : probOutsideBand(n, m, h);
    pValue = Math.min(1, Math.max(0, pValue));
  } else {
    method = "asymptotic";
    pValue = kolmogorovSurvival(Math.sqrt((n * m) / (n + m)) * d);
  }
  return judge("ks", { statistic: d, pValue, method }, options.threshold);
}

/**
 * Quantile with linear interpolation between order statistics (numpy's
 * default, Hyndman–Fan type 7) of an ascending array.
 */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) throw new UserError("quantile of an empty sample");
  const h = (n - 1) * p, lo = Math.floor(h);
  if (lo + 1 >= n) return sorted[n - 1];
  return sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]);
}

/** Index of the right-closed bin of x: the number of edges strictly below x. */
export function binOf(edges: ArrayLike<number>, x: number): number {
  let lo = 0, hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Inner edges of `bins` quantile bins of a sample (k/bins, k = 1..bins−1). */
export function quantileEdges(sample: ArrayLike<number>, bins = 10): Float64Array {
  const s = sortedCopy(sample, "quantile edges");
  if (s.length === 0) throw new UserError("quantile edges of an empty sample");
  return Float64Array.from({ length: bins - 1 }, (_, k) => quantileSorted(s, (k + 1) / bins));
}

/** Counts of a sample in the right-closed bins of `edges` (edges.length + 1 bins). */
export function binCounts(edges: ArrayLike<number>, sample: ArrayLike<number>): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  for (let i = 0; i < sample.length; i++) counts[binOf(edges, sample[i])]++;
  return counts;
}

/** Totals of two count vectors over the same bins; refuses mismatched or empty ones. */
function binTotals(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  test: string,
): [number, number] {
  if (reference.length !== current.length) {
    throw new UserError(`${test}: ${reference.length} reference bins vs ${current.length} current`);
  }
  let sr = 0, sc = 0;
  for (let i = 0; i < reference.length; i++) {
    sr += reference[i];
    sc += current[i];
  }
  nonEmpty(sr, sc, test);
  return [sr, sc];
}

/**
 * PSI = Σ (q − p) ln(q / p) over bins, p the reference share and q the
 * current share; a share of 0 becomes `eps` (no renormalization).
 */
export function psiFromCounts(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  options: { eps?: number; threshold?: number } = {},
): TestResult {
  const eps = options.eps ?? 1e-6;
  const [sr, sc] = binTotals(reference, current, "psi");
  let psi = 0;
  for (let i = 0; i < reference.length; i++) {
    const p = reference[i] / sr || eps, q = current[i] / sc || eps;
    psi += (q - p) * Math.log(q / p);
  }
  return judge("psi", { statistic: psi, pValue: null }, options.threshold);
}

/** PSI of two raw samples with `bins` quantile bins from the reference. */
export function psiTest(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  options: { bins?: number; eps?: number; threshold?: number } = {},
): TestResult & {
  edges: Float64Array;
  referenceCounts: Float64Array;
  currentCounts: Float64Array;
} {
  const edges = quantileEdges(reference, options.bins ?? 10);
  const referenceCounts = binCounts(edges, reference), currentCounts = binCounts(edges, current);
  return {
    ...psiFromCounts(referenceCounts, currentCounts, options),
    edges,
    referenceCounts,
    currentCounts,
  };
}

/**
 * Chi-square test of a 2 × K contingency table (reference counts, current
 * counts per category): expected = row total × column total / N, Yates'
 * continuity correction when K = 2, p from the chi-square survival function
 * with K − 1 degrees of freedom. Categories with zero count on both sides
 * are dropped.
 */
export function chiSquareTest(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  options: { threshold?: number } = {},
): TestResult & { dof: number } {
  if (reference.length !== current.length) {
    throw new UserError(
      `chisquare: ${reference.length} reference categories vs ${current.length} current`,
    );
  }
  const r: number[] = [], c: number[] = [];
  for (let i = 0; i < reference.length; i++) {
    if (reference[i] + current[i] > 0) {
      r.push(reference[i]);
      c.push(current[i]);
    }
  }
  const R = r.reduce((s, v) => s + v, 0), C = c.reduce((s, v) => s + v, 0);
  nonEmpty(R, C, "chisquare");
  if (r.length < 2) throw new UserError("chisquare: fewer than 2 categories");
  const N = R + C, dof = r.length - 1;
  let chi2 = 0;
  for (let k = 0; k < r.length; k++) {
    const col = r[k] + c[k];
    for (const [obs, rowTotal] of [[r[k], R], [c[k], C]]) {
      const exp = (rowTotal * col) / N;
      let diff = obs - exp;
      if (dof === 1) diff = Math.sign(diff) * Math.max(0, Math.abs(diff) - 0.5);
      chi2 += (diff * diff) / exp;
    }
  }
  const pValue = gammainc(chi2 / 2, dof / 2, true, true);
  return { ...judge("chisquare", { statistic: chi2, pValue }, options.threshold), dof };
}

/**
 * Two-proportion Z-test: the share of one category in each sample (counts
 * `hits` out of `n`), pooled standard error, two-sided normal p-value.
 */
export function zTest(
  reference: { hits: number; n: number },
  current: { hits: number; n: number },
  options: { threshold?: number } = {},
): TestResult {
  nonEmpty(reference.n, current.n, "z");
  const p1 = reference.hits / reference.n, p2 = current.hits / current.n;
  const pooled = (reference.hits + current.hits) / (reference.n + current.n);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / reference.n + 1 / current.n));
  // Both samples all one category: no evidence of a difference.
  const z = se === 0 ? 0 : (p1 - p2) / se;
  return judge("z", { statistic: z, pValue: erfc(Math.abs(z) / Math.SQRT2) }, options.threshold);
}

/**
 * Wasserstein-1 distance between two samples (the area between their
 * empirical CDFs, scipy's `wasserstein_distance`).
 */
export function wassersteinDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const x = sortedCopy(a, "wasserstein"), y = sortedCopy(b, "wasserstein");
  const n = x.length, m = y.length;
  nonEmpty(n, m, "wasserstein");
  let i = 0, j = 0, prev = Math.min(x[0], y[0]), area = 0;
  while (i < n || j < m) {
    const v = j >= m || (i < n && x[i] <= y[j]) ? x[i] : y[j];
    area += Math.abs(i / n - j / m) * (v - prev);
    while (i < n && x[i] === v) i++;
    while (j < m && y[j] === v) j++;
    prev = v;
  }
  return area;
}

/** Population standard deviation (ddof 0). */
export function populationStd(a: ArrayLike<number>): number {
  let mean = 0;
  for (let i = 0; i < a.length; i++) mean += a[i];
  mean /= a.length;
  let ss = 0;
  for (let i = 0; i < a.length; i++) ss += (a[i] - mean) * (a[i] - mean);
  return Math.sqrt(ss / a.length);
}

/** Wasserstein distance divided by the reference standard deviation (floor 0.001). */
export function wassersteinTest(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  options: { threshold?: number; referenceStd?: number } = {},
): TestResult {
  const std = Math.max(options.referenceStd ?? populationStd(reference), 0.001);
  const statistic = wassersteinDistance(reference, current) / std;
  return judge("wasserstein", { statistic, pValue: null }, options.threshold);
}

/**
 * Jensen–Shannon distance (base 2, in [0, 1]) between two distributions
 * over the same bins; each is normalized to sum 1 first (scipy's
 * `jensenshannon(p, q, base=2)`).
 */
export function jensenShannonTest(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  options: { threshold?: number } = {},
): TestResult {
  const [sp, sq] = binTotals(reference, current, "jensenshannon");
  let js = 0;
  for (let i = 0; i < reference.length; i++) {
    const p = reference[i] / sp, q = current[i] / sq, mid = (p + q) / 2;
    if (p > 0) js += p * Math.log(p / mid);
    if (q > 0) js += q * Math.log(q / mid);
  }
  const statistic = Math.sqrt(Math.max(0, js / 2) / Math.LN2);
  return judge("jensenshannon", { statistic, pValue: null }, options.threshold);
}
