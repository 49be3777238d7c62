/**
 * Dataset profiles and data-quality warnings: what `deno task data:info`
 * prints and what a notebook shows after loading a file.
 *
 * One file: the profile, its quality warnings and the quick looks (means and
 * fraud rates by class or group, single-feature AUC) read the same per-
 * column statistics.
 * @module
 */
import { table } from "../util/table.ts";
import type { Column, Frame } from "./frame.ts";
import pl from "nodejs-polars";
import type { Dataset } from "./load.ts";
import { rocAuc } from "../util/stats.ts";
import { numericColumn } from "./frame.ts";
import { percent } from "../util/format.ts";

/** The role a column plays in a spec. */
export type ColumnRole = "label" | "id" | "time" | "entity" | "amount" | "numeric" | "categorical";

/** One category of a categorical column. */
export interface CategoryShare {
  /** The category (null for missing). */
  value: string | null;
  /** Rows with it. */
  count: number;
  /** Its share of the rows. */
  share: number;
  /** Share of fraud among rows with this value. */
  fraudRate: number;
}

/** Summary of one column. */
export interface ColumnProfile {
  /** Column name. */
  name: string;
  /** Its role in the spec. */
  role: ColumnRole;
  /** Its polars dtype. */
  dtype: string;
  /** Missing values. */
  missing: number;
  /** Missing values over rows. */
  missingShare: number;
  /** Distinct values. */
  distinct: number;
  /** Numeric columns: min, max, mean, population std of non-missing values. */
  stats?: { min: number; max: number; mean: number; std: number };
  /** Numeric columns: mean per class (null when the class has no value). */
  byClass?: { legit: number | null; fraud: number | null };
  /** Categorical, id and entity columns: the most frequent values (up to 5). */
  top?: CategoryShare[];
  /** Time columns: first and last value (ISO text, or seconds). */
  range?: { min: string; max: string };
}

/** A data-quality finding. */
export interface QualityWarning {
  /** What was found. */
  kind:
    | "constant"
    | "duplicate_rows"
    | "id_like"
    | "leakage"
    | "leakage_missingness"
    | "single_class";
  /** The column it is about, when one. */
  column?: string;
  /** One line for a person. */
  message: string;
}

/** A dataset's profile. */
export interface DataProfile {
  /** Rows in the dataset. */
  rows: number;
  /** Fraud rows. */
  positives: number;
  /** Fraud rows over rows. */
  fraudRate: number;
  /** Per spec column, in spec order. */
  columns: ColumnProfile[];
  /** File columns the spec does not name. */
  ignored: string[];
  /** Data-quality findings. */
  warnings: QualityWarning[];
}

/** Options for {@linkcode profileDataset}. */
export interface ProfileOptions {
  /** Single-feature ROC-AUC (either direction) at which a feature counts as leaking. Default 0.99. */
  leakageAuc?: number;
  /** Top categories kept per categorical column. Default 5. */
  topK?: number;
}

function rolesOf(ds: Dataset): Map<string, ColumnRole> {
  const s = ds.spec, roles = new Map<string, ColumnRole>();
  roles.set(s.label, "label");
  if (s.id) roles.set(s.id, "id");
  if (s.time) roles.set(s.time, "time");
  for (const c of s.entities) roles.set(c, "entity");
  if (s.amount) roles.set(s.amount, "amount");
  for (const c of s.numeric) roles.set(c, "numeric");
  for (const c of s.categorical) roles.set(c, "categorical");
  return roles;
}

function num(v: unknown): number {
  return v === null || v === undefined ? NaN : Number(v);
}

function topValues(frame: Frame, column: string, label: string, k: number): CategoryShare[] {
  const counts = frame.groupBy(column).agg(pl.len().alias("n"), pl.col(label).mean().alias("rate"))
    .sort(["n", column], true).head(k);
  const values = counts.getColumn(column).toArray(), n = counts.getColumn("n").toArray();
  const rate = counts.getColumn("rate").toArray();
  return values.map((v, i) => ({
    value: v === null ? null : String(v),
    count: Number(n[i]),
    share: Number(n[i]) / frame.height,
    fraudRate: Number(rate[i]),
  }));
}

/** Separation of a score from the label: max(AUC, 1 − AUC), NaN when a class is absent. */
function separation(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const auc = rocAuc(labels, scores);
  return Math.max(auc, 1 - auc);
}

