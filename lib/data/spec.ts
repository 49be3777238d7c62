/**
 * Dataset specs: which column is the label, which are ids, time, amount and
 * entities, and which are numeric or categorical features. A spec is plain
 * JSON so a user can write one for any CSV.
 * @module
 */
import { UserError } from "../util/errors.ts";

/** A dataset description as a user writes it (JSON-serializable). */
export interface DatasetSpec {
  /** Short name, used in run and artifact names. */
  name: string;
  /** The label column: 1 (or true) = fraud. */
  label: string;
  /** A row identifier, never a feature. */
  id?: string;
  /** Event time: a datetime (ISO text or Parquet datetime) or numeric seconds. */
  time?: string;
  /** The transaction amount (also a numeric feature when present in `numeric` or inferred). */
  amount?: string;
  /** Entity columns (customer, terminal, device) for velocity features; never features themselves. */
  entities?: string[];
  /** Numeric feature columns; inferred from the data when omitted. */
  numeric?: string[];
  /** Categorical feature columns; inferred from the data when omitted. */
  categorical?: string[];
  /** Columns deliberately excluded (they may be absent from a file). */
  drop?: string[];
  /** Feature columns used when the file has them and ignored otherwise (type inferred). */
  optional?: string[];
  /**
   * The valid range of numeric columns, `{ column: [min, max] }`: values
   * outside are clamped to it, when loading and when scoring alike (e.g. an
   * amount no payment can exceed).
   */
  range?: Record<string, [number, number]>;
  /** The spec's own version, bumped when its meaning changes. Default 1. */
  version?: number;
}

/** A spec after it met a file: every column has a role and features have types. */
export interface ResolvedSpec extends DatasetSpec {
  /** Entity columns (customer, terminal…) the velocity features group by. */
  entities: string[];
  /** Numeric feature columns. */
  numeric: string[];
  /** Categorical feature columns. */
  categorical: string[];
  /** Columns read but never used as features. */
  drop: string[];
  /** Columns that may be absent from a file. */
  optional: string[];
  /** Spec format version. */
  version: number;
}

const STRING_KEYS = ["name", "label", "id", "time", "amount"] as const;
const LIST_KEYS = ["entities", "numeric", "categorical", "drop", "optional"] as const;
const ALL_KEYS = new Set<string>([...STRING_KEYS, ...LIST_KEYS, "version", "range"]);

/**
 * Checks that `value` is a well-formed spec and returns it typed. `source`
 * names where it came from in error messages.
 *
 * @example
 * ```ts
 * const text = '{ "name": "claims", "label": "fraud_reported", "amount": "claim_amount" }';
 * const spec = validateSpec(JSON.parse(text), "my_spec.json");
 * console.log(spec.label); // fraud_reported
 * ```
 */
export function validateSpec(value: unknown, source: string): DatasetSpec {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UserError(`${source}: a spec must be a JSON object`);
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!ALL_KEYS.has(key)) {
      throw new UserError(
        `${source}: unknown spec key "${key}" (known: ${[...ALL_KEYS].join(", ")})`,
      );
    }
  }
  for (const key of STRING_KEYS) {
    const v = obj[key];
    const required = key === "name" || key === "label";
    if (v === undefined && !required) continue;
    if (typeof v !== "string" || (required && v.length === 0)) {
      throw new UserError(
        `${source}: spec key "${key}" must be a ${required ? "non-empty " : ""}string`,
      );
    }
  }
  for (const key of LIST_KEYS) {
    const v = obj[key];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.some((c) => typeof c !== "string")) {
      throw new UserError(`${source}: spec key "${key}" must be a list of column names`);
    }
  }
  if (obj.range !== undefined) {
    const r = obj.range;
    if (typeof r !== "object" || r === null || Array.isArray(r)) {
      throw new UserError(`${source}: spec key "range" must be an object { column: [min, max] }`);
    }
    for (const [col, b] of Object.entries(r)) {
      if (
        !Array.isArray(b) || b.length !== 2 || !b.every((x) =>
          typeof x === "number" && Number.isFinite(x)
        ) ||
        !(b[0] < b[1])
      ) {
        throw new UserError(
          `${source}: range of "${col}" must be [min, max] with finite min < max, got ${
            JSON.stringify(b)
          }`,
        );
      }
    }
  }
  if (obj.version !== undefined && !Number.isInteger(obj.version)) {
    throw new UserError(`${source}: spec key "version" must be an integer`);
  }
  const spec = obj as unknown as DatasetSpec;
  const roles = new Map<string, string>();
  const claim = (col: string, role: string) => {
    const prev = roles.get(col);
    if (prev !== undefined) {
      throw new UserError(`${source}: column "${col}" is both ${prev} and ${role}`);
    }
    roles.set(col, role);
  };
  claim(spec.label, "label");
  if (spec.id !== undefined) claim(spec.id, "id");
  if (spec.time !== undefined) claim(spec.time, "time");
  for (const c of spec.entities ?? []) claim(c, "entity");
  for (const c of spec.drop ?? []) claim(c, "drop");
  for (const c of spec.numeric ?? []) claim(c, "numeric");
  for (const c of spec.categorical ?? []) claim(c, "categorical");
  for (const c of spec.optional ?? []) claim(c, "optional");
  return spec;
}

/**
 * Column names a spec needs in the file (everything but `optional` and
 * `drop`: a dropped column may be absent), in a stable order.
 */
export function requiredColumns(spec: DatasetSpec): string[] {
  const cols = [spec.label];
  if (spec.id !== undefined) cols.push(spec.id);
  if (spec.time !== undefined) cols.push(spec.time);
  if (spec.amount !== undefined) cols.push(spec.amount);
  cols.push(
    ...(spec.entities ?? []),
    ...(spec.numeric ?? []),
    ...(spec.categorical ?? []),
  );
  return [...new Set(cols)];
}

/**
 * Fills in a spec's feature columns from the file's columns: every column not
 * already given a role becomes numeric if `isNumeric(col)` and categorical
 * otherwise. Optional columns absent from the file are dropped from the spec.
 */
export function resolveSpec(
  spec: DatasetSpec,
  file: {
    /** The file's columns. */
    columns: string[];
    /** Whether a column's values all read as numbers (for inferred types). */
    isNumeric: (column: string) => boolean;
  },
): ResolvedSpec {
  const { columns, isNumeric } = file;
  const present = new Set(columns);
  const optional = (spec.optional ?? []).filter((c) => present.has(c));
  const numeric = [...(spec.numeric ?? [])];
  const categorical = [...(spec.categorical ?? [])];
  const infer = spec.numeric === undefined && spec.categorical === undefined;
  const taken = new Set<string>([
    spec.label,
    ...(spec.id ? [spec.id] : []),
    ...(spec.time ? [spec.time] : []),
    ...(spec.entities ?? []),
    ...(spec.drop ?? []),
    ...numeric,
    ...categorical,
  ]);
  const candidates = infer ? columns.filter((c) => !taken.has(c)) : optional;
  for (const c of candidates) (isNumeric(c) ? numeric : categorical).push(c);
  return {
    ...spec,
    entities: [...(spec.entities ?? [])],
    numeric,
    categorical,
    drop: [...(spec.drop ?? [])],
    optional,
    version: spec.version ?? 1,
  };
}

/** The feature columns of a resolved spec: numeric then categorical. */
export function featureColumns(spec: ResolvedSpec): string[] {
  return [...spec.numeric, ...spec.categorical];
}
