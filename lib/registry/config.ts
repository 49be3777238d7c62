/**
 * A run's configuration: everything that determines its model and metrics,
 * fully resolved, so that `deno task train --config run/config.json` repeats
 * it exactly.
 * @module
 */
import { PIPELINE_CONFIG_SCHEMA, type PipelineConfig } from "../features/pipeline.ts";
import { z } from "zod";
import { DEFAULT_KIND, getKind, kindNames, type Params, resolveParams } from "../models/mod.ts";
import { parseStrategy, STRATEGY_SYNTAX } from "../eval/threshold.ts";
import { UserError } from "../util/errors.ts";
import { parseResample, RESAMPLE_SYNTAX, resampleText } from "../models/resample.ts";
import { type CalibrationMethod, CALIBRATIONS } from "../eval/calibrate.ts";
import { type ConfigFlag, parseConfig } from "../util/config.ts";

/** How rows are split into train (with a validation part) and test. */
export type SplitConfig =
  | {
    method: "time";
    trainDays: number;
    delayDays: number;
    testDays: number;
    testEnd?: string;
    /** Out of time (a window after the label delay, before test) or a random share of training. */
    validation: "time" | "random";
    /** Days of the out-of-time validation window. */
    validationDays: number;
    /** Drop validation and test transactions of cards already known to be compromised. */
    compromised: "drop" | "keep";
    /** Card precision@k: leave out cards detected on earlier days (the Handbook's rule). */
    detectedCards: "remove" | "keep";
  }
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
  /** Rebalancing of the fit rows (lib/models/resample.ts syntax); "none" by default. */
  resample: string;
  /** Score-to-probability calibration fitted on validation rows. */
  calibration: CalibrationMethod;
  /** k of the precision@k metrics. */
  k: number;
  /** Fee per alert in cost figures. */
  alertFee: number;
}

/** Whether a run's card precision@k leaves out cards detected on earlier days (time splits, by default). */
export function removeDetectedCards(config: RunConfig): boolean {
  return config.split.method === "time" && config.split.detectedCards !== "keep";
}

/** What a user may give; everything else gets defaults. */
export type RunConfigInput = Partial<Omit<RunConfig, "format" | "split">> & {
  split?: Partial<SplitConfig> & { method?: string };
};

const int = (lo: number, hi: number) => z.int().min(lo).max(hi);
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The split part of a run config: one variant per method, each with its defaults. */
const SPLIT_SCHEMA = z.discriminatedUnion("method", [
  z.strictObject({
    method: z.literal("time"),
    trainDays: int(1, 36500).default(7).describe("time split: training days"),
    delayDays: int(0, 36500).default(7).describe(
      "time split: label delay days between train and test",
    ),
    testDays: int(1, 36500).default(7).describe("time split: test days"),
    testEnd: z.string().regex(DAY, "expected a date YYYY-MM-DD")
      .refine((d) => !Number.isNaN(Date.parse(d)), "expected a date that exists")
      .optional()
      .describe("time split: last test day, exclusive (default: after the data)"),
    validation: z.enum(["time", "random"]).default("time").describe(
      "time split: validation out of time (a window after the label delay, before test) or random (a stratified share of the training window)",
    ),
    validationDays: int(1, 36500).default(7).describe(
      "time split: days of the out-of-time validation window",
    ),
    compromised: z.enum(["drop", "keep"]).default("drop").describe(
      "time split: drop validation and test transactions of cards with a fraud known by then (a fraud from the training window on, at least the label delay before their day)",
    ),
    detectedCards: z.enum(["remove", "keep"]).default("remove").describe(
      "time split: card precision@k leaves out cards detected on earlier days",
    ),
  }),
  z.strictObject({
    method: z.literal("random"),
    testFraction: z.number().min(0.01).max(0.99).default(0.2).describe(
      "random split: test share",
    ),
  }),
  z.strictObject({ method: z.literal("mod5") }),
  z.strictObject({
    method: z.literal("prefix"),
    trainFraction: z.number().min(0.01).max(0.99).default(0.8).describe(
      "prefix split: training share",
    ),
  }),
], { error: "expected time, random, mod5 or prefix" });

/**
 * The run config's schema: every key, its type, range, default and
 * description. `resolveRunConfig` validates with it, the train task's flags
 * and their `--help` come from it ({@linkcode RUN_CONFIG_FLAGS}).
 */
