/**
 * Leak-free behavioural features over the time column, computed with polars
 * rolling windows: for each entity (customer, terminal, …) and window, the
 * count and mean amount of the entity's *earlier* transactions, and a fraud
 * risk that uses only labels older than a delay, as they would be known in
 * production. A row's features never depend on its own label, on any later
 * transaction, or on any label younger than the delay.
 * @module
 */
import pl from "nodejs-polars";
import type { Frame } from "../data/frame.ts";
import type { ResolvedSpec } from "../data/spec.ts";
import { UserError } from "../util/errors.ts";
import { DAY_MS } from "../util/time.ts";

/** Options for {@linkcode velocityFeatures}. */
export interface VelocityOptions {
  /** Window lengths in days. Default [1, 7, 30]. */
  windowsDays?: number[];
  /** Days before a label is known (chargeback delay). Default 7. */
  delayDays?: number;
  /** Entity columns. Default: the spec's entities. */
  entities?: string[];
  /** Add hour, is_night and is_weekend. Default true. */
  calendar?: boolean;
}

/** The parts of a dataset velocity features need. */
export interface FramedData {
  /** The transactions. */
  frame: Frame;
  /** The spec that names their columns. */
  spec: ResolvedSpec;
}

/** Event times of a frame's time column as epoch milliseconds (Int64 expression). */
export function timeMsExpr(frame: Frame, column: string): pl.Expr {
  const dtype = frame.getColumn(column).dtype;
  if (dtype.variant === "Datetime") return pl.col(column).cast(pl.Datetime("ms")).cast(pl.Int64);
  if (dtype.variant === "Date") return pl.col(column).cast(pl.Datetime("ms")).cast(pl.Int64);
  // Numeric time columns hold seconds.
  return pl.col(column).cast(pl.Float64).mul(1000).round(0).cast(pl.Int64);
}

/**
 * Event times as epoch ms in a Float64Array (for splits and windows).
 *
 * @param frame the frame
 * @param column its time column (Datetime or text)
 * @returns one time per row
 *
 * @example
 * ```ts
 * import { exampleData } from "../testing/examples.ts";
 * import { timesMs } from "./velocity.ts";
 * const { ds } = await exampleData();
 * console.log(new Date(timesMs(ds.frame, ds.spec.time!)[0]).toISOString());
 * ```
 */
export function timesMs(frame: Frame, column: string): Float64Array {
  return frame.select(timeMsExpr(frame, column).cast(pl.Float64).alias("t")).getColumn("t")
    .toTypedArray() as Float64Array;
}

/** Names of the columns {@linkcode velocityFeatures} adds, in order. */
export function velocityColumnNames(entities: string[], options: VelocityOptions = {}): string[] {
  const windows = options.windowsDays ?? [1, 7, 30];
  const names: string[] = [];
  for (const e of entities) {
    for (const w of windows) {
      names.push(`${e}_n_${w}d`, `${e}_mean_amount_${w}d`, `${e}_risk_${w}d`);
    }
  }
  if (options.calendar ?? true) names.push("hour", "is_night", "is_weekend");
  return names;
}

/** Spacing between entities on the composite time axis: 2^40 ms, about 34 years. */
const ENTITY_STRIDE = 2 ** 40;

/**
 * One rolling aggregation over the composite key (entity rank · 2^40 + time),
 * so windows never cross entities and polars keeps row order (no `by` groups).
 */
function rolling(
  sorted: Frame,
  periodMs: number,
  offsetMs: number,
  ...aggs: pl.Expr[]
): Frame {
  const out = sorted.groupByRolling({
    indexColumn: "__key",
    period: `${periodMs}i`,
    offset: `${offsetMs}i`,
    closed: "left",
  }).agg(aggs[0], ...aggs.slice(1));
  if (
    out.height !== sorted.height || !out.getColumn("__key").seriesEqual(sorted.getColumn("__key"))
  ) {
    throw new Error("velocity: rolling output is not aligned with its input");
  }
  return out.drop("__key");
}

/**
 * Computes velocity, delayed-label risk and calendar features. Returns a frame
 * with one row per input row, in input order, holding only the new columns.
 *
 * Windows are half-open on the left of the current time: counts and means
 * cover [t − w, t) (transactions at exactly t, the current one included, are
 * not counted); risk covers [t − delay − w, t − delay) and is 0 when that
 * window holds no transaction. Rows whose entity is missing get nulls.
 *
 * @param data a frame and its spec (entities, time, amount, label)
 * @param options windows (days) and the label delay (days)
 * @returns the new columns
 *
 * @example
 * ```ts
 * import { exampleData } from "../testing/examples.ts";
 * import { velocityFeatures } from "./velocity.ts";
 * const { ds } = await exampleData();
 * const feats = velocityFeatures(ds, { windowsDays: [1, 7], delayDays: 7 });
 * console.log(feats.columns.slice(0, 3));
 * ```
 */
