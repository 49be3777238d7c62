/**
 * The feature pipeline: turns a validated frame (or one JSON record, as the
 * scoring server receives it) into a row-major `Float32Array` matrix.
 *
 * Fitted on training rows only:
 * - numeric columns: median imputation (median of the non-missing training
 *   values, 0 when there are none), or with `impute: false` missing values
 *   kept as NaN for kinds that route them themselves (the tree kinds),
 *   optional `log1p` (sign-preserving, so
 *   negative values stay ordered), optional standardization with the mean
 *   and population standard deviation of the imputed column (a constant
 *   column, min == max, gets std 1); every transformed value is clamped
 *   to ±{@linkcode featureLimit} (a million standard deviations when
 *   standardized, the float32 range otherwise), so no input, however
 *   extreme, makes a feature or a model's arithmetic non-finite;
 * - categorical columns: missing → `__missing__`; one 0/1 column per training
 *   category sorted by code point; an unseen value is all zeros (left out
 *   with `categorical: false`);
 * - velocity features (entity counts, mean amounts, delayed-label risk,
 *   calendar) when the spec has entities and a time column. They need the
 *   entity's history, so they are computed on the whole frame in time order
 *   and then treated as numeric columns; a single record carries them as
 *   fields (the server computes them from its entity state).
 *
 * The fitted pipeline is plain JSON ({@linkcode FittedPipeline}), and
 * {@linkcode transformFrame} and {@linkcode transformRecord} share one
 * per-value code path, so a record and the same row of a frame give
 * identical numbers.
 *
 * One file: fitting, transforming a frame and transforming one record must
 * give the same numbers, so they share the per-value code here.
 * @module
 */
import pl from "nodejs-polars";
import { z } from "zod";
import type { ResolvedSpec } from "../data/spec.ts";
import { UserError } from "../util/errors.ts";
import {
  VELOCITY_RULES,
  velocityColumnNames,
  velocityFeatures,
  type VelocityOptions,
} from "./velocity.ts";
import { selectKth } from "../util/select.ts";
import { numericColumn, stringColumn } from "../data/frame.ts";

/** The category a missing categorical value maps to. */
export const MISSING_CATEGORY = "__missing__";

/** What to build; part of a run's config. */
export interface PipelineConfig {
  /** Standardize numeric columns (logreg, autoencoder). Default false. */
  standardize?: boolean;
  /** Numeric columns to pass through sign-preserving log1p before scaling. */
  log1p?: string[];
  /**
   * Velocity features: false to leave them out; an options object (or true
   * for defaults) to add them when the spec has entities and time.
   */
  velocity?: boolean | VelocityOptions;
  /** Replace missing numeric values by the fit-row median (default true); false keeps NaN. */
  impute?: boolean;
  /** One-hot columns for the spec's categorical columns (default true). */
  categorical?: boolean;
}

/** The schema of {@linkcode VelocityOptions} in a config: shapes and ranges, defaults at fit time. */
export const VELOCITY_CONFIG_SCHEMA = z.strictObject({
  windowsDays: z.array(z.number().gt(0).max(3650)).min(1).optional().describe(
    "window lengths in days (default 1, 7, 30)",
  ),
  delayDays: z.int().min(0).max(36500).optional().describe(
    "days before a label is known (default 7; a time split sets its label delay)",
  ),
  entities: z.array(z.string()).optional().describe("entity columns (default the spec's)"),
  calendar: z.boolean().optional().describe("add hour, is_night and is_weekend (default true)"),
  rules: z.enum(VELOCITY_RULES).optional().describe(
    "feature set: fraudlab (default) or handbook (the Fraud Detection Handbook's 15 features)",
  ),
});

/** The schema of a {@linkcode PipelineConfig}: the `features` key of a run config. */
export const PIPELINE_CONFIG_SCHEMA = z.strictObject({
  standardize: z.boolean().optional().describe("standardize numeric columns (the kind decides)"),
  log1p: z.array(z.string()).optional().describe(
    "numeric columns passed through sign-preserving log1p before scaling",
  ),
  velocity: z.union([z.boolean(), VELOCITY_CONFIG_SCHEMA]).optional().describe(
    "velocity features: false to leave them out, true or options to add them",
  ),
  impute: z.boolean().optional().describe(
    "replace missing numbers by the fit-row median (default true; false keeps them missing, tree kinds only)",
  ),
  categorical: z.boolean().optional().describe(
    "one-hot columns for the spec's categorical columns (default true)",
  ),
});

