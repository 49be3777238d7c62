/**
 * Score calibration on validation rows: a map from a model's score to the
 * probability of fraud, so that a 0.3 means three frauds in ten. Platt
 * scaling (a logistic curve of the score, fitted by Newton's method on the
 * log-loss with Platt's smoothed targets, as scikit-learn's
 * CalibratedClassifierCV "sigmoid") or isotonic regression (pool adjacent
 * violators over the scores; between fitted points the probability is
 * interpolated linearly, outside them clipped, as scikit-learn's
 * IsotonicRegression predicts).
 * @module
 */
import { UserError } from "../util/errors.ts";

/** The calibration methods. */
export const CALIBRATIONS = ["none", "platt", "isotonic"] as const;
/** One method. */
export type CalibrationMethod = typeof CALIBRATIONS[number];

/** A fitted calibration (stored as a run's calibration.json). */
export type Calibration =
  | { method: "platt"; a: number; b: number; rows: number }
  | { method: "isotonic"; x: number[]; y: number[]; rows: number };

/**
 * Platt scaling: p = 1 / (1 + exp(a·s + b)), fitted on (score, label)
 * pairs with targets (n₊ + 1)/(n₊ + 2) and 1/(n₋ + 2).
 */
export function fitPlatt(scores: ArrayLike<number>, labels: ArrayLike<number>): Calibration {
  const n = scores.length;
  let pos = 0;
  for (let i = 0; i < n; i++) pos += labels[i] === 1 ? 1 : 0;
  const hi = (pos + 1) / (pos + 2), lo = 1 / (n - pos + 2);
  let a = 0, b = Math.log((n - pos + 1) / (pos + 1));
  const loss = (a: number, b: number) => {
    let l = 0;
    for (let i = 0; i < n; i++) {
      const f = a * scores[i] + b, t = labels[i] === 1 ? hi : lo;
      // log(1 + e^f) − (1 − t)·f, stable both ways
      l += (f > 0 ? f + Math.log1p(Math.exp(-f)) : Math.log1p(Math.exp(f))) - (1 - t) * f;
    }
    return l;
  };
  let current = loss(a, b);
  for (let iter = 0; iter < 100; iter++) {
    let gA = 0, gB = 0, hAA = 1e-12, hAB = 0, hBB = 1e-12;
    for (let i = 0; i < n; i++) {
      const s = scores[i], f = a * s + b, t = labels[i] === 1 ? hi : lo;
      const q = 1 / (1 + Math.exp(-f)); // d/df log(1 + e^f)
      const d = q - (1 - t), w = q * (1 - q);
      gA += d * s;
      gB += d;
      hAA += w * s * s;
      hAB += w * s;
      hBB += w;
    }
    const det = hAA * hBB - hAB * hAB;
    if (!(Math.abs(det) > 0)) break;
    let dA = -(hBB * gA - hAB * gB) / det, dB = -(hAA * gB - hAB * gA) / det;
    // Backtracking: a step that does not lower the loss is halved.
    let step = 1, next = loss(a + dA, b + dB);
    while (next > current && step > 1e-10) {
      step /= 2;
      next = loss(a + step * dA, b + step * dB);
    }
    dA *= step;
    dB *= step;
    a += dA;
    b += dB;
    const gain = current - next;
    current = next;
    if (Math.abs(dA) < 1e-12 && Math.abs(dB) < 1e-12 || gain < 1e-12 * Math.abs(current)) break;
  }
  return { method: "platt", a, b, rows: n };
}

