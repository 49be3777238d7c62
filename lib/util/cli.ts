/**
 * The shell every task shares: flag parsing with node:util parseArgs and the
 * rule that a user error prints one line and exits with code 2.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UserError } from "./errors.ts";

/** Flag definitions in node:util parseArgs form, each with an optional `help` line. */
export type FlagSpec = Record<
  string,
  NonNullable<ParseArgsConfig["options"]>[string] & { help?: string }
>;

/** What `--help` prints besides the flags. */
export interface TaskHelp {
  /** The task's usage line, e.g. `deno task train --data FILE [flags]`. */
  usage: string;
  /** What it does, a sentence or two. */
  about?: string;
  /** Example command lines. */
  examples?: string[];
}

/**
 * The `--help` text of a task: usage, what it does, every flag with its
 * help line and default, and examples; derived from the same flag table
 * that parses the flags.
 *
 * @example
 * ```ts
 * helpText({ n: { type: "string", help: "how many (default 3)" } }, { usage: "deno task x" });
 * ```
 */
export function helpText(flags: FlagSpec, help: TaskHelp): string {
  const rows = Object.entries(flags).map(([name, f]) => {
    const value = f.type === "boolean" ? "" : f.multiple ? " VALUE..." : " VALUE";
    const def = f.default !== undefined && f.type !== "boolean" &&
        !(Array.isArray(f.default) && f.default.length === 0)
      ? ` (default ${Array.isArray(f.default) ? f.default.join(",") : f.default})`
      : "";
    return [`--${name}${value}`, `${f.help ?? ""}${def}`];
  });
  rows.push(["--help", "this text"]);
  const width = Math.max(...rows.map((r) => r[0].length)) + 2;
  const lines = [`usage: ${help.usage}`];
  if (help.about) lines.push("", help.about);
  lines.push("", "flags:", ...rows.map(([a, b]) => `  ${a.padEnd(width)}${b}`));
  if (help.examples?.length) lines.push("", "examples:", ...help.examples.map((e) => `  ${e}`));
  return lines.join("\n");
}

/**
 * Parses `args` against `flags`; unknown flags and missing values become a
 * {@linkcode UserError} that names the flag, lists the known ones and points
 * at `--help`. With `help`, `--help` (or `-h`) prints {@linkcode helpText}
 * and exits 0.
 */
export function parseFlags<F extends FlagSpec>(
  args: string[],
  flags: F,
  help?: TaskHelp,
): ReturnType<typeof parseArgs<{ options: F; args: string[]; allowPositionals: false }>>["values"] {
  if (help && (args.includes("--help") || args.includes("-h"))) {
    console.log(helpText(flags, help));
    Deno.exit(0);
  }
  const options = Object.fromEntries(
    Object.entries(flags).map(([k, { help: _, ...rest }]) => [k, rest]),
  ) as F;
  try {
    return parseArgs({ args, options, allowPositionals: false, strict: true }).values;
  } catch (e) {
    const known = Object.keys(flags).map((k) => `--${k}`).join(", ");
    throw new UserError(
      `${(e as Error).message.split("\n")[0]} (known flags: ${known}${help ? "; see --help" : ""})`,
    );
  }
}

/** Reads a flag that must be a whole number within [min, max]. */
export function intFlag(
  value: string | undefined,
  range: { name: string; fallback: number; min?: number; max?: number },
): number {
  const { name, fallback } = range;
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