/** One fitted numeric column. */
export interface NumericStep {
  /** Column name. */
  name: string;
  /** Fit-row median: what a missing value becomes. */
  median: number;
  /** Whether values pass through log(1 + x) first. */
  log1p: boolean;
  /** Fit-row mean (after log1p), for standardizing. */
  mean: number;
  /** Fit-row standard deviation (after log1p), for standardizing. */
  std: number;
  /** Computed by velocity features rather than read from the input. */
  derived: boolean;
}

/** One fitted categorical column. */
export interface CategoricalStep {
  /** Column name. */
  name: string;
  /** Categories seen on fit rows, one indicator column each. */
  categories: string[];
}

/** A fitted pipeline: plain JSON, stored in every run. */
export interface FittedPipeline {
  /** File format tag. */
  format: "fraudlab.pipeline/1";
  /** Whether numeric columns are standardized. */
  standardize: boolean;
  /** False when missing numbers stay NaN (absent in pipelines from before it existed: true). */
  impute?: boolean;
  /** Numeric steps, in column order. */
  numeric: NumericStep[];
  /** Categorical steps, after the numeric columns. */
  categorical: CategoricalStep[];
  /** Velocity options used, or null when no velocity features are built. */
  velocity: Required<VelocityOptions> | null;
  /** Output column names in matrix order. */
  columns: string[];
  /** Training rows the pipeline was fitted on. */
  fittedRows: number;
}

/** A dense row-major feature matrix. */
export interface Matrix {
  /** Row-major values. */
  data: Float32Array;
  /** Rows. */
  rows: number;
  /** Columns per row. */
  cols: number;
  /** Column names. */
  columns: string[];
}

/** A feature-ready frame: the dataset's columns plus derived velocity columns. */
export interface FeatureFrame {
  frame: pl.DataFrame;
  spec: ResolvedSpec;
}

/** Velocity options a config asks for on this spec, or null for none. */
export function velocityOptionsFor(
  spec: ResolvedSpec,
  config: PipelineConfig,
): Required<VelocityOptions> | null {
  const v = config.velocity ?? true;
  if (v === false || !spec.time || spec.entities.length === 0) return null;
  const o = v === true ? {} : v;
  return {
    windowsDays: o.windowsDays ?? [1, 7, 30],
    delayDays: o.delayDays ?? 7,
    entities: o.entities ?? spec.entities,
    calendar: o.calendar ?? true,
    rules: o.rules ?? "fraudlab",
  };
}

/**
 * Adds the velocity columns a pipeline needs to a dataset's frame (computed
 * over every row, in time order, leak-free by construction).
 */
export function featureFrame(
  ds: { frame: pl.DataFrame; spec: ResolvedSpec },
  velocity: Required<VelocityOptions> | null,
): FeatureFrame {
  if (!velocity) return { frame: ds.frame, spec: ds.spec };
  const feats = velocityFeatures(ds, velocity);
  return { frame: pl.concat([ds.frame, feats], { how: "horizontal" }), spec: ds.spec };
}

/**
 * Row indices as an Int32Array: the hot loops index columns with them, and
 * V8 compiles Int32Array loads to plain integer indices (Uint32Array loads
 * may not fit a small integer and take a slower path).
 */
function int32Rows(rows: ArrayLike<number> | undefined): Int32Array | undefined {
  if (!rows || rows instanceof Int32Array) return rows as Int32Array | undefined;
  return Int32Array.from(rows);
}

/** Sign-preserving log1p: keeps order for negative values. */
export function signedLog1p(x: number): number {
  return x < 0 ? -Math.log1p(-x) : Math.log1p(x);
}

/** Order-preserving 16-bit bucket of a double from its high 32 bits. */
function bucketOf(hi: number): number {
  return (hi & 0x80000000 ? ~hi : hi | 0x80000000) >>> 16;
}

