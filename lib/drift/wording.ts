/**
 * How test results read in reports and the console.
 * @module
 */
import { percent as sharePercent } from "../util/format.ts";
import type { TestResult } from "./tests.ts";
export const percent = (x: number, digits = 1) => sharePercent(x, digits);

/** Describes a test result in a few words ("wasserstein 0.23 ≥ 0.1"). */
export function describeResult(r: TestResult): string {
  if (r.pValue !== null) {
    return `${r.test} p=${r.pValue.toExponential(2)} ${r.drifted ? "<" : "≥"} ${r.threshold}`;
  }
  return `${r.test} ${r.statistic.toFixed(3)} ${r.drifted ? "≥" : "<"} ${r.threshold}`;
}
