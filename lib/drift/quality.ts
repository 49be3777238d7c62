/**
 * Data quality of a column's two sides: shares, missing shares and the flags a report shows.
 * @module
 */
import type { ColumnDrift, DriftOptions } from "./result.ts";
/** Each count over their total (zeros when the total is 0). */
export function shares(counts: ArrayLike<number>): number[] {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  return Array.from(counts, (c) => (total > 0 ? c / total : 0));
}

/** Missing values over all values. */
export function missingShare(count: number, missing: number): number {
  return count + missing > 0 ? missing / (count + missing) : 0;
}

/** Values outside the reference range are flagged above this share (a few always fall outside). */
export const OUT_OF_RANGE_FLAG = 0.001;

/** The data-quality flags a report shows for a column (missing share, out of range, unseen). */
export function qualityFlags(
  q: Omit<ColumnDrift["quality"], "flags">,
  tolerance: number,
): string[] {
  const flags: string[] = [];
  if (Math.abs(q.missingShareChange) > tolerance) {
    flags.push(
      `missing share ${q.missingShareChange > 0 ? "+" : ""}${
        (100 * q.missingShareChange).toFixed(1)
      } pts`,
    );
  }
  if (q.outOfRangeShare !== null && q.outOfRangeShare > OUT_OF_RANGE_FLAG) {
    flags.push(`${(100 * q.outOfRangeShare).toFixed(2)}% outside the reference range`);
  }
  if (q.unseenShare !== null && q.unseenShare > 0) {
    flags.push(`${(100 * q.unseenShare).toFixed(2)}% in unseen categories`);
  }
  return flags;
}

/** A column's quality figures with their flags. */
export function withFlags(
  q: Omit<ColumnDrift["quality"], "flags">,
  options: DriftOptions,
): ColumnDrift["quality"] {
  return { ...q, flags: qualityFlags(q, options.missingShareTolerance ?? 0.05) };
}
