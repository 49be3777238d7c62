/**
 * Every evaluation figure for one scored set of rows, in one call: ranking
 * metrics, the confusion matrix at the chosen threshold, daily and entity
 * precision@k when times (and entities) are known, and the curves reports
 * draw.
 * @module
 */
import {
  averagePrecisionOf,
  budgetCurve,
  costCurve,
  type Curve,
  prCurve,
  rocCurve,
  type ScoreHistogram,
  scoreHistogram,
  sweep,
} from "./curves.ts";
import {
  type Confusion,
  confusionAt,
  type DailyPrecisionAtK,
  dailyPrecisionAtK,
  descendingOrder,
  entityPrecisionAtK,
  precisionAtK,
  recallAtFpr,
  rocAuc,
} from "./metrics.ts";
import { dayOf } from "../util/time.ts";
import { brierScore, type Reliability, reliabilityCurve } from "./calibrate.ts";
import type { Dataset } from "../data/load.ts";
import { numericColumn, stringColumn } from "../data/frame.ts";
import { timesMs } from "../features/velocity.ts";

/** A scored set of rows and what is known about them. */
export interface EvalInput {
  labels: ArrayLike<number>;
  scores: Float32Array;
  /** Event times, epoch ms (enables daily precision@k and the budget curve). */
  timesMs?: ArrayLike<number>;
  /** Entity per row (enables entity precision@k), e.g. the card or customer. */
  entities?: ArrayLike<string | null>;
  /** Which entity column `entities` holds (for labels). */
  entityName?: string;
  /** Transaction amounts (cost curve). */
  amounts?: ArrayLike<number>;
  /** The alert threshold (alert iff score ≥ threshold). */
  threshold: number;
  /** k of the top-k metrics. Default 100. */
  k?: number;
  /** Entity precision@k leaves out entities detected on earlier days (the Handbook's card precision). */
  removeDetected?: boolean;
  /** Fee per alert for the cost figures. Default 5. */
  alertFee?: number;
  /**
   * Days of traffic the rows stand for ({@linkcode dayEquivalents}), for
   * alerts per day; default the distinct days of `timesMs`.
   */
  dayEquivalents?: number;
}

/** The figures of one evaluation (stored as a run's metrics). */
export interface EvalMetrics {
  /** Rows evaluated. */
  rows: number;
  /** Fraud rows among them. */
  positives: number;
  /** Area under the ROC curve. */
  rocAuc: number;
  /** Average precision (area under the precision-recall curve, step-wise). */
  averagePrecision: number;
  /** Recall at a 1% false-positive rate. */
  recallAt1pctFpr: number;
  /** The k of precision@k. */
  k: number;
  /** Fraud among the k highest scores, over k. */
  precisionAtK: number;
  /** The confusion matrix at the chosen threshold. */
  atThreshold: Confusion;
  /** Mean daily precision@k (with per-day figures), when times are known. */
  dailyPrecisionAtK?: DailyPrecisionAtK;
  /**
   * Mean daily entity precision@k, when times and entities are known;
   * `detectedRemoved`: the Handbook's variant (cards detected on earlier days left out).
   */
  entityPrecisionAtK?: DailyPrecisionAtK & { entity: string; detectedRemoved?: boolean };
  /** Days the rows span (by UTC date). */
  days?: number;
  /** Expected cost at the threshold: alerts × fee + missed fraud amount. */
  costAtThreshold?: number;
  /** With a calibrated run: the Brier score of its probabilities and their reliability curve. */
  calibration?: { method: string; brier: number; reliability: Reliability };
}

/** How entity precision@k is named where it is shown: "CUSTOMER_ID precision@100", with the Handbook's variant said. */
export function entityMetricName(m: Pick<EvalMetrics, "entityPrecisionAtK" | "k">): string {
  const e = m.entityPrecisionAtK;
  if (!e) return `entity precision@${m.k}`;
  return `${e.entity} precision@${m.k}${e.detectedRemoved ? " (detected cards removed)" : ""}`;
}

/** Curves for reports. */
export interface EvalCurves {
  /** ROC curve (false-positive rate, recall). */
  roc: Curve;
  /** Precision-recall curve. */
  pr: Curve;
  /** Cost per threshold (alert fees and missed fraud amounts). */
  cost: Curve;
  /** Recall per daily alert budget. */
  budget: Curve;
  /** Score histogram by class. */
  histogram: ScoreHistogram;
}

/**
 * How many days of full traffic `rows` stand for: over the days they
 * touch, the share of each day's rows (of all `timesMs`) they hold, summed.
 * Whole test days count one each; a validation part that samples 20% of
 * seven days counts 1.4, so alerts per day on it read as on live traffic.
 */