export function velocityFeatures(data: FramedData, options: VelocityOptions = {}): Frame {
  const { frame, spec } = data;
  const windows = options.windowsDays ?? [1, 7, 30];
  const delay = options.delayDays ?? 7;
  const entities = options.entities ?? spec.entities;
  if (!spec.time) {
    throw new UserError(`spec "${spec.name}" has no time column: velocity features need one`);
  }
  for (const w of windows) {
    if (!(Number.isFinite(w) && w > 0)) {
      throw new UserError(`velocity window must be > 0 days, got ${w}`);
    }
  }
  if (!(Number.isFinite(delay) && delay >= 0)) {
    throw new UserError(`label delay must be >= 0 days, got ${delay}`);
  }
  for (const e of entities) {
    if (!frame.columns.includes(e)) throw new UserError(`entity column "${e}" is not in the data`);
  }
  const amount = spec.amount ? pl.col(spec.amount).cast(pl.Float64) : pl.lit(null).cast(pl.Float64);
  const base = frame.select(
    timeMsExpr(frame, spec.time).alias("__t"),
    pl.col(spec.label).cast(pl.Float64).alias("__y"),
    amount.alias("__amt"),
    ...entities.map((e) => pl.col(e)),
  ).withRowIndex("__row");
  if (base.getColumn("__t").nullCount() > 0) {
    throw new UserError(
      `time column "${spec.time}" has missing values: velocity features need every time`,
    );
  }

  const tMin = Number(base.getColumn("__t").min());
  const span = Number(base.getColumn("__t").max()) - tMin;
  const reach = (Math.max(...windows) + delay) * DAY_MS;
  if (span + reach >= ENTITY_STRIDE) {
    throw new UserError(
      `time column "${spec.time}" spans more than 30 years: velocity windows cannot be computed`,
    );
  }
  let out = base.select("__row");
  for (const e of entities) {
    const sorted = base.select(
      "__row",
      "__y",
      "__amt",
      pl.col(e).isNull().alias("__null"),
      pl.col(e).rank("dense").cast(pl.Int64).fillNull(pl.lit(0).cast(pl.Int64))
        .mul(pl.lit(ENTITY_STRIDE).cast(pl.Int64))
        .add(pl.col("__t").sub(pl.lit(tMin).cast(pl.Int64))).alias("__key"),
    ).sort(["__key", "__row"]);
    const parts: Frame[] = [sorted.select("__row", "__null")];
    for (const w of windows) {
      const wMs = Math.round(w * DAY_MS), dMs = Math.round(delay * DAY_MS);
      parts.push(rolling(
        sorted,
        wMs,
        -wMs,
        pl.col("__amt").count().cast(pl.Float64).alias(`${e}_n_${w}d`),
        pl.col("__amt").mean().alias(`${e}_mean_amount_${w}d`),
      ));
      const risk = rolling(
        sorted,
        wMs,
        -(wMs + dMs),
        pl.col("__y").sum().alias("__fraud"),
        pl.len().alias("__n"),
      ).select(
        pl.when(pl.col("__n").gt(0)).then(pl.col("__fraud").div(pl.col("__n"))).otherwise(pl.lit(0))
          .cast(pl.Float64).alias(`${e}_risk_${w}d`),
      );
      parts.push(risk);
    }
    const names = windows.flatMap((
      w,
    ) => [`${e}_n_${w}d`, `${e}_mean_amount_${w}d`, `${e}_risk_${w}d`]);
    const feats = pl.concat(parts, { how: "horizontal" })
      .select(
        "__row",
        ...names.map((n) =>
          pl.when(pl.col("__null")).then(pl.lit(null)).otherwise(pl.col(n)).cast(pl.Float64).alias(
            n,
          )
        ),
      ).sort("__row");
    out = pl.concat([out, feats.drop("__row")], { how: "horizontal" });
  }
  if (options.calendar ?? true) {
    const t = base.select(pl.col("__t"));
    const when = pl.col("__t").cast(pl.Datetime("ms"));
    const cal = t.select(
      when.dt.hour().cast(pl.Float64).alias("hour"),
      when.dt.weekday().alias("__dow"),
    ).select(
      pl.col("hour"),
      pl.col("hour").lt(6).cast(pl.Float64).alias("is_night"),
      pl.col("__dow").gt(5).cast(pl.Float64).alias("is_weekend"),
    );
    out = pl.concat([out, cal], { how: "horizontal" });
  }
  return out.drop("__row");
}