/** Isotonic regression of the labels on the scores (non-decreasing), pooled over tied scores. */
export function fitIsotonic(scores: ArrayLike<number>, labels: ArrayLike<number>): Calibration {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => scores[i] - scores[j]);
  // Blocks: (mean, weight, last score), merged while a block's mean exceeds the next one's.
  const xs: number[] = [], means: number[] = [], weights: number[] = [];
  for (let k = 0; k < n;) {
    const s = scores[order[k]];
    let sum = 0, w = 0;
    while (k < n && scores[order[k]] === s) {
      sum += labels[order[k]] === 1 ? 1 : 0;
      w++;
      k++;
    }
    xs.push(s);
    means.push(sum / w);
    weights.push(w);
  }
  // Pool adjacent violators over the distinct scores.
  const bMean: number[] = [], bW: number[] = [], bFrom: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    bMean.push(means[i]);
    bW.push(weights[i]);
    bFrom.push(i);
    while (bMean.length > 1 && bMean[bMean.length - 2] >= bMean[bMean.length - 1]) {
      const m2 = bMean.pop()!, w2 = bW.pop()!;
      bFrom.pop();
      const w1 = bW[bW.length - 1];
      bMean[bMean.length - 1] = (bMean[bMean.length - 1] * w1 + m2 * w2) / (w1 + w2);
      bW[bW.length - 1] = w1 + w2;
    }
  }
  // Each distinct score gets its block's value; runs of equal values keep their two ends.
  const y = new Array<number>(xs.length);
  for (let b = 0; b < bFrom.length; b++) {
    const end = b + 1 < bFrom.length ? bFrom[b + 1] : xs.length;
    for (let i = bFrom[b]; i < end; i++) y[i] = bMean[b];
  }
  const keepX: number[] = [], keepY: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    const sameBefore = i > 0 && y[i - 1] === y[i],
      sameAfter = i + 1 < xs.length && y[i + 1] === y[i];
    if (!(sameBefore && sameAfter)) {
      keepX.push(xs[i]);
      keepY.push(y[i]);
    }
  }
  return { method: "isotonic", x: keepX, y: keepY, rows: n };
}

/** Fits `method` on validation scores and labels; a UserError without both classes. */
export function fitCalibration(
  method: Exclude<CalibrationMethod, "none">,
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
): Calibration {
  let pos = 0;
  for (let i = 0; i < labels.length; i++) pos += labels[i] === 1 ? 1 : 0;
  if (pos === 0 || pos === labels.length) {
    throw new UserError(
      `--calibration ${method}: the validation rows need both classes (${pos} fraud of ${labels.length})`,
    );
  }
  return method === "platt" ? fitPlatt(scores, labels) : fitIsotonic(scores, labels);
}

/** The calibrated probability of one score (finite scores give a probability in [0, 1]). */
export function calibrate(c: Calibration, score: number): number {
  if (c.method === "platt") {
    const f = c.a * score + c.b;
    return f > 0 ? Math.exp(-f) / (1 + Math.exp(-f)) : 1 / (1 + Math.exp(f));
  }
  const { x, y } = c;
  if (!(score > x[0])) return y[0];
  if (score >= x[x.length - 1]) return y[y.length - 1];
  let lo = 0, hi = x.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid] <= score) lo = mid;
    else hi = mid;
  }
  return y[lo] + (y[hi] - y[lo]) * (score - x[lo]) / (x[hi] - x[lo]);
}

/** The Brier score: mean squared difference between probability and label. */
export function brierScore(probabilities: ArrayLike<number>, labels: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) s += (probabilities[i] - (labels[i] === 1 ? 1 : 0)) ** 2;
  return s / Math.max(labels.length, 1);
}

/** A reliability curve: per bin of predicted probability, its mean prediction and fraud share. */
export interface Reliability {
  /** Non-empty bins, ascending: bounds, rows, mean predicted probability, fraud share. */
  bins: { from: number; to: number; rows: number; predicted: number; observed: number }[];
}

/**
 * Bins of equal width on [0, 1] (empty bins left out), as scikit-learn's
 * `calibration_curve(strategy="uniform")`.
 */
export function reliabilityCurve(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  nBins = 10,
): Reliability {
  const rows = new Array(nBins).fill(0),
    pred = new Array(nBins).fill(0),
    obs = new Array(nBins).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const p = probabilities[i];
    const b = Math.min(nBins - 1, Math.max(0, Math.floor(p * nBins)));
    rows[b]++;
    pred[b] += p;
    obs[b] += labels[i] === 1 ? 1 : 0;
  }
  return {
    bins: rows.flatMap((n, b) =>
      n === 0 ? [] : [{
        from: b / nBins,
        to: (b + 1) / nBins,
        rows: n,
        predicted: pred[b] / n,
        observed: obs[b] / n,
      }]
    ),
  };
}