/**
 * The values of rank k − 1 and k (0-based) of a[0..n), k ≥ 1. One counting
 * pass over the top 16 bits of each value's order-preserving bit pattern
 * finds the buckets holding those ranks; only their values are then
 * quickselected. Linear time with small constants, which matters on millions
 * of training rows.
 */
function ranksAround(a: Float64Array, n: number, k: number): [number, number] {
  if (n < 4096) {
    const b = a.slice(0, n);
    const upper = selectKth(b, { n, k });
    let lower = -Infinity;
    for (let i = 0; i < k; i++) if (b[i] > lower) lower = b[i];
    return [lower, upper];
  }
  const hi = new Uint32Array(a.buffer, a.byteOffset, n * 2);
  const counts = new Uint32Array(65536);
  for (let i = 0; i < n; i++) counts[bucketOf(hi[2 * i + 1])]++;
  // Buckets of rank k - 1 and rank k, and the count of values before each.
  let lo = 0, beforeLo = 0;
  while (beforeLo + counts[lo] <= k - 1) beforeLo += counts[lo++];
  let up = lo, beforeUp = beforeLo;
  while (beforeUp + counts[up] <= k) beforeUp += counts[up++];
  const part = new Float64Array(counts[lo] + (up === lo ? 0 : counts[up]));
  let m = 0;
  for (let i = 0; i < n; i++) {
    const bk = bucketOf(hi[2 * i + 1]);
    if (bk === lo || bk === up) part[m++] = a[i];
  }
  // part holds the lo bucket's values and (if different) the up bucket's: ranks
  // within part start at beforeLo.
  const upper = selectKth(part, { n: m, k: k - beforeLo });
  let lower = -Infinity;
  for (let i = 0; i < k - beforeLo; i++) if (part[i] > lower) lower = part[i];
  return [lower, upper];
}

/** Median of the non-NaN values (mean of the two middle ones for an even count; 0 when none). */
export function medianOf(values: Float64Array): number {
  const a = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) a[n++] = values[i] + 0; // -0 → +0
  return medianOfPresent(a, n);
}

/** Median of a[0..n) (no NaN); reorders a. 0 when n = 0. */
function medianOfPresent(a: Float64Array, n: number): number {
  if (n === 0) return 0;
  if (n === 1) return a[0];
  const [lower, upper] = ranksAround(a, n, n >> 1);
  return n % 2 ? upper : (lower + upper) / 2;
}

/**
 * Fits a pipeline on the rows `rows` of a feature frame (all rows when
 * omitted). `ff` must come from {@linkcode featureFrame} with the same
 * velocity options.
 */
