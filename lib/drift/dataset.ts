/**
 * Drift on datasets: builds a reference profile from rows of a loaded
 * dataset (with a model's validation scores when there is one) and reads a
 * current dataset's columns for {@linkcode compareToProfile}.
 * @module
 */
import pl from "nodejs-polars";
import type { Dataset } from "../data/load.ts";
import { numericColumn, stringColumn } from "../data/frame.ts";
import { sha256Hex } from "../data/fingerprint.ts";
import { UserError } from "../util/errors.ts";
import {
  PROFILE_FORMAT,
  profileCategorical,
  profileNumeric,
  profileOptions,
  type ReferenceColumn,
  type ReferenceOptions,
  type ReferenceProfile,
} from "./profile.ts";
import type { CurrentData, SchemaChanges } from "./compare.ts";

/** The columns drift monitors: the spec's numeric features (and amount) and categorical features. */
export function monitoredColumns(
  spec: Dataset["spec"],
): { name: string; type: "numeric" | "categorical" }[] {
  const numeric = [...spec.numeric];
  if (spec.amount && !numeric.includes(spec.amount)) numeric.unshift(spec.amount);
  return [
    ...numeric.map((name) => ({ name, type: "numeric" as const })),
    ...spec.categorical.map((name) => ({ name, type: "categorical" as const })),
  ];
}

function pick<T>(values: ArrayLike<T>, rows: Uint32Array | undefined): ArrayLike<T> {
  if (!rows) return values;
  const out = new Array<T>(rows.length);
  for (let k = 0; k < rows.length; k++) out[k] = values[rows[k]];
  return out;
}

/** values[rows[k]] for every k, as a plain loop (a mapping callback is far slower here). */
function pickNumeric(values: Float64Array, rows: Uint32Array | undefined): Float64Array {
  if (!rows) return values;
  const out = new Float64Array(rows.length);
  for (let k = 0; k < rows.length; k++) out[k] = values[rows[k]];
  return out;
}

/** Labels of a dataset as Int8 (0/1), or null when the file carries none. */
function labelColumn(ds: Dataset): Int8Array | null {
  if (ds.labeled === false) return null;
  return Int8Array.from(ds.frame.getColumn(ds.spec.label).cast(pl.Int8).toArray() as number[]);
}

/**
 * Profiles rows `rows` (all when omitted) of a dataset. With `prediction`,
 * the profile also holds the score distribution and alert count of a model
 * on its validation rows.
 */
export function referenceProfile(
  ds: Dataset,
  options: ReferenceOptions & {
    rows?: Uint32Array;
    rowsLabel?: string;
    /** The file's sha256 when already known (saves hashing it again). */
    sha256?: string;
    /** Creation time to record; default now, null for none. */
    created?: string | null;
    prediction?: { scores: Float32Array; threshold: number };
  } = {},
): ReferenceProfile {
  const { rows } = options;
  const o = profileOptions(options);
  const schema = monitoredColumns(ds.spec);
  const columns: Record<string, ReferenceColumn> = {};
  schema.forEach(({ name, type }, i) => {
    try {
      columns[name] = type === "numeric"
        ? profileNumeric(pickNumeric(numericColumn(ds.frame, name), rows), {
          ...o,
          seed: o.seed + i,
        })
        : profileCategorical(pick(stringColumn(ds.frame, name), rows), o);
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`column "${name}": ${e.message}`);
      throw e;
    }
  });
  const n = rows ? rows.length : ds.frame.height;
  const labels = labelColumn(ds);
  let positives = 0;
  if (labels) { for (let k = 0; k < n; k++) positives += labels[rows ? rows[k] : k]; }
  let prediction: ReferenceProfile["prediction"] = null;
  if (options.prediction) {
    const { scores, threshold } = options.prediction;
    let alerts = 0;
    for (let i = 0; i < scores.length; i++) alerts += Number(scores[i] >= threshold);
    prediction = {
      rows: scores.length,
      threshold,
      alerts,
      scores: profileNumeric(scores, { ...o, seed: o.seed + schema.length }),
    };
  }
  return {
    format: PROFILE_FORMAT,
    created: options.created === undefined ? new Date().toISOString() : options.created,
    rows: n,
    source: {
      path: ds.path,
      sha256: options.sha256 ?? sha256Hex(ds.bytes),
      rows: options.rowsLabel ?? (rows ? `${n} selected rows` : "all rows"),
    },
    schema,
    columns,
    target: labels ? { label: ds.spec.label, rows: n, positives } : null,
    prediction,
    options: o,
  };
}

/** The monitored columns (and labels) of rows `rows` (all when omitted) of a current dataset. */
export function currentData(ds: Dataset, rows?: Uint32Array): CurrentData {
  const numeric: Record<string, Float64Array> = {};
  const categorical: Record<string, ArrayLike<string | null>> = {};
  for (const { name, type } of monitoredColumns(ds.spec)) {
    if (type === "numeric") numeric[name] = pickNumeric(numericColumn(ds.frame, name), rows);
    else categorical[name] = pick(stringColumn(ds.frame, name), rows);
  }
  const labels = labelColumn(ds);
  return {
    rows: rows ? rows.length : ds.frame.height,
    numeric,
    categorical,
    labels: labels && rows ? Int8Array.from(rows, (i) => labels[i]) : labels,
  };
}

/** Schema differences between a profile and a current dataset. */
export function schemaChanges(profile: ReferenceProfile, ds: Dataset): SchemaChanges {
  const current = new Map(monitoredColumns(ds.spec).map((c) => [c.name, c.type]));
  const known = new Set(profile.schema.map((c) => c.name));
  const missing = profile.schema.filter((c) => !current.has(c.name)).map((c) => c.name);
  const typeChanged = profile.schema
    .filter((c) => current.has(c.name) && current.get(c.name) !== c.type)
    .map((c) => ({ column: c.name, reference: c.type, current: current.get(c.name)! }));
  const extra = [
    ...[...current.keys()].filter((c) => !known.has(c)),
    ...ds.ignored.filter((c) => !(ds.spec.drop ?? []).includes(c)),
  ];
  return { missing, extra, typeChanged };
}
