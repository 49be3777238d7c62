/**
 * Compares current data with a stored reference profile: one drift test per
 * column, dataset drift, prediction drift (score distribution and alert
 * rate), target drift and data quality.
 *
 * Default test choice (Evidently's rule): with a reference of at most 1,000
 * rows, KS for numeric columns with more than 5 distinct values, otherwise
 * chi-square (more than 2 categories) or the Z-test; with a larger
 * reference, Wasserstein distance normalized by the reference std (drift at
 * ≥ 0.1) for numeric columns with more than 5 distinct values, otherwise
 * Jensen–Shannon distance (≥ 0.1). Any column's test and threshold can be
 * overridden. Dataset drift: at least `driftShare` (default 0.5) of the
 * columns drifted.
 *
 * Against a profile the tests read: KS the reservoir sample (the whole
 * reference when it has at most 5,000 values), Wasserstein the quantile
 * function (exact integral of |Q_ref − Q_cur|, Q_ref exact over the 256
 * lowest and highest values and linear between 1,001 grid points elsewhere), PSI the decile bins, Jensen–Shannon the histogram
 * bins or category counts, chi-square and Z the category counts.
 *
 * The pieces: the result types (`result.ts`), test choice (`policy.ts`),
 * numeric and categorical columns (`numeric.ts`, `categorical.ts`), data
 * quality (`quality.ts`), prediction and target drift (`target.ts`) and
 * wording (`wording.ts`).
 * @module
 */
import { UserError } from "../util/errors.ts";
import { compareCategorical } from "./categorical.ts";
import { compareNumeric } from "./numeric.ts";
import type { ReferenceProfile } from "./profile.ts";
import {
  type ColumnDrift,
  type CurrentData,
  DRIFT_FORMAT,
  type DriftOptions,
  type DriftResult,
  type SchemaChanges,
} from "./result.ts";
import { comparePrediction, compareTarget } from "./target.ts";
import { describeResult, percent } from "./wording.ts";
export * from "./result.ts";
export { defaultTest, SMALL_REFERENCE_MAX } from "./policy.ts";
export { compareNumeric, profileKnots, wassersteinFromKnots } from "./numeric.ts";
export { compareCategorical } from "./categorical.ts";
export { describeResult } from "./wording.ts";

/** Options of {@linkcode compareToProfile}: the tests, and what the report says about the sides. */
export interface CompareOptions extends DriftOptions {
  /** How the report names the reference (default its source path). */
  referenceLabel?: string;
  /** How the report names the current data (default "current"). */
  currentLabel?: string;
  /** Columns the current file lacks or adds; missing columns count as drifted. */
  schema?: SchemaChanges;
  /** Warnings to report with the result. */
  warnings?: string[];
}

/** Compares current data with a reference profile (see the module doc). */
export function compareToProfile(
  profile: ReferenceProfile,
  current: CurrentData,
  options: CompareOptions = {},
): DriftResult {
  const context = options;
  const driftShare = options.driftShare ?? 0.5;
  if (!(driftShare > 0 && driftShare <= 1)) {
    throw new UserError(`drift share must be in (0, 1], got ${driftShare}`);
  }
  for (const name of Object.keys(options.columns ?? {})) {
    if (!profile.columns[name]) {
      throw new UserError(
        `override for column "${name}": the reference has no such column ` +
          `(columns: ${profile.schema.map((c) => c.name).join(", ")})`,
      );
    }
  }
  const schema = context.schema ?? { missing: [], extra: [], typeChanged: [] };
  const columns: ColumnDrift[] = [];
  let lost = 0;
  for (const { name } of profile.schema) {
    const p = profile.columns[name];
    const override = options.columns?.[name];
    if (p.type === "numeric" && current.numeric[name]) {
      columns.push(
        compareNumeric(p, {
          column: name,
          values: current.numeric[name],
          referenceRows: profile.rows,
        }, {
          ...options,
          override,
        }),
      );
    } else if (p.type === "categorical" && current.categorical[name]) {
      columns.push(
        compareCategorical(
          p,
          { column: name, values: current.categorical[name], referenceRows: profile.rows },
          { ...options, override },
        ),
      );
    } else {
      lost++;
      if (!schema.missing.includes(name)) schema.missing.push(name);
    }
  }
  const order = new Map(profile.schema.map((c, i) => [c.name, i]));
  columns.sort((a, b) =>
    Number(b.drifted) - Number(a.drifted) || order.get(a.column)! - order.get(b.column)!
  );
  const tested = columns.length + lost;
  const drifted = columns.filter((c) => c.drifted).length + lost;
  const share = tested > 0 ? drifted / tested : 0;
  const datasetDrift = tested > 0 && share >= driftShare;

  const reasons: string[] = [];
  if (datasetDrift) {
    reasons.push(
      `dataset drift: ${drifted} of ${tested} columns drifted (${percent(share)} ≥ ${
        percent(driftShare, 0)
      })`,
    );
  }
  const prediction = comparePrediction(profile, current, options);
  if (prediction?.scores.drifted && prediction.scores.result) {
    reasons.push(`prediction drift: score ${describeResult(prediction.scores.result)}`);
  }
  if (prediction?.alertRate.drifted) {
    const a = prediction.alertRate;
    reasons.push(
      `alert rate ${percent(a.reference, 2)} → ${percent(a.current, 2)} (×${a.ratio.toFixed(2)})`,
    );
  }
  const target = compareTarget(profile, current, options);
  if (target?.drifted) {
    reasons.push(
      `target drift: fraud rate ${percent(target.reference.rate, 2)} → ${
        percent(target.current.rate, 2)
      } (${describeResult(target.result)})`,
    );
  }
  const warnings = [...(context.warnings ?? [])];
  if (lost > 0) {
    warnings.push(`current data lacks ${lost} reference column(s): ${schema.missing.join(", ")}`);
  }
  return {
    format: DRIFT_FORMAT,
    created: new Date().toISOString(),
    reference: {
      rows: profile.rows,
      source: profile.source,
      created: profile.created,
      label: context.referenceLabel ?? profile.source.path,
    },
    current: { rows: current.rows, label: context.currentLabel ?? "current" },
    driftShare,
    datasetDrift,
    driftedColumns: drifted,
    testedColumns: tested,
    driftedShareValue: share,
    columns,
    prediction,
    target,
    schema,
    drift: datasetDrift || Boolean(prediction?.drifted) || Boolean(target?.drifted),
    reasons,
    warnings,
  };
}
