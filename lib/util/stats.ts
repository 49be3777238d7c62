/**
 * Rank statistics on plain arrays, shared by data profiling (label leakage)
 * and evaluation.
 * @module
 */

/**
 * ROC-AUC: the probability that a random positive scores above a random
 * negative, ties counting one half (Mann–Whitney U / (n_pos · n_neg)).
 * Returns NaN when either class is absent. NaN scores are not allowed.
 *
 * @example
 * ```ts
 * rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]); // 0.75
 * ```
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  let nPos = 0;
  for (let i = 0; i < labels.length; i++) nPos += labels[i] === 1 ? 1 : 0;
  const nNeg = labels.length - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  const pos = new Float64Array(nPos), neg = new Float64Array(nNeg);
  let a = 0, b = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) pos[a++] = scores[i];
    else neg[b++] = scores[i];
  }
  pos.sort();
  neg.sort();
  // For each positive: negatives strictly below it, plus half the ties.
  let u = 0, lo = 0, hi = 0;
  for (let i = 0; i < nPos; i++) {
    const s = pos[i];
    while (lo < nNeg && neg[lo] < s) lo++;
    if (hi < lo) hi = lo;
    while (hi < nNeg && neg[hi] <= s) hi++;
    u += lo + (hi - lo) / 2;
  }
  return u / (nPos * nNeg);
}

/** Mean and sample standard deviation (0 for one value). */
export function meanStd(xs: ArrayLike<number>): { mean: number; sd: number } {
  const n = xs.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += xs[i] / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (xs[i] - mean) ** 2;
  return { mean, sd: n > 1 ? Math.sqrt(ss / (n - 1)) : 0 };
}
