/**
 * Configs as one schema each (zod): the schema validates a config and fills
 * its defaults, and a table of flags maps command-line flags onto its
 * paths, so a task's flags, their `--help` text (the field's description
 * and default, read from the schema) and the config file's keys cannot
 * drift apart. Errors are one line naming the key and its flag.
 * @module
 */
import { z } from "zod";
import type { FlagSpec } from "./cli.ts";
import { UserError } from "./errors.ts";

/** A command-line flag that sets one key of a config. */
export interface ConfigFlag {
  /** The flag's name, without dashes (`train-days`). */
  flag: string;
  /** The key it sets (`["split", "trainDays"]`). */
  path: readonly string[];
  /** How the flag's text becomes the value (default: as text). */
  type?: "string" | "number";
  /** Help to use instead of the schema's description. */
  help?: string;
}

/** What {@linkcode parseConfig} says a config is, in errors (`run config`). */
export interface ParseConfigOptions {
  /** The config's name in errors. */
  what: string;
  /** Its flags: an error about a key names its flag too. */
  flags?: readonly ConfigFlag[];
}

const samePath = (a: readonly PropertyKey[], b: readonly PropertyKey[]) =>
  a.length === b.length && a.every((k, i) => String(k) === String(b[i]));

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const k of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/** One line for a zod issue: the key (and its flag), what was expected, what came. */
function issueLine(issue: z.core.$ZodIssue, input: unknown, options: ParseConfigOptions): string {
  const path = issue.path;
  const flag = options.flags?.find((f) => samePath(f.path, path));
  const where = `${options.what}: ${path.length ? path.join(".") : "the config"}${
    flag ? ` (--${flag.flag})` : ""
  }`;
  const got = JSON.stringify(valueAt(input, path)) ?? "nothing";
  switch (issue.code) {
    case "unrecognized_keys":
      return `${options.what}: unknown key "${issue.keys[0]}"${
        path.length ? ` in ${path.join(".")}` : ""
      }`;
    case "invalid_union": {
      const d = (issue as { discriminator?: string }).discriminator;
      const at = d && String(path[path.length - 1]) !== d ? [...path, d] : path;
      const f = options.flags?.find((f) => samePath(f.path, at));
      return `${options.what}: ${at.join(".")}${f ? ` (--${f.flag})` : ""}: ${issue.message}, got ${
        JSON.stringify(valueAt(input, at)) ?? "nothing"
      }`;
    }
    case "invalid_type": {
      const expected = issue.expected === "int" ? "a whole number" : issue.expected;
      return valueAt(input, path) === undefined && /required/.test(issue.message)
        ? `${where}: required`
        : `${where}: expected ${expected}, got ${got}`;
    }
    case "too_small":
      return `${where}: must be ${
        issue.inclusive ? "at least" : "more than"
      } ${issue.minimum}, got ${got}`;
    case "too_big":
      return `${where}: must be ${
        issue.inclusive ? "at most" : "less than"
      } ${issue.maximum}, got ${got}`;
    default:
      return `${where}: ${issue.message}, got ${got}`;
  }
}

/**
 * Validates a config against its schema, filling in defaults.
 *
 * @param schema the config's schema
 * @param input the config as written (a parsed JSON file, flags applied)
 * @param options its name in errors, and its flags
 * @returns the config with every default filled in
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { parseConfig } from "./config.ts";
 * const schema = z.strictObject({ k: z.int().min(1).default(100).describe("alerts a day") });
 * console.log(parseConfig(schema, {}, { what: "config" })); // { k: 100 }
 * ```
 */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  input: unknown,
  options: ParseConfigOptions,
): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw new UserError(issueLine(r.error.issues[0], input, options));
}

/** The JSON Schema node of a path: properties, through unions (first variant holding it). */
function nodeAt(
  node: Record<string, unknown> | undefined,
  path: readonly string[],
): Record<string, unknown>[] {
  if (!node) return [];
  if (path.length === 0) return [node];
  const variants = (node.oneOf ?? node.anyOf) as Record<string, unknown>[] | undefined;
  if (variants) return variants.flatMap((v) => nodeAt(v, path));
  const props = node.properties as Record<string, Record<string, unknown>> | undefined;
  return nodeAt(props?.[path[0]], path.slice(1));
}

/**
 * The flag table of a task, from a config's flags: each flag's help is the
 * key's description from the schema and its default (`(default 7)`).
 *
 * @param schema the config's schema
 * @param flags its flags
 * @returns entries for `parseFlags`
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { configFlagSpecs } from "./config.ts";
 * const schema = z.strictObject({ k: z.int().default(100).describe("alerts a day") });
 * console.log(configFlagSpecs(schema, [{ flag: "k", path: ["k"], type: "number" }]).k.help);
 * // alerts a day (default 100)
 * ```
 */
export function configFlagSpecs(schema: z.ZodType, flags: readonly ConfigFlag[]): FlagSpec {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  const out: FlagSpec = {};
  for (const f of flags) {
    const nodes = nodeAt(json, f.path);
    const described = nodes.find((n) => typeof n.description === "string");
    // The key's own default, else the one its parent's default object gives it.
    let def = nodes.find((n) => n.default !== undefined)?.default;
    if (def === undefined && f.path.length > 1) {
      const parent = nodeAt(json, f.path.slice(0, -1)).find((n) => n.default !== undefined);
      def = (parent?.default as Record<string, unknown> | undefined)?.[f.path[f.path.length - 1]];
    }
    const text = f.help ?? (described?.description as string | undefined) ?? f.path.join(".");
    const shown = def === undefined ? "" : ` (default ${JSON.stringify(def)})`;
    out[f.flag] = { type: "string", help: text + shown.replace(/"/g, "") };
  }
  return out;
}

/**
 * Sets the flags given on the command line into a config at their paths
 * (numbers converted when they look like numbers; anything else is left
 * as text for the schema to refuse with its flag's name).
 *
 * @param config the config as read (modified in place)
 * @param options the parsed flags and the flag table
 * @returns the config
 *
 * @example
 * ```ts
 * import { applyFlags } from "./config.ts";
 * const flags = [{ flag: "train-days", path: ["split", "trainDays"], type: "number" as const }];
 * console.log(applyFlags({}, { values: { "train-days": "21" }, flags }));
 * // { split: { trainDays: 21 } }
 * ```
 */
export function applyFlags(
  config: Record<string, unknown>,
  options: { values: Record<string, unknown>; flags: readonly ConfigFlag[] },
): Record<string, unknown> {
  for (const f of options.flags) {
    const raw = options.values[f.flag];
    if (raw === undefined) continue;
    let target = config;
    for (const k of f.path.slice(0, -1)) {
      const next = target[k];
      target = target[k] = typeof next === "object" && next !== null && !Array.isArray(next)
        ? { ...(next as Record<string, unknown>) }
        : {};
    }
    const text = String(raw);
    const value = f.type === "number" && /^\s*-?\d+(\.\d+)?(e-?\d+)?\s*$/i.test(text)
      ? Number(text)
      : raw;
    target[f.path[f.path.length - 1]] = value;
  }
  return config;
}