/**
 * Profiles a loaded dataset and checks its quality: constant columns,
 * duplicate rows, id-like feature columns, and label leakage (any single
 * feature whose value or missingness separates the label almost perfectly).
 *
 * @param ds a loaded dataset
 * @param options the leakage threshold
 * @returns per-column statistics and the warnings
 *
 * @example
 * ```ts
 * import { exampleData } from "../testing/examples.ts";
 * import { profileDataset } from "./profile.ts";
 * const p = profileDataset((await exampleData()).ds);
 * for (const w of p.warnings) console.log(w.message);
 * ```
 */
export function profileDataset(ds: Dataset, options: ProfileOptions = {}): DataProfile {
  const threshold = options.leakageAuc ?? 0.99;
  const topK = options.topK ?? 5;
  const { frame, spec } = ds;
  const rows = frame.height;
  const label = spec.label;
  const y = frame.getColumn(label).toTypedArray() as Int8Array;
  let positives = 0;
  for (const v of y) positives += v;
  const warnings: QualityWarning[] = [];
  const columns: ColumnProfile[] = [];
  const roles = rolesOf(ds);
  const features = new Set([...spec.numeric, ...spec.categorical]);
  const numericCols = [...roles].filter(([n, r]) =>
    (r === "numeric" || r === "amount" || r === "time") && frame.getColumn(n).isNumeric()
  ).map(([n]) => n);
  const classMeans = new Map(
    meansByClass(frame, frame.getColumn(label), { columns: numericCols }).map((m) => [m.column, m]),
  );

  if (positives === 0 || positives === rows) {
    warnings.push({
      kind: "single_class",
      column: label,
      message:
        `label "${label}" has a single class (${positives} fraud of ${rows} rows): supervised training and AP/ROC-AUC need both`,
    });
  }

  for (const [name, role] of roles) {
    const s = frame.getColumn(name);
    const missing = s.nullCount();
    const distinct = s.dropNulls().nUnique();
    const col: ColumnProfile = {
      name,
      role,
      dtype: String(s.dtype).replace(/^DataType\((.*)\)$/, "$1").replace(",)", ")"),
      missing,
      missingShare: missing / rows,
      distinct,
    };
    const isNumeric = s.isNumeric() && role !== "label" && role !== "entity" && role !== "id";
    if (role === "time") {
      const nn = s.dropNulls();
      const isDate = s.dtype.variant === "Datetime";
      const fmt = (v: unknown) =>
        v instanceof Date || isDate ? new Date(Number(v)).toISOString().slice(0, 19) : String(v);
      col.range = { min: fmt(nn.min()), max: fmt(nn.max()) };
    } else if (isNumeric) {
      const st = frame.select(
        pl.col(name).min().alias("min"),
        pl.col(name).max().alias("max"),
        pl.col(name).mean().alias("mean"),
        pl.col(name).std().alias("std"),
      ).row(0);
      col.stats = { min: num(st[0]), max: num(st[1]), mean: num(st[2]), std: num(st[3]) };
      const m = classMeans.get(name);
      col.byClass = { legit: m?.legit ?? null, fraud: m?.fraud ?? null };
    } else if (role === "categorical" || role === "entity") {
      col.top = topValues(frame, name, label, topK);
    }
    columns.push(col);

    if (role !== "label" && distinct <= 1) {
      warnings.push({
        kind: "constant",
        column: name,
        message: `column "${name}" is constant (${distinct === 0 ? "no values" : "one value"}${
          missing ? `, ${missing} missing` : ""
        }): it carries no signal`,
      });
    }
    if (features.has(name)) {
      checkIdLike(frame, name, col, rows, warnings);
      checkLeakage(frame, name, label, col, rows, threshold, warnings);
    }
  }

  const dupes = rows - frame.unique().height;
  if (dupes > 0) {
    warnings.push({
      kind: "duplicate_rows",
      message:
        `${dupes} rows (${pct(dupes / rows)}) duplicate an earlier row in every used column: ` +
        `across a random split they make test metrics optimistic`,
    });
  }
  return { rows, positives, fraudRate: positives / rows, columns, ignored: ds.ignored, warnings };
}

function checkIdLike(
  frame: Frame,
  name: string,
  col: ColumnProfile,
  rows: number,
  warnings: QualityWarning[],
): void {
  if (rows < 20 || col.distinct < rows - col.missing || col.distinct < 20) return;
  const s = frame.getColumn(name);
  const integral = !s.isNumeric() ||
    frame.select(pl.col(name).eq(pl.col(name).floor()).all().alias("v")).getColumn("v")
        .toArray()[0] === true;
  if (!integral) return;
  warnings.push({
    kind: "id_like",
    column: name,
    message: `column "${name}" looks like an identifier (every value distinct${
      s.isNumeric() ? ", all whole numbers" : ""
    }): declare it as "id" or "drop" rather than a feature`,
  });
}

