/**
 * Which test a column gets: Evidently's default rule by type and reference size, or a per-column override checked against the column's type.
 * @module
 */
import { UserError } from "../util/errors.ts";
import type { ColumnOverride } from "./result.ts";
import { DEFAULT_THRESHOLDS, DRIFT_TESTS, type DriftTestName } from "./tests.ts";
/** References up to this many rows get KS / chi-square / Z by default. */
export const SMALL_REFERENCE_MAX = 1000;

const NUMERIC_TESTS = new Set<DriftTestName>(["ks", "wasserstein", "psi", "jensenshannon"]);
const CATEGORICAL_TESTS = new Set<DriftTestName>(["chisquare", "z", "psi", "jensenshannon"]);

/** The default test for a column (see the module doc). */
export function defaultTest(
  referenceRows: number,
  testedAs: "numeric" | "categorical",
  categories = 0,
): DriftTestName {
  if (referenceRows <= SMALL_REFERENCE_MAX) {
    return testedAs === "numeric" ? "ks" : categories <= 2 ? "z" : "chisquare";
  }
  return testedAs === "numeric" ? "wasserstein" : "jensenshannon";
}

/** Checks an override and resolves the test to run. */
export function chooseTest(
  column: string,
  options: {
    testedAs: "numeric" | "categorical";
    referenceRows: number;
    categories: number;
    override?: ColumnOverride;
  },
): { test: DriftTestName; threshold: number; chosenBy: "default" | "override" } {
  const { testedAs, referenceRows, categories, override } = options;
  const test = override?.test ?? defaultTest(referenceRows, testedAs, categories);
  if (!DRIFT_TESTS.includes(test)) {
    throw new UserError(`column "${column}": unknown test "${test}" (known: ${DRIFT_TESTS})`);
  }
  const allowed = testedAs === "numeric" ? NUMERIC_TESTS : CATEGORICAL_TESTS;
  if (!allowed.has(test)) {
    throw new UserError(
      `column "${column}" is tested as ${testedAs}; test "${test}" does not apply ` +
        `(use one of ${[...allowed].join(", ")})`,
    );
  }
  if (test === "z" && categories > 2) {
    throw new UserError(
      `column "${column}": the Z-test needs at most 2 categories, found ${categories} (use chisquare)`,
    );
  }
  const threshold = override?.threshold ?? DEFAULT_THRESHOLDS[test];
  if (!(Number.isFinite(threshold) && threshold > 0)) {
    throw new UserError(
      `column "${column}": threshold must be a positive number, got ${threshold}`,
    );
  }
  return {
    test,
    threshold,
    chosenBy: override?.test || override?.threshold ? "override" : "default",
  };
}