export function dayEquivalents(timesMs: ArrayLike<number>, rows: ArrayLike<number>): number {
  const all = new Map<number, number>(), part = new Map<number, number>();
  for (let i = 0; i < timesMs.length; i++) {
    const d = dayOf(timesMs[i]);
    all.set(d, (all.get(d) ?? 0) + 1);
  }
  for (let k = 0; k < rows.length; k++) {
    const d = dayOf(timesMs[rows[k]]);
    part.set(d, (part.get(d) ?? 0) + 1);
  }
  let days = 0;
  for (const [d, n] of part) days += n / all.get(d)!;
  return days;
}

function distinctDays(timesMs: ArrayLike<number>): number {
  const days = new Set<number>();
  for (let i = 0; i < timesMs.length; i++) days.add(dayOf(timesMs[i]));
  return days.size;
}

/** Computes every metric and curve for one scored set. */
export function evaluateScores(input: EvalInput): { metrics: EvalMetrics; curves: EvalCurves } {
  const { labels, scores } = input;
  const k = input.k ?? 100;
  const alertFee = input.alertFee ?? 5;
  const s = sweep(labels, scores, { amounts: input.amounts });
  const order = descendingOrder(scores);
  const days = input.timesMs ? distinctDays(input.timesMs) : undefined;
  const atThreshold = confusionAt(labels, scores, { threshold: input.threshold });
  const metrics: EvalMetrics = {
    rows: labels.length,
    positives: s.nPos,
    rocAuc: rocAuc(labels, scores),
    averagePrecision: averagePrecisionOf(s),
    recallAt1pctFpr: recallAtFpr(labels, scores, { fpr: 0.01 }).recall,
    k,
    precisionAtK: precisionAtK(labels, scores, { k, order }),
    atThreshold,
  };
  if (input.timesMs) {
    metrics.days = days;
    metrics.dailyPrecisionAtK = dailyPrecisionAtK(labels, scores, { timesMs: input.timesMs, k });
    if (input.entities) {
      metrics.entityPrecisionAtK = {
        entity: input.entityName ?? "entity",
        detectedRemoved: input.removeDetected ?? false,
        ...entityPrecisionAtK(labels, scores, {
          timesMs: input.timesMs,
          entities: input.entities,
          k,
          removeDetected: input.removeDetected,
        }),
      };
    }
  }
  const costs = input.amounts ? { alertFee } : { alertFee, missCost: 100 };
  if (input.amounts) {
    let missed = 0;
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] === 1 && !(scores[i] >= input.threshold)) missed += input.amounts[i] || 0;
    }
    metrics.costAtThreshold = alertFee * (atThreshold.tp + atThreshold.fp) + missed;
  }
  return {
    metrics,
    curves: {
      roc: rocCurve(s),
      pr: prCurve(s),
      cost: costCurve(s, costs),
      budget: budgetCurve(s, input.dayEquivalents ?? days ?? 1),
      histogram: scoreHistogram(labels, scores),
    },
  };
}

/** What a run records about the rows it was evaluated on. */
export interface ScoredPart {
  metrics: EvalMetrics;
  curves: EvalCurves;
}

/** Evaluates scores of `rows` of a dataset with everything the spec offers. */
export function evaluateRows(
  ds: Dataset,
  scored: { rows: Uint32Array; scores: Float32Array; labels: Int8Array },
  opts: { threshold: number; k: number; alertFee: number; removeDetected?: boolean },
): ScoredPart {
  const spec = ds.spec;
  const { rows, scores, labels } = scored;
  const pick = <T>(a: ArrayLike<T>) => Array.from(rows, (i) => a[i]);
  const times = spec.time ? timesMs(ds.frame, spec.time) : undefined;
  const entity = spec.entities[0];
  const amounts = spec.amount ? numericColumn(ds.frame, spec.amount) : undefined;
  return evaluateScores({
    labels: Int8Array.from(rows, (i) => labels[i]),
    scores,
    timesMs: times ? Float64Array.from(rows, (i) => times[i]) : undefined,
    entities: entity ? pick(stringColumn(ds.frame, entity)) : undefined,
    entityName: entity,
    amounts: amounts ? Float64Array.from(rows, (i) => amounts[i]) : undefined,
    threshold: opts.threshold,
    k: opts.k,
    alertFee: opts.alertFee,
    removeDetected: opts.removeDetected,
    dayEquivalents: times ? dayEquivalents(times, rows) : undefined,
  });
}

/** Adds the Brier score and reliability curve of calibrated probabilities to `metrics`. */
export function addCalibration(
  metrics: EvalMetrics,
  method: string,
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
): void {
  metrics.calibration = {
    method,
    brier: brierScore(probabilities, labels),
    reliability: reliabilityCurve(probabilities, labels),
  };
}
