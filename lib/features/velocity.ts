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
  /**
   * Which feature set: `fraudlab` (default; see {@linkcode velocityFeatures})
   * or `handbook`, the Fraud Detection Handbook's 14 derived features with
   * its window rules ({@linkcode HANDBOOK_RULES}).
   */
  rules?: VelocityRules;
}

/** The feature sets {@linkcode VelocityOptions.rules} names. */
export const VELOCITY_RULES = ["fraudlab", "handbook"] as const;
/** One feature set. */
export type VelocityRules = typeof VELOCITY_RULES[number];

/**
 * The Handbook's rules (its BaselineFeatureTransformation notebook), for
 * `rules: "handbook"`. The first entity is the card (customer): over each
 * window w, `<e>_NB_TX_<w>DAY_WINDOW` counts its transactions in (t − w, t]
 * with the current one and `<e>_AVG_AMOUNT_<w>DAY_WINDOW` is their mean
 * amount. Every other entity (the terminal): `<e>_NB_TX_<w>DAY_WINDOW`
 * counts its transactions in (t − delay − w, t − delay] and
 * `<e>_RISK_<w>DAY_WINDOW` is their fraud share (0 when there are none).
 * Calendar: `TX_DURING_WEEKEND` (Saturday, Sunday) and `TX_DURING_NIGHT`
 * (hour ≤ 6, UTC). Other transactions at the very same time as the current
 * one are left out of the card's windows (the notebook counts those before
 * it in file order), so a transaction's features never depend on rows after
 * it. The delay must be at least a day: the terminal window must not reach
 * the current transaction's label.
 */
export const HANDBOOK_RULES =
  "card: count and mean amount over (t - w, t] with the current transaction; other entities: count and fraud share over (t - delay - w, t - delay]; weekend and night (hour <= 6) flags";

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
  if (options.rules === "handbook") {
    entities.forEach((e, k) => {
      for (const w of windows) {
        names.push(
          `${e}_NB_TX_${w}DAY_WINDOW`,
          k === 0 ? `${e}_AVG_AMOUNT_${w}DAY_WINDOW` : `${e}_RISK_${w}DAY_WINDOW`,
        );
      }
    });
    if (options.calendar ?? true) names.push("TX_DURING_WEEKEND", "TX_DURING_NIGHT");
    return names;
  }
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
  return rollingClosed(sorted, { periodMs, offsetMs, closed: "left" }, ...aggs);
}

/** {@linkcode rolling} with the window's closed side chosen: "left" [a, b), "right" (a, b], "none" (a, b). */
function rollingClosed(
  sorted: Frame,
  window: { periodMs: number; offsetMs: number; closed: "left" | "right" | "none" },
  ...aggs: pl.Expr[]
): Frame {
  const out = sorted.groupByRolling({
    indexColumn: "__key",
    period: `${window.periodMs}i`,
    offset: `${window.offsetMs}i`,
    closed: window.closed,
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
  if (options.rules === "handbook" && !(delay >= 1)) {
    throw new UserError(
      `the handbook feature set needs a label delay of at least 1 day, got ${delay} (its terminal windows would reach the current label)`,
    );
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
  if (options.rules === "handbook") {
    return handbookFeatures(base, { entities, windows, delay, calendar: options.calendar ?? true });
  }
  let out = base.select("__row");
  for (const e of entities) {
    const sorted = sortedByEntity(base, e, tMin);
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
    out = pl.concat([out, inRowOrder(parts, names)], { how: "horizontal" });
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

/** The rows of `base` sorted by (entity `e`, time), with the composite key and a missing flag. */
function sortedByEntity(base: Frame, e: string, tMin: number): Frame {
  return base.select(
    "__row",
    "__y",
    "__amt",
    pl.col(e).isNull().alias("__null"),
    pl.col(e).rank("dense").cast(pl.Int64).fillNull(pl.lit(0).cast(pl.Int64))
      .mul(pl.lit(ENTITY_STRIDE).cast(pl.Int64))
      .add(pl.col("__t").sub(pl.lit(tMin).cast(pl.Int64))).alias("__key"),
  ).sort(["__key", "__row"]);
}

/** Back in row order, each named column null where the entity is missing. */
function inRowOrder(parts: Frame[], names: string[]): Frame {
  return pl.concat(parts, { how: "horizontal" })
    .select(
      "__row",
      ...names.map((n) =>
        pl.when(pl.col("__null")).then(pl.lit(null)).otherwise(pl.col(n)).cast(pl.Float64).alias(n)
      ),
    ).sort("__row").drop("__row");
}

/** The Handbook's features ({@linkcode HANDBOOK_RULES}) over `base` (time, label, amount, entities). */
function handbookFeatures(
  base: Frame,
  o: { entities: string[]; windows: number[]; delay: number; calendar: boolean },
): Frame {
  const tMin = Number(base.getColumn("__t").min());
  const blocks: Frame[] = [];
  const dMs = Math.round(o.delay * DAY_MS);
  o.entities.forEach((e, k) => {
    const sorted = sortedByEntity(base, e, tMin);
    const parts: Frame[] = [sorted.select("__row", "__null")];
    const names: string[] = [];
    for (const w of o.windows) {
      const wMs = Math.round(w * DAY_MS);
      const nb = `${e}_NB_TX_${w}DAY_WINDOW`;
      if (k === 0) {
        // (t − w, t): earlier transactions, then the current one added.
        const avg = `${e}_AVG_AMOUNT_${w}DAY_WINDOW`;
        const prior = rollingClosed(
          sorted,
          { periodMs: wMs, offsetMs: -wMs, closed: "none" },
          pl.col("__amt").count().cast(pl.Float64).alias("__n"),
          pl.col("__amt").sum().alias("__s"),
        );
        const withCurrent = pl.concat([prior, sorted.select("__amt")], { how: "horizontal" });
        const now = pl.col("__amt").isNotNull().cast(pl.Float64);
        parts.push(withCurrent.select(
          pl.col("__n").add(now).alias(nb),
          pl.when(pl.col("__n").add(now).gt(0))
            .then(pl.col("__s").add(pl.col("__amt").fillNull(0)).div(pl.col("__n").add(now)))
            .otherwise(pl.lit(null)).cast(pl.Float64).alias(avg),
        ));
        names.push(nb, avg);
      } else {
        const risk = `${e}_RISK_${w}DAY_WINDOW`;
        parts.push(
          rollingClosed(
            sorted,
            { periodMs: wMs, offsetMs: -(wMs + dMs), closed: "right" },
            pl.col("__y").sum().alias("__fraud"),
            pl.len().alias("__n"),
          ).select(
            pl.col("__n").cast(pl.Float64).alias(nb),
            pl.when(pl.col("__n").gt(0)).then(pl.col("__fraud").div(pl.col("__n")))
              .otherwise(pl.lit(0)).cast(pl.Float64).alias(risk),
          ),
        );
        names.push(nb, risk);
      }
    }
    blocks.push(inRowOrder(parts, names));
  });
  if (o.calendar) {
    const when = pl.col("__t").cast(pl.Datetime("ms"));
    const cal = base.select(
      when.dt.weekday().gt(5).cast(pl.Float64).alias("TX_DURING_WEEKEND"),
      when.dt.hour().lt(7).cast(pl.Float64).alias("TX_DURING_NIGHT"),
    );
    blocks.push(cal);
  }
  return pl.concat(blocks, { how: "horizontal" });
}