export function fitPipeline(
  ff: FeatureFrame,
  rows: ArrayLike<number> | undefined,
  config: PipelineConfig = {},
): FittedPipeline {
  const spec = ff.spec;
  const standardize = config.standardize ?? false;
  const logCols = new Set(config.log1p ?? []);
  const velocity = velocityOptionsFor(spec, config);
  const derived = velocity ? velocityColumnNames(velocity.entities, velocity) : [];
  for (const c of logCols) {
    if (!spec.numeric.includes(c) && !derived.includes(c)) {
      throw new UserError(
        `log1p: "${c}" is not a numeric feature (numeric: ${spec.numeric.join(", ")})`,
      );
    }
  }
  const n = rows ? rows.length : ff.frame.height;
  if (n === 0) throw new UserError("cannot fit the feature pipeline on zero training rows");
  const idx = int32Rows(rows);
  // One scratch buffer for every column's present values (no per-column allocation).
  const present = new Float64Array(n);
  const numeric: NumericStep[] = [];
  for (
    const [name, isDerived] of [
      ...spec.numeric.map((c) => [c, false] as const),
      ...derived.map((c) => [c, true] as const),
    ]
  ) {
    if (!ff.frame.columns.includes(name)) {
      throw new UserError(`feature frame lacks column "${name}"`);
    }
    const src = numericColumn(ff.frame, name);
    const log = logCols.has(name);
    const rows = idx;
    // One pass gathers the present training values (for the median) and the
    // sum, min and max of their transformed values; the imputed rows all
    // hold the median, so they enter the statistics in closed form.
    let m = 0, sum = 0, min = Infinity, max = -Infinity;
    for (let i = 0; i < n; i++) {
      const x = src[rows ? rows[i] : i];
      if (x !== x) continue; // NaN = missing
      present[m++] = x + 0; // -0 → +0
      const v = log ? signedLog1p(x) : x;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const missing = n - m;
    const med = medianOfPresent(present, m);
    const tMed = log ? signedLog1p(med) : med;
    if (missing > 0) {
      sum += missing * tMed;
      if (tMed < min) min = tMed;
      if (tMed > max) max = tMed;
    }
    const mean = sum / n;
    let ss = missing * (tMed - mean) * (tMed - mean);
    for (let i = 0; i < m; i++) {
      const d = (log ? signedLog1p(present[i]) : present[i]) - mean;
      ss += d * d;
    }
    const std = min === max ? 1 : Math.sqrt(ss / n);
    numeric.push({
      name,
      median: med,
      log1p: log,
      mean: min === max ? min : mean,
      std,
      derived: isDerived,
    });
  }
  const categorical: CategoricalStep[] = (config.categorical === false ? [] : spec.categorical).map(
    (name) => {
      const col = stringColumn(ff.frame, name);
      const seen = new Set<string>();
      if (rows) {
        for (let i = 0; i < rows.length; i++) {
          seen.add(col[rows[i]] ?? MISSING_CATEGORY);
        }
      } else for (const v of col) seen.add(v ?? MISSING_CATEGORY);
      return { name, categories: [...seen].sort() };
    },
  );
  const columns = [
    ...numeric.map((s) => s.name),
    ...categorical.flatMap((s) => s.categories.map((c) => `${s.name}=${c}`)),
  ];
  return {
    format: "fraudlab.pipeline/1",
    standardize,
    impute: config.impute ?? true,
    numeric,
    categorical,
    velocity,
    columns,
    fittedRows: n,
  };
}

/** Largest finite float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Largest standardized value a feature takes: a million standard deviations. */
export const Z_LIMIT = 1e6;

/**
 * Largest magnitude of a transformed numeric value: {@linkcode Z_LIMIT}
 * when standardized (the weighted sums of logreg and the autoencoder then
 * stay far inside the float32 range), the float32 range otherwise (trees
 * only compare).
 */
export function featureLimit(standardize: boolean): number {
  return standardize ? Z_LIMIT : FLOAT32_MAX;
}

/** What a missing value of `step` becomes: its median, or NaN when the pipeline keeps missing values. */
function missingValue(fp: FittedPipeline, step: NumericStep): number {
  return fp.impute === false ? NaN : step.median;
}

/** The transformed value of one input before clamping (NaN or null = missing). */
function unclampedValue(fp: FittedPipeline, step: NumericStep, x: number | null): number {
  let v = x === null || Number.isNaN(x) ? missingValue(fp, step) : x;
  if (step.log1p) v = signedLog1p(v);
  return fp.standardize ? (v - step.mean) / step.std : v;
}

/**
 * The value a numeric step writes for one input (NaN or null = missing),
 * clamped to ±limit (a kept missing value stays NaN).
 */
function numericValue(fp: FittedPipeline, step: NumericStep, x: number | null): number {
  const v = unclampedValue(fp, step, x), lim = featureLimit(fp.standardize);
  return v > lim ? lim : v < -lim ? -lim : v;
}

/**
 * The first numeric input field of `record` (derived velocity features
 * excluded) whose transformed value lies outside ±{@linkcode featureLimit}
 * and would be clamped, with that value; null when every one fits. The
 * server refuses such a record rather than score a value it cannot
 * represent.
 */
export function outOfRangeInput(
  fp: FittedPipeline,
  record: FeatureRecord,
): { field: string; value: number } | null {
  const lim = featureLimit(fp.standardize);
  for (const step of fp.numeric) {
    if (step.derived) continue;
    const raw = record[step.name];
    if (typeof raw !== "number") continue;
    const v = unclampedValue(fp, step, raw);
    if (!(Math.abs(v) <= lim)) return { field: step.name, value: raw };
  }
  return null;
}

/**
 * Per row of `frame`, the index in `fp.numeric` of the first input field
 * (derived velocity features excluded) that {@linkcode outOfRangeInput}
 * would name, or -1: the batch form of that check, with the same test.
 */
export function outOfRangeRows(fp: FittedPipeline, frame: pl.DataFrame): Int32Array {
  const bad = new Int32Array(frame.height).fill(-1);
  const lim = featureLimit(fp.standardize);
  for (let s = fp.numeric.length - 1; s >= 0; s--) {
    const step = fp.numeric[s];
    if (step.derived || !frame.columns.includes(step.name)) continue;
    const col = numericColumn(frame, step.name);
    for (let i = 0; i < col.length; i++) {
      const x = col[i];
      if (x !== x) continue; // missing: imputed, never out of range
      if (!(Math.abs(unclampedValue(fp, step, x)) <= lim)) bad[i] = s;
    }
  }
  return bad;
}

/**
 * Transforms rows `rows` (all when omitted) of a feature frame into a
 * matrix. The frame must hold the velocity columns when the pipeline uses
 * them ({@linkcode featureFrame}).
 */
export function transformFrame(
  fp: FittedPipeline,
  ff: { frame: pl.DataFrame },
  options: {
    rows?: ArrayLike<number>;
    /** Numeric columns given as arrays (NaN = missing) instead of frame columns, e.g. velocity features computed online. */
    columns?: ReadonlyMap<string, Float64Array>;
    /** Where the matrix goes when it has exactly the room (its values are overwritten). */
    into?: Float32Array;
  } = {},
): Matrix {
  let rows = options.rows;
  const frame = ff.frame;
  const n = rows ? rows.length : frame.height;
  rows = int32Rows(rows);
  const cols = fp.columns.length;
  const data = options.into?.length === n * cols
    ? options.into.fill(0)
    : new Float32Array(n * cols);
  const given = options.columns;
  const sources: Float64Array[] = fp.numeric.map((step) => {
    const col = given?.get(step.name);
    if (col) {
      if (col.length !== frame.height) {
        throw new Error(`column "${step.name}" has ${col.length} values for ${frame.height} rows`);
      }
      return col;
    }
    if (!frame.columns.includes(step.name)) {
      throw new UserError(`input lacks numeric feature column "${step.name}"`);
    }
    return numericColumn(frame, step.name);
  });
  // Blocks of rows, column by column within a block: the block's slice of
  // the row-major output stays in cache while every column is written.
  const BLOCK = 1024, standardize = fp.standardize;
  for (let start = 0; start < n; start += BLOCK) {
    const end = Math.min(start + BLOCK, n);
    for (let j = 0; j < sources.length; j++) {
      const col = sources[j];
      // numericValue, inlined for speed (same operations, so identical results).
      const { mean, std, log1p } = fp.numeric[j];
      const fill = missingValue(fp, fp.numeric[j]);
      const lim = featureLimit(standardize);
      for (let i = start, at = start * cols + j; i < end; i++, at += cols) {
        let v = col[rows ? rows[i] : i];
        if (v !== v) v = fill; // NaN = missing
        if (log1p) v = signedLog1p(v);
        if (standardize) v = (v - mean) / std;
        data[at] = v > lim ? lim : v < -lim ? -lim : v;
      }
    }
  }
  let j = sources.length;
  for (const step of fp.categorical) {
    if (!frame.columns.includes(step.name)) {
      throw new UserError(`input lacks categorical feature column "${step.name}"`);
    }
    const { codes, of } = categoryCodes(frame, step.name, step.categories);
    for (let i = 0; i < n; i++) {
      const k = of[codes[rows ? rows[i] : i]];
      if (k >= 0) data[i * cols + j + k] = 1;
    }
    j += step.categories.length;
  }
  return { data, rows: n, cols, columns: fp.columns };
}

/**
 * A text column's values as small codes and, per code, the index of its
 * value in `categories` (-1: none); a missing value is
 * {@linkcode MISSING_CATEGORY}, as {@linkcode transformRecord} reads it.
 * Coded by polars, so only one string per distinct value reaches
 * JavaScript (the one-hots of one column of 250,000 rows: 10–11 ms, against 30–48 ms only to
 * read the column as strings).
 */
function categoryCodes(
  frame: pl.DataFrame,
  name: string,
  categories: string[],
): { codes: Uint32Array; of: Int32Array } {
  const coded = frame.select(
    pl.col(name).cast(pl.Utf8).fillNull(pl.lit(MISSING_CATEGORY)).cast(pl.Categorical)
      .toPhysical().alias("c"),
  ).withRowIndex("i");
  const codes = coded.getColumn("c").cast(pl.UInt32).toTypedArray() as Uint32Array;
  // Each code's first row gives its value.
  const firsts = coded.filter(pl.col("c").isFirstDistinct());
  const firstCodes = firsts.getColumn("c").cast(pl.UInt32).toTypedArray() as Uint32Array;
  const values = frame.getColumn(name).cast(pl.Utf8)
    .gather(Array.from(firsts.getColumn("i").toTypedArray() as Uint32Array)).toArray() as (
      | string
      | null
    )[];
  const index = new Map(categories.map((c, k) => [c, k]));
  let top = 0;
  for (const c of firstCodes) top = Math.max(top, c);
  if (top >= 4 * firstCodes.length + 1024) {
    // Codes far apart (a string cache shared with other columns): renumbered densely.
    const dense = new Map<number, number>();
    firstCodes.forEach((c, r) => dense.set(c, r));
    const of = Int32Array.from(values, (v) => index.get(v ?? MISSING_CATEGORY) ?? -1);
    return { codes: codes.map((c) => dense.get(c)!), of };
  }
  const of = new Int32Array(top + 1).fill(-1);
  firstCodes.forEach((c, r) => of[c] = index.get(values[r] ?? MISSING_CATEGORY) ?? -1);
  return { codes, of };
}

/** One input record: field name → number, string or null. */
export type FeatureRecord = Record<string, number | string | boolean | null | undefined>;

/**
 * Transforms one record (as the server receives it) into a feature vector,
 * with the same per-value code as {@linkcode transformFrame}. Numeric fields
 * must be numbers (or null/absent = missing); categorical fields strings (or
 * null/absent = missing). Velocity features are read from `derived` when
 * given (the server computes them from its entity history), otherwise from
 * the record.
 */
export function transformRecord(
  fp: FittedPipeline,
  record: FeatureRecord,
  options: {
    /** The record's velocity features (by name), computed online. */
    derived?: Record<string, number | null>;
    /** Where the row goes (default a new array). */
    out?: Float32Array;
  } = {},
): Float32Array {
  const derived = options.derived;
  const out = options.out ?? new Float32Array(fp.columns.length);
  let j = 0;
  for (const step of fp.numeric) {
    const raw = derived && step.derived ? derived[step.name] : record[step.name];
    let x: number | null;
    if (raw === null || raw === undefined) x = null;
    else if (typeof raw === "number") x = raw;
    else if (typeof raw === "boolean") x = raw ? 1 : 0;
    else throw new UserError(`field "${step.name}": expected a number, got ${JSON.stringify(raw)}`);
    out[j++] = numericValue(fp, step, x);
  }
  for (const step of fp.categorical) {
    const raw = record[step.name];
    const v = raw === null || raw === undefined ? MISSING_CATEGORY : String(raw);
    const k = step.categories.indexOf(v);
    for (let c = 0; c < step.categories.length; c++) out[j + c] = c === k ? 1 : 0;
    j += step.categories.length;
  }
  return out;
}

/** Checks that a JSON value is a fitted pipeline (as read from a run). */
export function pipelineFromJSON(value: unknown): FittedPipeline {
  const v = value as FittedPipeline;
  if (!v || v.format !== "fraudlab.pipeline/1" || !Array.isArray(v.columns)) {
    throw new UserError("not a fraudlab pipeline (format fraudlab.pipeline/1)");
  }
  return v;
}
