/**
 * Threshold sweeps: for every distinct score, taken as the threshold of the
 * rule "alert iff score ≥ threshold", the cumulative true and false
 * positives and the fraud amount caught. ROC and PR curves, average
 * precision, cost and alert-budget curves all read one sweep.
 * @module
 */
import { descendingOrder } from "./metrics.ts";

/** Cumulative counts at each distinct threshold, highest threshold first. */
export interface Sweep {
  thresholds: Float64Array;
  tp: Float64Array;
  fp: Float64Array;
  /** Fraud amount among alerts (0 when no amounts were given). */
  caught: Float64Array;
  nPos: number;
  nNeg: number;
  /** Total fraud amount. */
  fraudAmount: number;
}

/** Sweeps every distinct score (ties enter together). */
export function sweep(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  options: { amounts?: ArrayLike<number> } = {},
): Sweep {
  const amounts = options.amounts;
  const order = descendingOrder(scores);
  const t: number[] = [], tp: number[] = [], fp: number[] = [], caught: number[] = [];
  let a = 0, b = 0, c = 0, fraudAmount = 0;
  for (let i = 0; i < order.length; i++) {
    const r = order[i];
    if (labels[r] === 1) {
      a++;
      const amt = amounts ? amounts[r] : 0;
      c += Number.isFinite(amt) ? amt : 0;
    } else b++;
    if (i === order.length - 1 || scores[order[i + 1]] !== scores[r]) {
      t.push(scores[r]);
      tp.push(a);
      fp.push(b);
      caught.push(c);
    }
  }
  fraudAmount = c;
  return {
    thresholds: Float64Array.from(t),
    tp: Float64Array.from(tp),
    fp: Float64Array.from(fp),
    caught: Float64Array.from(caught),
    nPos: a,
    nNeg: b,
    fraudAmount,
  };
}

/**
 * Average precision, scikit-learn's step definition: Σₙ (Rₙ − Rₙ₋₁)·Pₙ over
 * distinct thresholds in decreasing order, R₀ = 0, no interpolation.
 */
export function averagePrecision(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  return averagePrecisionOf(sweep(labels, scores));
}

/** Average precision from a sweep. */
export function averagePrecisionOf(s: Sweep): number {
  if (s.nPos === 0) return NaN;
  let ap = 0, prevRecall = 0;
  for (let i = 0; i < s.thresholds.length; i++) {
    const recall = s.tp[i] / s.nPos;
    ap += (recall - prevRecall) * (s.tp[i] / (s.tp[i] + s.fp[i]));
    prevRecall = recall;
  }
  return ap;
}

/** A curve as parallel arrays (stored in runs, drawn in reports). */
export interface Curve {
  /** X coordinates. */
  x: number[];
  /** Y coordinates. */
  y: number[];
  /** The score threshold of each point. */
  threshold: number[];
}

/** Keeps at most `max` points, always the first and last (curves stay small in runs). */
function thin(indices: number, max: number): number[] {
  if (indices <= max) return Array.from({ length: indices }, (_, i) => i);
  const out: number[] = [];
  for (let k = 0; k < max; k++) out.push(Math.round((k * (indices - 1)) / (max - 1)));
  return [...new Set(out)];
}

function round(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(7)) : v;
}

/** ROC curve (x = FPR, y = TPR), starting at (0, 0). */
export function rocCurve(s: Sweep, maxPoints = 400): Curve {
  const c: Curve = { x: [0], y: [0], threshold: [Infinity] };
  for (const i of thin(s.thresholds.length, maxPoints)) {
    c.x.push(round(s.nNeg ? s.fp[i] / s.nNeg : NaN));
    c.y.push(round(s.nPos ? s.tp[i] / s.nPos : NaN));
    c.threshold.push(round(s.thresholds[i]));
  }
  return c;
}

/** Precision–recall curve (x = recall, y = precision). */
export function prCurve(s: Sweep, maxPoints = 400): Curve {
  const c: Curve = { x: [], y: [], threshold: [] };
  for (const i of thin(s.thresholds.length, maxPoints)) {
    c.x.push(round(s.nPos ? s.tp[i] / s.nPos : NaN));
    c.y.push(round(s.tp[i] / (s.tp[i] + s.fp[i])));
    c.threshold.push(round(s.thresholds[i]));
  }
  return c;
}

/**
 * Expected cost by threshold: every alert costs `alertFee`, every missed
 * fraud its amount (or `missCost` each when no amounts). x = alerts, y = cost.
 */
export function costCurve(
  s: Sweep,
  costs: { alertFee: number; missCost?: number },
  maxPoints = 400,
): Curve {
  const c: Curve = { x: [0], y: [missedCost(s, -1, costs)], threshold: [Infinity] };
  for (const i of thin(s.thresholds.length, maxPoints)) {
    c.x.push(s.tp[i] + s.fp[i]);
    c.y.push(round(costs.alertFee * (s.tp[i] + s.fp[i]) + missedCost(s, i, costs)));
    c.threshold.push(round(s.thresholds[i]));
  }
  return c;
}

/** Cost of the frauds not alerted when alerting down to sweep index i (-1 = no alerts). */
export function missedCost(s: Sweep, i: number, costs: { missCost?: number }): number {
  if (costs.missCost !== undefined) return costs.missCost * (s.nPos - (i < 0 ? 0 : s.tp[i]));
  return s.fraudAmount - (i < 0 ? 0 : s.caught[i]);
}

/**
 * Alert-budget curve: alerts per day (x) against recall (y), for a window of
 * `days` days.
 */
export function budgetCurve(s: Sweep, days: number, maxPoints = 400): Curve {
  const c: Curve = { x: [], y: [], threshold: [] };
  for (const i of thin(s.thresholds.length, maxPoints)) {
    c.x.push(round((s.tp[i] + s.fp[i]) / Math.max(days, 1)));
    c.y.push(round(s.nPos ? s.tp[i] / s.nPos : NaN));
    c.threshold.push(round(s.thresholds[i]));
  }
  return c;
}

/** Score histogram by class on shared bins (for distribution plots). */
export interface ScoreHistogram {
  /** Bin edges (bins + 1). */
  edges: number[];
  /** Legitimate rows per bin. */
  negatives: number[];
  /** Fraud rows per bin. */
  positives: number[];
}

/**
 * Histogram of scores by class with equal-width bins over the observed range.
 *
 * @param labels 0/1 per row
 * @param scores a score per row
 * @param options number of bins (default 40)
 * @returns the bin edges and the rows of each class per bin
 *
 * @example
 * ```ts
 * import { scoreHistogram } from "./curves.ts";
 * const h = scoreHistogram([0, 0, 1], [0.1, 0.2, 0.9], { bins: 4 });
 * console.log(h.negatives, h.positives); // [2, 0, 0, 0] [0, 0, 0, 1]
 * ```
 */
export function scoreHistogram(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  options: { bins?: number } = {},
): ScoreHistogram {
  const bins = options.bins ?? 40;
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    if (scores[i] < lo) lo = scores[i];
    if (scores[i] > hi) hi = scores[i];
  }
  if (!(hi > lo)) hi = lo + 1;
  const width = (hi - lo) / bins;
  const negatives = new Array(bins).fill(0), positives = new Array(bins).fill(0);
  for (let i = 0; i < scores.length; i++) {
    const b = Math.min(bins - 1, Math.floor((scores[i] - lo) / width));
    if (labels[i] === 1) positives[b]++;
    else negatives[b]++;
  }
  const edges = Array.from({ length: bins + 1 }, (_, k) => round(lo + k * width));
  return { edges, negatives, positives };
}
