/**
 * Prediction drift (the score distribution and the alert rate) and target drift (the fraud rate) against a reference profile.
 * @module
 */
import { UserError } from "../util/errors.ts";
import { compareNumeric } from "./numeric.ts";
import { chooseTest } from "./policy.ts";
import type { ReferenceProfile } from "./profile.ts";
import type { CurrentData, DriftOptions, PredictionDrift, TargetDrift } from "./result.ts";
import {
  chiSquareTest,
  jensenShannonTest,
  psiFromCounts,
  type TestResult,
  zTest,
} from "./tests.ts";
/** Prediction drift: the scores against the validation scores, and the alert rate. */
export function comparePrediction(
  profile: ReferenceProfile,
  current: CurrentData,
  options: DriftOptions,
): PredictionDrift | null {
  const ref = profile.prediction;
  if (!ref || !current.scores || current.scores.length === 0) return null;
  const scores = compareNumeric(
    ref.scores,
    { column: "score", values: Float64Array.from(current.scores), referenceRows: ref.rows },
    { ...options, override: options.prediction },
  );
  let alerts = 0;
  for (let i = 0; i < current.scores.length; i++) {
    alerts += Number(current.scores[i] >= ref.threshold);
  }
  const rate = rateChange(
    { hits: ref.alerts, n: ref.rows },
    { hits: alerts, n: current.scores.length },
    { factor: options.alertRateFactor ?? 2, what: "alert rate" },
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
export function rateChange(
  reference: { hits: number; n: number },
  current: { hits: number; n: number },
  options: { factor: number; what: string; threshold?: number },
): {
  reference: number;
  current: number;
  ratio: number;
  factor: number;
  result: TestResult;
  drifted: boolean;
} {
  const { factor, what, threshold } = options;
  if (!(factor > 1)) throw new UserError(`${what} factor must be > 1, got ${factor}`);
  const r0 = reference.hits / reference.n, r1 = current.hits / current.n;
  const ratio = r0 > 0 ? r1 / r0 : r1 > 0 ? Infinity : 1;
  const result = zTest(reference, current, { threshold });
  const drifted = result.drifted && (ratio >= factor || ratio <= 1 / factor);
  return { reference: r0, current: r1, ratio, factor, result, drifted };
}

/** Target drift: the fraud rate against the reference's (or the override's test). */
export function compareTarget(
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
    {
      factor: options.targetRateFactor ?? 2,
      what: "target rate",
      threshold: options.target?.threshold,
    },
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
  const choice = chooseTest(ref.label, {
    testedAs: "categorical",
    referenceRows: ref.rows,
    categories: 2,
    override: options.target,
  });
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
