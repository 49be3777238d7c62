/**
 * Choosing the alert threshold (alert iff score ≥ threshold) on validation
 * rows, never on test rows. Strategies, as written on the command line:
 *
 * - `max-f1`: the threshold with the highest F1;
 * - `recall:R`: the highest threshold whose recall is at least R;
 * - `fpr:F`: the lowest threshold whose false-positive rate is at most F;
 * - `budget:K`: the lowest threshold raising at most K alerts per day on
 *   average over the validation days (K per validation set without time);
 * - `cost:FEE[:MISS]`: the minimum expected cost, where each alert costs FEE
 *   and each missed fraud costs its amount (or MISS each when given, or when
 *   the data has no amount column). "No alerts at all" is a candidate.
 * @module
 */
import { UserError } from "../util/errors.ts";
import { missedCost, type Sweep, sweep } from "./curves.ts";

/** A parsed threshold strategy. */
export type ThresholdStrategy =
  | { kind: "max-f1" }
  | { kind: "recall"; target: number }
  | { kind: "fpr"; target: number }
  | { kind: "budget"; perDay: number }
  | { kind: "cost"; alertFee: number; missCost?: number };

/** The strategies' syntax, for help and error messages. */
export const STRATEGY_SYNTAX = "max-f1 | recall:R | fpr:F | budget:K | cost:FEE[:MISS]";

/** Parses a strategy string such as `recall:0.8`. */
export function parseStrategy(text: string): ThresholdStrategy {
  const [name, ...rest] = text.split(":");
  const num = (v: string | undefined, what: string, lo: number, hi: number): number => {
    const n = Number(v);
    if (v === undefined || v === "" || !Number.isFinite(n) || n < lo || n > hi) {
      throw new UserError(
        `threshold strategy "${text}": ${what} must be a number in [${lo}, ${hi}] (strategies: ${STRATEGY_SYNTAX})`,
      );
    }
    return n;
  };
  switch (name) {
    case "max-f1":
      if (rest.length) break;
      return { kind: "max-f1" };
    case "recall":
      if (rest.length !== 1) break;
      return { kind: "recall", target: num(rest[0], "the target recall", 0, 1) };
    case "fpr":
      if (rest.length !== 1) break;
      return { kind: "fpr", target: num(rest[0], "the target false-positive rate", 0, 1) };
    case "budget":
      if (rest.length !== 1) break;
      return { kind: "budget", perDay: num(rest[0], "the alerts per day", 0, 1e12) };
    case "cost":
      if (rest.length < 1 || rest.length > 2) break;
      return {
        kind: "cost",
        alertFee: num(rest[0], "the fee per alert", 0, 1e12),
        ...(rest.length === 2
          ? { missCost: num(rest[1], "the cost of a missed fraud", 0, 1e15) }
          : {}),
      };
  }
  throw new UserError(`unknown threshold strategy "${text}" (strategies: ${STRATEGY_SYNTAX})`);
}

/** Writes a strategy back in command-line form. */
export function formatStrategy(s: ThresholdStrategy): string {
  switch (s.kind) {
    case "max-f1":
      return "max-f1";
    case "recall":
      return `recall:${s.target}`;
    case "fpr":
      return `fpr:${s.target}`;
    case "budget":
      return `budget:${s.perDay}`;
    case "cost":
      return `cost:${s.alertFee}${s.missCost !== undefined ? `:${s.missCost}` : ""}`;
  }
}

/** What the validation data offers a strategy. */
export interface ThresholdData {
  /** 0/1 labels of the validation rows. */
  labels: ArrayLike<number>;
  /** Their scores. */
  scores: ArrayLike<number>;
  /** Transaction amounts (cost strategy). */
  amounts?: ArrayLike<number>;
  /** Days of full traffic the validation rows stand for (budget strategy; see dayEquivalents); 1 when unknown. */
  days?: number;
}

/** A chosen threshold and why. */
export interface ChosenThreshold {
  /** The strategy, as written (`recall:0.8`). */
  strategy: string;
  /** Alert when score ≥ this. */
  threshold: number;
  /** The figure the strategy optimized or met, on validation rows. */
  objective: number;
  /** What `objective` is (`recall`, `cost`…). */
  objectiveName: string;
}

