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
