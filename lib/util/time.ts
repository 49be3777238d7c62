/**
 * Time constants and helpers shared by every folder (epoch milliseconds, UTC).
 * @module
 */

/** Milliseconds in a day. */
export const DAY_MS = 86_400_000;

/**
 * The UTC day number of an epoch-ms time (days since 1970-01-01).
 *
 * @example
 * ```ts
 * dayOf(Date.UTC(1970, 0, 2, 13)); // 1
 * ```
 */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}
