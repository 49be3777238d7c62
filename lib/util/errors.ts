/**
 * Errors a user can act on. Tasks print `error: <message>` on one line and exit
 * with code 2 when one escapes; the server turns them into 4xx answers.
 * @module
 */

/** An error caused by the user's input (a file, a flag, a spec), never by a bug. */
export class UserError extends Error {
  /**
   * @param message one line naming what was wrong (file, column, row, field) and what was expected
   */
  /**
   * An error a person can act on.
   * @param message one line naming what was wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/**
 * Throws a {@linkcode UserError} with `message` unless `condition` holds.
 *
 * @example
 * ```ts
 * const path = "data/empty.csv", rows = 3;
 * userAssert(rows > 0, `${path}: no data rows`);
 * ```
 */
export function userAssert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new UserError(message);
}
