/**
 * Metrics fraud teams use, computed on typed arrays.
 * @module
 */
import { DAY_MS } from "../util/time.ts";

/** ROC-AUC (Mann–Whitney): defined in util, where data profiling reads it too. */
export { rocAuc } from "../util/stats.ts";

/**
 * Row indices ordered by score descending, ties by row index (a stable sort
 * of −score), as the "top k" metrics rank rows.
 */
export function descendingOrder(scores: ArrayLike<number>): Uint32Array {
  const order = new Uint32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  return order;
}

/** Positives and row count of a label array. */
function countPositives(labels: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < labels.length; i++) n += labels[i] === 1 ? 1 : 0;
  return n;
}

/**
 * Recall at a fixed false-positive rate: k = ⌊fpr·N_neg⌋ negatives may be
 * flagged; the threshold is the (k+1)-th highest negative score and a
 * positive counts when its score is strictly above it. This is the largest
 * true-positive rate on the ROC curve with FPR ≤ fpr.
 */
export function recallAtFpr(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  options: { fpr?: number } = {},
): { recall: number; threshold: number; allowedFalsePositives: number; achievedFpr: number } {
  const fpr = options.fpr ?? 0.01;
  const nPos = countPositives(labels), nNeg = labels.length - nPos;
  if (nPos === 0 || nNeg === 0) {
    return { recall: NaN, threshold: NaN, allowedFalsePositives: 0, achievedFpr: NaN };
  }
  const neg = new Float64Array(nNeg);
  let b = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] !== 1) neg[b++] = scores[i];
  neg.sort();
  const k = Math.floor(fpr * nNeg + 1e-9);
  const thr = k >= nNeg ? -Infinity : neg[nNeg - 1 - k];
  let tp = 0, fp = 0;
  for (let i = 0; i < labels.length; i++) {
    if (scores[i] > thr) {
      if (labels[i] === 1) tp++;
      else fp++;
    }
  }
  return { recall: tp / nPos, threshold: thr, allowedFalsePositives: k, achievedFpr: fp / nNeg };
}

/**
 * Precision among the k highest-scored rows (ties broken by row order).
 * With fewer than k rows, the precision of all rows.
 */
export function precisionAtK(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  options: { k: number; order?: Uint32Array },
): number {
  const k = options.k, order = options.order ?? descendingOrder(scores);
  const m = Math.min(k, order.length);
  if (m === 0) return NaN;
  let tp = 0;
  for (let i = 0; i < m; i++) tp += labels[order[i]] === 1 ? 1 : 0;
  return tp / m;
}

/** Counts and rates of the rule "alert iff score ≥ threshold". */
export interface Confusion {
  /** Alert when score ≥ this. */
  threshold: number;
  /** Alerted fraud. */
  tp: number;
  /** Alerted legitimate rows. */
  fp: number;
  /** Legitimate rows not alerted. */
  tn: number;
  /** Fraud not alerted. */
  fn: number;
  /** tp / (tp + fp). */
  precision: number;
  /** tp / (tp + fn). */
  recall: number;
  /** Harmonic mean of precision and recall. */
  f1: number;
  /** fp / (fp + tn). */
  fpr: number;
  /** Alerts over rows. */
  alertRate: number;
}

/** The confusion matrix and its rates at a threshold (alert iff score ≥ threshold). */
export function confusionAt(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  options: { threshold: number },
): Confusion {
  const threshold = options.threshold;
  let tp = 0, fp = 0, tn = 0, fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const alert = scores[i] >= threshold;
    if (labels[i] === 1) {
      if (alert) tp++;
      else fn++;
    } else if (alert) fp++;
    else tn++;
  }
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : NaN;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return {
    threshold,
    tp,
    fp,
    tn,
    fn,
    precision,
    recall,
    f1,
    fpr: fp + tn ? fp / (fp + tn) : NaN,
    alertRate: labels.length ? (tp + fp) / labels.length : NaN,
  };
}

/** One day's top-k precision. */
export interface DailyPrecision {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  /** Rows (or entities) that day. */
  n: number;
  /** Frauds among the top k. */
  frauds: number;
  /** Fraud among the day's top k. */
  precision: number;
}