/** Chooses the threshold for one strategy on validation rows. */
export function chooseThreshold(strategy: ThresholdStrategy, data: ThresholdData): ChosenThreshold {
  const needsAmounts = strategy.kind === "cost" && strategy.missCost === undefined;
  if (needsAmounts && !data.amounts) {
    throw new UserError(
      `threshold strategy "${formatStrategy(strategy)}": the data has no amount column; ` +
        `give the cost of a missed fraud as cost:FEE:MISS`,
    );
  }
  const s = sweep(data.labels, data.scores, { amounts: needsAmounts ? data.amounts : undefined });
  if (s.thresholds.length === 0) {
    throw new UserError("cannot choose a threshold on zero validation rows");
  }
  if (s.nPos === 0 && strategy.kind !== "budget" && strategy.kind !== "fpr") {
    throw new UserError(
      `threshold strategy "${
        formatStrategy(strategy)
      }" needs fraud rows in the validation split, which has none`,
    );
  }
  const name = formatStrategy(strategy);
  const at = (i: number, objective: number, objectiveName: string): ChosenThreshold => ({
    strategy: name,
    threshold: i < 0 ? Infinity : s.thresholds[i],
    objective,
    objectiveName,
  });
  switch (strategy.kind) {
    case "max-f1": {
      let best = -1, bi = 0;
      for (let i = 0; i < s.thresholds.length; i++) {
        const f1 = (2 * s.tp[i]) / (s.tp[i] + s.fp[i] + s.nPos);
        if (f1 > best) [best, bi] = [f1, i];
      }
      return at(bi, best, "F1");
    }
    case "recall": {
      for (let i = 0; i < s.thresholds.length; i++) {
        if (s.tp[i] / s.nPos >= strategy.target) return at(i, s.tp[i] / s.nPos, "recall");
      }
      return at(s.thresholds.length - 1, 1, "recall");
    }
    case "fpr":
      return lowestWithin(s, (i) => (s.nNeg ? s.fp[i] / s.nNeg : 0), strategy.target, at, "FPR");
    case "budget": {
      const days = Math.max(1, data.days ?? 1);
      return lowestWithin(s, (i) => (s.tp[i] + s.fp[i]) / days, strategy.perDay, at, "alerts/day");
    }
    case "cost": {
      let best = missedCost(s, -1, strategy), bi = -1;
      for (let i = 0; i < s.thresholds.length; i++) {
        const cost = strategy.alertFee * (s.tp[i] + s.fp[i]) + missedCost(s, i, strategy);
        if (cost < best) [best, bi] = [cost, i];
      }
      return at(bi, best, "cost");
    }
  }
}

/** The lowest threshold whose figure stays ≤ limit (figures grow as the threshold falls). */
function lowestWithin(
  s: Sweep,
  figure: (i: number) => number,
  limit: number,
  at: (i: number, objective: number, name: string) => ChosenThreshold,
  name: string,
): ChosenThreshold {
  let chosen = -1;
  for (let i = 0; i < s.thresholds.length; i++) {
    if (figure(i) <= limit + 1e-12) chosen = i;
    else break;
  }
  return at(chosen, chosen < 0 ? 0 : figure(chosen), name);
}

/** What one strategy's threshold, chosen on validation rows, does on test rows. */
export interface StrategyOutcome {
  /** The strategy, as written. */
  strategy: string;
  /** The threshold it chose on validation rows. */
  threshold: number;
  /** The figure the strategy optimized or met on validation rows, and its name. */
  objective: number;
  /** What `objective` is. */
  objectiveName: string;
  /** On the test rows. */
  test: {
    alerts: number;
    alertsPerDay: number;
    precision: number;
    recall: number;
    fpr: number;
    /** Alerts × fee + missed fraud (its amount, or the strategy's miss cost, else 100). */
    cost: number;
  };
}

/**
 * Chooses a threshold for each strategy on the validation rows and measures
 * it on the test rows, so strategies can be compared side by side (what an
 * alert budget buys in recall, what a recall target costs in alerts).
 *
 * @param strategies `max-f1`, `recall:R`, `fpr:F`, `budget:K` or `cost:FEE[:MISS]`
 * @param rows validation rows to choose on, test rows (with the alert fee) to measure on
 * @returns one outcome per strategy
 *
 * @example
 * ```ts
 * import { compareStrategies } from "./threshold.ts";
 * const validation = { labels: [0, 0, 1, 1], scores: [0.1, 0.4, 0.6, 0.9] };
 * const test = { labels: [0, 1, 0, 1], scores: [0.2, 0.7, 0.5, 0.3], alertFee: 5 };
 * const [f1] = compareStrategies(["max-f1"], { validation, test });
 * console.log(f1.threshold, f1.test.recall); // 0.6 0.5
 * ```
 */
export function compareStrategies(
  strategies: string[],
  rows: { validation: ThresholdData; test: ThresholdData & { alertFee?: number } },
): StrategyOutcome[] {
  const { validation, test } = rows;
  const fee = test.alertFee ?? 5;
  return strategies.map((text) => {
    const strategy = parseStrategy(text);
    const chosen = chooseThreshold(strategy, validation);
    const missCost = strategy.kind === "cost" ? strategy.missCost : undefined;
    let tp = 0, fp = 0, pos = 0, missed = 0;
    for (let i = 0; i < test.scores.length; i++) {
      const fraud = test.labels[i] === 1;
      const alert = test.scores[i] >= chosen.threshold;
      if (fraud) pos++;
      if (alert && fraud) tp++;
      else if (alert) fp++;
      else if (fraud) missed += missCost ?? (test.amounts ? test.amounts[i] : 100);
    }
    const neg = test.scores.length - pos;
    return {
      strategy: chosen.strategy,
      threshold: chosen.threshold,
      objective: chosen.objective,
      objectiveName: chosen.objectiveName,
      test: {
        alerts: tp + fp,
        alertsPerDay: (tp + fp) / Math.max(1, test.days ?? 1),
        precision: tp + fp ? tp / (tp + fp) : NaN,
        recall: pos ? tp / pos : NaN,
        fpr: neg ? fp / neg : NaN,
        cost: fee * (tp + fp) + missed,
      },
    };
  });
}
