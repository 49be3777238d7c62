/**
 * Number formats shared by reports, tasks and the server's answers.
 * @module
 */

/**
 * A share as a percentage with `digits` decimals, but never fewer than two
 * significant digits for a share that is not zero: 5 alerts in 200,000
 * read "0.0025%", not "0.00%". "–" for null, undefined and NaN.
 *
 * @example
 * ```ts
 * percent(0.1234); // "12.34%"
 * percent(0.000025); // "0.0025%"
 * ```
 */
export function percent(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  const v = 100 * x;
  if (v === 0 || !Number.isFinite(v)) return `${v.toFixed(digits)}%`;
  // Decimals that show two significant digits of v.
  const needed = 1 - Math.floor(Math.log10(Math.abs(v)));
  return `${v.toFixed(Math.min(20, Math.max(digits, needed)))}%`;
}

/** `x` rounded to four decimals (derived feature values in reasons); other values unchanged. */
export function fourDecimals<T>(x: T): T {
  return (typeof x === "number" && Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : x) as T;
}