/** Mean and per-day figures of a daily top-k metric. */
export interface DailyPrecisionAtK {
  /** Alerts a day the team can review. */
  k: number;
  /** Mean over the days. */
  mean: number;
  /** Each day. */
  days: DailyPrecision[];
}

function dayKey(ms: number): string {
  return new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

function groupByDay(timesMs: ArrayLike<number>): Map<number, number[]> {
  const byDay = new Map<number, number[]>();
  for (let i = 0; i < timesMs.length; i++) {
    const d = Math.floor(timesMs[i] / DAY_MS);
    let rows = byDay.get(d);
    if (!rows) byDay.set(d, rows = []);
    rows.push(i);
  }
  return new Map([...byDay.entries()].sort((a, b) => a[0] - b[0]));
}

/**
 * Daily precision@k (Fraud Detection Handbook): each day the k
 * highest-scored transactions are investigated; the figure is the share of
 * fraud among them, averaged over days. A day with fewer than k rows uses
 * all of them.
 */
export function dailyPrecisionAtK(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  options: { timesMs: ArrayLike<number>; k: number },
): DailyPrecisionAtK {
  const { timesMs, k } = options;
  const days: DailyPrecision[] = [];
  for (const [d, rows] of groupByDay(timesMs)) {
    rows.sort((a, b) => scores[b] - scores[a] || a - b);
    const m = Math.min(k, rows.length);
    let frauds = 0;
    for (let i = 0; i < m; i++) frauds += labels[rows[i]] === 1 ? 1 : 0;
    days.push({ day: dayKey(d * DAY_MS), n: rows.length, frauds, precision: frauds / m });
  }
  const mean = days.length ? days.reduce((s, d) => s + d.precision, 0) / days.length : NaN;
  return { k, mean, days };
}

/**
 * Daily entity ("card") precision@k (Fraud Detection Handbook): each day an
 * entity's score is the maximum over its transactions that day and it is
 * fraudulent when any of them is; the k highest-scored entities are
 * investigated and the figure is the share of fraudulent ones, averaged over
 * days. Rows with a missing entity are left out.
 *
 * With `removeDetected` (the Handbook's card precision top-k), a fraudulent
 * card found in a day's top k is left out of every later day (it is blocked
 * once detected), and a day's figure is its frauds found over k even when it
 * has fewer than k cards; without it, over the cards it has, up to k.
 */
export function entityPrecisionAtK(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  options: {
    timesMs: ArrayLike<number>;
    entities: ArrayLike<string | null>;
    k: number;
    removeDetected?: boolean;
  },
): DailyPrecisionAtK {
  const { timesMs, entities, k } = options;
  const days: DailyPrecision[] = [];
  const detected = new Set<string>();
  for (const [d, rows] of groupByDay(timesMs)) {
    const score = new Map<string, number>(), fraud = new Map<string, number>();
    const first = new Map<string, number>();
    for (const r of rows) {
      const e = entities[r];
      if (e === null || detected.has(e)) continue;
      if (!first.has(e)) first.set(e, r);
      score.set(e, Math.max(score.get(e) ?? -Infinity, scores[r]));
      fraud.set(e, Math.max(fraud.get(e) ?? 0, labels[r] === 1 ? 1 : 0));
    }
    const ranked = [...score.keys()].sort((a, b) =>
      score.get(b)! - score.get(a)! || first.get(a)! - first.get(b)!
    );
    const m = Math.min(k, ranked.length);
    if (m === 0) continue;
    let frauds = 0;
    for (let i = 0; i < m; i++) {
      frauds += fraud.get(ranked[i])!;
      if (options.removeDetected && fraud.get(ranked[i])) detected.add(ranked[i]);
    }
    const over = options.removeDetected ? k : m;
    days.push({ day: dayKey(d * DAY_MS), n: ranked.length, frauds, precision: frauds / over });
  }
  const mean = days.length ? days.reduce((s, d) => s + d.precision, 0) / days.length : NaN;
  return { k, mean, days };
}
