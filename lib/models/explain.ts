/**
 * Ranking a detector's per-feature contributions: the features that drive
 * the top alerts of a run (`explain.json`) and the reasons of single rows.
 * @module
 */
import type { Matrix } from "../features/pipeline.ts";
import { descendingOrder } from "../eval/metrics.ts";
import type { Detector } from "./detector.ts";

/** Per-feature mean contribution over the top test alerts. */
export interface FeatureContribution {
  feature: string;
  meanContribution: number;
  meanAbsContribution: number;
}

/** Explains the `n` highest-scored rows and ranks features by mean |contribution|. */
export function topContributions(
  detector: Detector,
  scored: { X: Matrix; scores: Float32Array },
  options: { n?: number } = {},
): FeatureContribution[] {
  const { X, scores } = scored;
  const n = options.n ?? 50;
  const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b).slice(
    0,
    n,
  );
  const sum = new Float64Array(X.cols), abs = new Float64Array(X.cols);
  for (const r of order) {
    const c = detector.explain(X.data.subarray(r * X.cols, (r + 1) * X.cols));
    for (let j = 0; j < X.cols; j++) {
      sum[j] += c[j];
      abs[j] += Math.abs(c[j]);
    }
  }
  return X.columns.map((feature, j) => ({
    feature,
    meanContribution: sum[j] / Math.max(order.length, 1),
    meanAbsContribution: abs[j] / Math.max(order.length, 1),
  })).sort((a, b) => b.meanAbsContribution - a.meanAbsContribution).slice(0, 15);
}

/** What {@linkcode contributionSummary} finds: global mean |contribution| and a per-feature sample. */
export interface ContributionSummary {
  /** Rows explained (evenly spaced over the matrix). */
  rows: number;
  /** Every column, largest mean |contribution| first. */
  features: FeatureContribution[];
  /**
   * For the top features: each explained row's contribution (4 significant
   * digits) and the rank of its feature value among those rows (0 lowest,
   * 1 highest, 3 decimals; null when missing).
   */
  points: SummaryPoints[];
}

/** One feature's points in a {@linkcode ContributionSummary}, row by row. */
export interface SummaryPoints {
  /** The feature. */
  feature: string;
  /** Each explained row's contribution of the feature. */
  contributions: number[];
  /** Each explained row's value rank (null: missing). */
  valueRanks: (number | null)[];
}

/**
 * Explains up to `rows` rows spread evenly over X (deterministic, no
 * sampling seed) and summarizes the contributions per feature: the mean
 * |contribution| (for tree kinds, mean |SHAP|: global importance) and, for
 * the `top` features, each row's contribution beside its value's rank, the
 * points of a SHAP summary plot.
 *
 * @param detector a fitted detector
 * @param X the rows (a run's test rows)
 * @param options rows to explain (default 500) and features with points (default 10)
 * @returns the summary
 */
export function contributionSummary(
  detector: Detector,
  X: Matrix,
  options: { rows?: number; top?: number } = {},
): ContributionSummary {
  const n = Math.min(options.rows ?? 500, X.rows);
  const d = X.cols;
  const picked = Array.from({ length: n }, (_, k) => Math.floor((k * X.rows) / n));
  const contrib = new Float64Array(n * d);
  const sum = new Float64Array(d), abs = new Float64Array(d);
  picked.forEach((r, k) => {
    const c = detector.explain(X.data.subarray(r * d, (r + 1) * d));
    for (let j = 0; j < d; j++) {
      contrib[k * d + j] = c[j];
      sum[j] += c[j];
      abs[j] += Math.abs(c[j]);
    }
  });
  const features = X.columns.map((feature, j) => ({
    feature,
    meanContribution: sum[j] / Math.max(n, 1),
    meanAbsContribution: abs[j] / Math.max(n, 1),
  }));
  const order = Array.from(features.keys()).sort((a, b) =>
    features[b].meanAbsContribution - features[a].meanAbsContribution || a - b
  );
  const points: ContributionSummary["points"] = [];
  for (const j of order.slice(0, options.top ?? 10)) {
    const values = picked.map((r) => X.data[r * d + j]);
    const present = values.filter((v) => v === v).sort((a, b) => a - b);
    // Rank of a value: the middle of its run of equal values, over the present values.
    const rank = (v: number) => {
      let lo = 0, hi = present.length;
      while (lo < hi) {
        present[(lo + hi) >> 1] < v ? (lo = ((lo + hi) >> 1) + 1) : (hi = (lo + hi) >> 1);
      }
      let end = lo;
      while (end < present.length && present[end] === v) end++;
      return present.length > 1 ? (lo + end - 1) / 2 / (present.length - 1) : 0.5;
    };
    points.push({
      feature: X.columns[j],
      contributions: values.map((_, k) => Number(contrib[k * d + j].toPrecision(4))),
      valueRanks: values.map((v) => (v === v ? Math.round(rank(v) * 1000) / 1000 : null)),
    });
  }
  return { rows: n, features: order.map((j) => features[j]), points };
}

/** One explained row: its index in the matrix, its score and its largest contributions. */
export interface ExplainedRow {
  /** Row index in the matrix. */
  index: number;
  /** Its score. */
  score: number;
  /** Largest contributions first; `share` is the contribution over the score. */
  reasons: { feature: string; contribution: number; share: number }[];
}

/**
 * Explains the highest-scored rows of a matrix, each with its largest
 * per-field contributions (the detector's own explanation).
 *
 * @param detector a fitted detector
 * @param scored the matrix and the detector's scores of its rows
 * @param options how many rows (`n`, default 10) and reasons each (`k`, default 3)
 * @returns the rows, highest score first
 *
 * @example
 * ```ts
 * import { exampleRun } from "../testing/examples.ts";
 * import { explainTopRows } from "./explain.ts";
 * const run = await exampleRun();
 * const [top] = explainTopRows(run.detector, { X: run.Xtest, scores: run.scores.test }, { n: 1 });
 * console.log(top.reasons.map((r) => r.feature));
 * ```
 */
export function explainTopRows(
  detector: Detector,
  scored: { X: Matrix; scores: Float32Array },
  options: { n?: number; k?: number } = {},
): ExplainedRow[] {
  const { X, scores } = scored;
  const top = Array.from(descendingOrder(scores).slice(0, options.n ?? 10));
  return top.map((index) => {
    const c = detector.explain(X.data.subarray(index * X.cols, (index + 1) * X.cols));
    const order = Array.from(c.keys()).sort((a, b) => c[b] - c[a]).slice(0, options.k ?? 3);
    return {
      index,
      score: scores[index],
      reasons: order.map((j) => ({
        feature: X.columns[j],
        contribution: c[j],
        share: c[j] / scores[index],
      })),
    };
  });
}
