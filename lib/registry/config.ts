/**
 * A run's configuration: everything that determines its model and metrics,
 * fully resolved, so that `deno task train --config run/config.json` repeats
 * it exactly.
 * @module
 */
import type { PipelineConfig } from "../features/pipeline.ts";
import { DEFAULT_KIND, getKind, type Params, resolveParams } from "../models/mod.ts";
import { parseStrategy } from "../eval/threshold.ts";
import { UserError } from "../util/errors.ts";

/** How rows are split into train (with a validation part) and test. */
export type SplitConfig =
  | { method: "time"; trainDays: number; delayDays: number; testDays: number; testEnd?: string }
  | { method: "random"; testFraction: number }
  | { method: "mod5" }
  | { method: "prefix"; trainFraction: number };

/** A fully resolved, re-runnable run configuration. */
export interface RunConfig {
  /** File format tag. */
  format: "fraudlab.run-config/1";
  /** Data file path. */
  data: string;
  /** Built-in spec name or spec file path. */
  spec: string;
  /** Model kind. */
  model: string;
  /** Model parameters, defaults filled in. */
  params: Params;
  /** How rows are split into fit, validation and test. */
  split: SplitConfig;
  /** Share of training rows (or days, for time splits) held out to choose the threshold. */
  validationFraction: number;
  /** Seed of every random choice (splits, sampling, initialization). */
  seed: number;
  /** Threshold strategy (see lib/eval/threshold.ts). */
  threshold: string;
  /** Feature pipeline settings (standardization follows the model kind). */
  features: PipelineConfig;
  /** k of the precision@k metrics. */
  k: number;
  /** Fee per alert in cost figures. */
  alertFee: number;
}

/** What a user may give; everything else gets defaults. */
export type RunConfigInput = Partial<Omit<RunConfig, "format" | "split">> & {
  split?: Partial<SplitConfig> & { method?: string };
};

const KEYS = new Set([
  "format",
  "data",
  "spec",
  "model",
  "params",
  "split",
  "validationFraction",
  "seed",
  "threshold",
  "features",
  "k",
  "alertFee",
]);

function num(v: unknown, what: string, lo: number, hi: number, integer = false): number {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (
    typeof n !== "number" || !Number.isFinite(n) || n < lo || n > hi ||
    (integer && !Number.isInteger(n))
  ) {
    throw new UserError(
      `${what}: expected ${integer ? "a whole number" : "a number"} in [${lo}, ${hi}], got ${
        JSON.stringify(v)
      }`,
    );
  }
  return n;
}

/**
 * Fills in a run config's defaults and validates it; throws a UserError
 * naming the bad key.
 *
 * @param input a config as written (every key optional but `data`)
 * @returns the full, re-runnable config
 *
 * @example
 * ```ts
 * import { resolveRunConfig } from "./config.ts";
 * const c = resolveRunConfig({ data: "data/demo.parquet", model: "logreg" });
 * console.log(c.split.method, c.threshold, c.params.C); // time max-f1 1
 * ```
 */
export function resolveRunConfig(input: RunConfigInput): RunConfig {
  for (const key of Object.keys(input)) {
    if (!KEYS.has(key)) {
      throw new UserError(`run config: unknown key "${key}" (known: ${[...KEYS].join(", ")})`);
    }
  }
  if (!input.data) throw new UserError("run config: data (--data FILE) is required");
  const kind = getKind(input.model ?? DEFAULT_KIND);
  const params = resolveParams(kind, input.params ?? {});
  kind.create(params); // validates ranges
  const s = input.split ?? {};
  let split: SplitConfig;
  const method = s.method ?? "random";
  const sv = s as Record<string, unknown>;
  switch (method) {
    case "time": {
      split = {
        method: "time",
        trainDays: num(sv.trainDays ?? 7, "--train-days", 1, 36500, true),
        delayDays: num(sv.delayDays ?? 7, "--delay-days", 0, 36500, true),
        testDays: num(sv.testDays ?? 7, "--test-days", 1, 36500, true),
      };
      if (sv.testEnd !== undefined) {
        if (
          typeof sv.testEnd !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(sv.testEnd) ||
          Number.isNaN(Date.parse(sv.testEnd))
        ) {
          throw new UserError(
            `--test-end: expected a date YYYY-MM-DD, got ${JSON.stringify(sv.testEnd)}`,
          );
        }
        split.testEnd = sv.testEnd;
      }
      break;
    }
    case "random":
      split = {
        method: "random",
        testFraction: num(sv.testFraction ?? 0.2, "--test-frac", 0.01, 0.99),
      };
      break;
    case "mod5":
      split = { method: "mod5" };
      break;
    case "prefix":
      split = {
        method: "prefix",
        trainFraction: num(sv.trainFraction ?? 0.8, "--train-frac", 0.01, 0.99),
      };
      break;
    default:
      throw new UserError(`--split: expected time, random, mod5 or prefix, got "${method}"`);
  }
  const threshold = input.threshold ?? "max-f1";
  parseStrategy(threshold);
  const features: PipelineConfig = { ...(input.features ?? {}), standardize: kind.standardize };
  if (split.method === "time" && features.velocity !== false) {
    const v = typeof features.velocity === "object" ? features.velocity : {};
    features.velocity = { ...v, delayDays: split.delayDays };
  }
  return {
    format: "fraudlab.run-config/1",
    data: input.data,
    spec: input.spec ?? "txsim",
    model: kind.name,
    params,
    split,
    validationFraction: num(input.validationFraction ?? 0.2, "validationFraction", 0.05, 0.5),
    seed: num(input.seed ?? 0, "--seed", 0, 2 ** 32 - 1, true),
    threshold,
    features,
    k: num(input.k ?? 100, "k", 1, 1e9, true),
    alertFee: num(input.alertFee ?? 5, "alertFee", 0, 1e12),
  };
}

/** Reads a run config JSON file (e.g. a run's config.json) as input for {@linkcode resolveRunConfig}. */
export async function readRunConfig(path: string): Promise<RunConfigInput> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    throw new UserError(`--config: cannot read ${path}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UserError(`--config ${path}: not valid JSON (${(e as Error).message})`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new UserError(`--config ${path}: expected a JSON object`);
  }
  return value as RunConfigInput;
}