function checkLeakage(
  frame: Frame,
  name: string,
  label: string,
  col: ColumnProfile,
  rows: number,
  threshold: number,
  warnings: QualityWarning[],
): void {
  const present = frame.select(label, name).dropNulls();
  const y = present.getColumn(label).toTypedArray() as Int8Array;
  let sep = NaN, how = "";
  if (col.stats) {
    sep = separation(y, present.getColumn(name).toTypedArray() as Float64Array);
    how = "its value";
  } else if (col.distinct <= Math.max(50, rows / 50)) {
    // Categorical: score each row by its category's fraud rate.
    const rated = present.join(
      present.groupBy(name).agg(pl.col(label).mean().alias("__rate")),
      { on: name, how: "left" },
    );
    sep = separation(
      rated.getColumn(label).toTypedArray() as Int8Array,
      rated.getColumn("__rate").toTypedArray() as Float64Array,
    );
    how = "its category";
  }
  if (sep >= threshold) {
    warnings.push({
      kind: "leakage",
      column: name,
      message:
        `possible label leakage: "${name}" alone separates the label (${how}: ROC-AUC ${
          sep.toFixed(4)
        }` +
        `${present.height < rows ? ` on ${present.height} non-missing rows` : ""}${
          positivesIn(y) < 100 ? `, from only ${positivesIn(y)} fraud rows` : ""
        }); check it is known before the label`,
    });
  }
  if (col.missing > 0 && col.missing < rows) {
    const all = frame.select(pl.col(label), pl.col(name).isNull().cast(pl.Float64).alias("__miss"));
    const sepMissing = separation(
      all.getColumn(label).toTypedArray() as Int8Array,
      all.getColumn("__miss").toTypedArray() as Float64Array,
    );
    if (sepMissing >= threshold) {
      warnings.push({
        kind: "leakage_missingness",
        column: name,
        message:
          `possible label leakage: whether "${name}" is missing separates the label (ROC-AUC ${
            sepMissing.toFixed(4)
          })`,
      });
    }
  }
}

function positivesIn(y: Int8Array): number {
  let p = 0;
  for (const v of y) p += v;
  return p;
}

const pct = (x: number) => percent(x, 2);

function fmtNum(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return "-";
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return x.toExponential(3);
  return Number(x.toFixed(a >= 100 ? 2 : 4)).toString();
}

/** A profile's per-column table (header and text cells), shared by text and HTML views. */
export function profileColumnTable(p: DataProfile): [string[], string[][]] {
  const header = [
    "column",
    "role",
    "type",
    "missing",
    "distinct",
    "min",
    "max",
    "mean",
    "mean|legit",
    "mean|fraud",
  ];
  const rows = p.columns.map((c) => [
    c.name,
    c.role,
    c.dtype,
    c.missing ? pct(c.missingShare) : "0",
    String(c.distinct),
    c.range?.min ?? fmtNum(c.stats?.min),
    c.range?.max ?? fmtNum(c.stats?.max),
    fmtNum(c.stats?.mean),
    fmtNum(c.byClass?.legit),
    fmtNum(c.byClass?.fraud),
  ]);
  return [header, rows];
}

/** Renders a profile as text tables (what `data:info` prints). */
export function formatProfile(p: DataProfile): string {
  const lines: string[] = [];
  lines.push(`rows ${p.rows}, fraud ${p.positives} (${pct(p.fraudRate)})`);
  if (p.ignored.length) lines.push(`ignored columns (not in spec): ${p.ignored.join(", ")}`);
  const [header, rowsOut] = profileColumnTable(p);
  lines.push(table(header, rowsOut));
  const cats = p.columns.filter((c) => c.top && c.role === "categorical");
  if (cats.length) {
    lines.push("", "top categories (share, fraud rate):");
    for (const c of cats) {
      const items = c.top!.map((t) =>
        `${t.value ?? "(missing)"} ${pct(t.share)} fraud ${pct(t.fraudRate)}`
      );
      lines.push(`  ${c.name}: ${items.join("; ")}`);
    }
  }
  lines.push("", p.warnings.length ? `warnings (${p.warnings.length}):` : "warnings: none");
  for (const w of p.warnings) lines.push(`  [${w.kind}] ${w.message}`);
  return lines.join("\n");
}