export const RUN_CONFIG_SCHEMA = z.strictObject({
  format: z.literal("fraudlab.run-config/1").optional().describe("file format tag"),
  data: z.string({ error: (i) => (i.input === undefined ? "required" : "expected a path") })
    .min(1, "required")
    .describe("the data file (CSV or Parquet)"),
  spec: z.string().default("txsim").describe("dataset spec: a built-in name or a spec file"),
  model: z.string().default(DEFAULT_KIND).describe(`model kind: ${kindNames().join(", ")}`),
  params: z.record(z.string(), z.unknown()).default({}).describe(
    "model parameters (the kind's defaults fill the rest)",
  ),
  split: SPLIT_SCHEMA.default({ method: "random", testFraction: 0.2 }).describe(
    "how rows split: time, random, mod5 or prefix",
  ),
  validationFraction: z.number().min(0.05).max(0.5).default(0.2).describe(
    "share of training rows held out to choose the threshold",
  ),
  seed: int(0, 2 ** 32 - 1).default(0).describe("seed of every random choice"),
  threshold: z.string().default("max-f1").describe(
    `threshold strategy: ${STRATEGY_SYNTAX}, chosen on validation rows`,
  ),
  features: PIPELINE_CONFIG_SCHEMA.default({}).describe(
    "feature pipeline settings (log1p, velocity windows)",
  ),
  resample: z.string().default("none").describe(
    `rebalancing of the fit rows after the pipeline: ${RESAMPLE_SYNTAX}`,
  ),
  calibration: z.enum(CALIBRATIONS).default("none").describe(
    "probabilities from scores, fitted on validation rows: none, platt or isotonic",
  ),
  k: int(1, 1e9).default(100).describe("k of the precision@k metrics"),
  alertFee: z.number().min(0).max(1e12).default(5).describe("fee per alert in cost figures"),
});

/** The train task's flags that set run config keys (`--help` reads the schema). */
export const RUN_CONFIG_FLAGS: readonly ConfigFlag[] = [
  { flag: "data", path: ["data"] },
  { flag: "spec", path: ["spec"] },
  { flag: "model", path: ["model"] },
  {
    flag: "split",
    path: ["split", "method"],
    help: "how rows split: time, random, mod5 or prefix",
  },
  { flag: "train-days", path: ["split", "trainDays"], type: "number" },
  { flag: "delay-days", path: ["split", "delayDays"], type: "number" },
  { flag: "test-days", path: ["split", "testDays"], type: "number" },
  { flag: "test-end", path: ["split", "testEnd"] },
  { flag: "validation", path: ["split", "validation"] },
  { flag: "validation-days", path: ["split", "validationDays"], type: "number" },
  { flag: "compromised", path: ["split", "compromised"] },
  { flag: "detected-cards", path: ["split", "detectedCards"] },
  { flag: "test-frac", path: ["split", "testFraction"], type: "number" },
  { flag: "train-frac", path: ["split", "trainFraction"], type: "number" },
  { flag: "seed", path: ["seed"], type: "number" },
  { flag: "threshold", path: ["threshold"] },
  { flag: "resample", path: ["resample"] },
  { flag: "calibration", path: ["calibration"] },
  {
    flag: "feature-set",
    path: ["features", "velocity", "rules"],
    help:
      "velocity feature set: fraudlab (default) or handbook (the Fraud Detection Handbook's 15)",
  },
];

/**
 * Fills in a run config's defaults and validates it; throws a UserError
 * naming the bad key (and its flag).
 *
 * @param input a config as written (every key optional but `data`)
 * @returns the full, re-runnable config
 *
 * @example
 * ```ts
 * import { resolveRunConfig } from "./config.ts";
 * const c = resolveRunConfig({ data: "data/demo.parquet", model: "logreg" });
 * console.log(c.split.method, c.threshold, c.params.C); // random max-f1 1
 * ```
 */
export function resolveRunConfig(input: RunConfigInput): RunConfig {
  const c = parseConfig(RUN_CONFIG_SCHEMA, input, {
    what: "run config",
    flags: RUN_CONFIG_FLAGS,
  });
  const kind = getKind(c.model);
  const params = resolveParams(kind, c.params);
  kind.create(params); // validates ranges
  parseStrategy(c.threshold);
  const resample = parseResample(c.resample);
  if (resample.method !== "none" && !kind.supervised) {
    throw new UserError(
      `--resample: ${kind.name} does not learn from labels; resampling is for supervised kinds`,
    );
  }
  const split = c.split as SplitConfig;
  const features: PipelineConfig = {
    ...(c.features as PipelineConfig),
    standardize: kind.standardize,
  };
  if (features.impute === false && !kind.missingValues) {
    const takers = kindNames().filter((k) => getKind(k).missingValues).join(", ");
    throw new UserError(
      `features.impute: ${kind.name} needs missing values imputed (only ${takers} take them as they are)`,
    );
  }
  if (split.method === "time" && features.velocity !== false) {
    const v = typeof features.velocity === "object" ? features.velocity : {};
    features.velocity = { ...v, delayDays: split.delayDays };
  }
  return {
    format: "fraudlab.run-config/1",
    data: c.data,
    spec: c.spec,
    model: kind.name,
    params,
    split,
    validationFraction: c.validationFraction,
    seed: c.seed,
    threshold: c.threshold,
    features,
    resample: resampleText(resample),
    calibration: c.calibration,
    k: c.k,
    alertFee: c.alertFee,
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
