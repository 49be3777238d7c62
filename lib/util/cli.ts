/**
 * The shell every task shares: flag parsing with node:util parseArgs and the
 * rule that a user error prints one line and exits with code 2.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UserError } from "./errors.ts";

/** Flag definitions in node:util parseArgs form. */
export type FlagSpec = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses `args` against `flags`; unknown flags and missing values become a
 * {@linkcode UserError} that names the flag and lists the known ones.
 */
export function parseFlags<F extends FlagSpec>(
  args: string[],
  flags: F,
): ReturnType<typeof parseArgs<{ options: F; args: string[]; allowPositionals: false }>>["values"] {
  try {
    return parseArgs({ args, options: flags, allowPositionals: false, strict: true }).values;
  } catch (e) {
    const known = Object.keys(flags).map((k) => `--${k}`).join(", ");
    throw new UserError(`${(e as Error).message.split("\n")[0]} (known flags: ${known})`);
  }
}

/** Reads a flag that must be a whole number within [min, max]. */
export function intFlag(
  value: string | undefined,
  name: string,
  fallback: number,
  range: { min?: number; max?: number } = {},
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  const min = range.min ?? -Infinity, max = range.max ?? Infinity;
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    const bounds = Number.isFinite(max) ? `${min}..${max}` : `>= ${min}`;
    throw new UserError(`--${name}: expected a whole number ${bounds}, got "${value}"`);
  }
  return n;
}

/**
 * Runs a task's `main`. A {@linkcode UserError} prints `error: <message>` and
 * exits with code 2; anything else is a bug and keeps its stack trace.
 */
export async function runTask(main: (args: string[]) => Promise<void> | void): Promise<void> {
  try {
    await main(Deno.args);
  } catch (e) {
    if (e instanceof UserError) {
      console.error(`error: ${e.message}`);
      Deno.exit(2);
    }
    throw e;
  }
}