/**
 * Mean of each column per class of `labels` (0/1, one per row), for a
 * quick look at which features move with fraud.
 *
 * @param frame the features
 * @param labels 0/1 per row
 * @param options which columns (default all)
 * @returns per column, its mean over legitimate and over fraud rows
 *
 * @example
 * ```ts
 * import pl from "nodejs-polars";
 * import { meansByClass } from "./profile.ts";
 * const frame = pl.DataFrame({ amount: [10, 20, 300] });
 * console.log(meansByClass(frame, pl.Series("y", [0, 0, 1])));
 * // [{ column: "amount", legit: 15, fraud: 300 }]
 * ```
 */
export function meansByClass(
  frame: Frame,
  labels: Column,
  options: { columns?: string[] } = {},
): { column: string; legit: number | null; fraud: number | null }[] {
  const columns = options.columns ?? frame.columns;
  const y = labels.rename("__y");
  const means = pl.concat([frame.select(...columns), pl.DataFrame([y])], { how: "horizontal" })
    .groupBy("__y").agg(...columns.map((c) => pl.col(c).mean()));
  const ys = means.getColumn("__y").toArray().map(Number);
  return columns.map((c) => {
    const vals = means.getColumn(c).toArray();
    const at = (cls: number) => {
      const i = ys.indexOf(cls);
      return i < 0 || vals[i] === null ? null : Number(vals[i]);
    };
    return { column: c, legit: at(0), fraud: at(1) };
  });
}

/** Rows, fraud count and fraud rate of one group. */
export interface GroupRate {
  /** The group's value. */
  group: string | number;
  /** Rows in the group. */
  rows: number;
  /** Fraud rows in the group. */
  fraud: number;
  /** Fraud rows over rows. */
  rate: number;
}

/**
 * Fraud rate per group (hour of day, weekday, a velocity bucket…), in
 * first-seen order unless the groups are all numbers (then ascending).
 *
 * @param labels 0/1 per row
 * @param groups the group of each row
 * @returns rows, fraud rows and rate per group
 *
 * @example
 * ```ts
 * import { fraudRateBy } from "./profile.ts";
 * const rates = fraudRateBy([0, 1, 0, 0], ["online", "online", "shop", "shop"]);
 * console.log(rates[0]); // { group: "online", rows: 2, fraud: 1, rate: 0.5 }
 * ```
 */
export function fraudRateBy(
  labels: ArrayLike<number>,
  groups: ArrayLike<string | number>,
): GroupRate[] {
  if (labels.length !== groups.length) {
    throw new Error(`fraudRateBy: ${labels.length} labels but ${groups.length} groups`);
  }
  const by = new Map<string | number, GroupRate>();
  for (let i = 0; i < labels.length; i++) {
    const g = groups[i];
    let r = by.get(g);
    if (!r) by.set(g, r = { group: g, rows: 0, fraud: 0, rate: 0 });
    r.rows++;
    if (labels[i] === 1) r.fraud++;
  }
  const out = [...by.values()];
  for (const r of out) r.rate = r.fraud / r.rows;
  if (out.every((r) => typeof r.group === "number")) {
    out.sort((a, b) => (a.group as number) - (b.group as number));
  }
  return out;
}

/**
 * Each column's ROC-AUC as a lone score, either direction (max(AUC, 1 − AUC)),
 * highest first: a quick ranking of what separates fraud, and a leakage
 * check (a lone feature near 1 usually encodes the label).
 *
 * @param frame the features (numeric columns)
 * @param labels 0/1 per row
 * @param options which columns (default all)
 * @returns columns and their AUC, best first
 *
 * @example
 * ```ts
 * import pl from "nodejs-polars";
 * import { singleFeatureAuc } from "./profile.ts";
 * const frame = pl.DataFrame({ amount: [1, 2, 9], hour: [3, 1, 2] });
 * console.log(singleFeatureAuc(frame, [0, 0, 1])[0]); // { column: "amount", auc: 1 }
 * ```
 */
export function singleFeatureAuc(
  frame: Frame,
  labels: ArrayLike<number>,
  options: { columns?: string[] } = {},
): { column: string; auc: number }[] {
  const columns = options.columns ?? frame.columns;
  return columns.map((column) => {
    const a = rocAuc(labels, numericColumn(frame, column));
    return { column, auc: Math.max(a, 1 - a) };
  }).sort((x, y) => y.auc - x.auc);
}
