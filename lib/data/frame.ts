/**
 * Columns of a polars frame as plain JS arrays for the typed hot loops:
 * numeric columns as Float64Array (NaN where missing), text columns as
 * strings (null where missing).
 * @module
 */
import pl from "nodejs-polars";

const COLUMN_CACHE = new WeakMap<pl.DataFrame, Map<string, Float64Array>>();

/**
 * A numeric column as Float64Array, NaN where missing. Cached per frame
 * (frames are immutable), so fitting and transforming read each column once;
 * callers must not modify the array.
 */
export function numericColumn(frame: pl.DataFrame, name: string): Float64Array {
  let cache = COLUMN_CACHE.get(frame);
  if (!cache) COLUMN_CACHE.set(frame, cache = new Map());
  let col = cache.get(name);
  if (!col) {
    const series = frame.getColumn(name);
    col = series.dtype.equals(pl.Float64) && series.nullCount() === 0
      ? series.toTypedArray() as Float64Array
      : frame.select(pl.col(name).cast(pl.Float64).fillNull(pl.lit(NaN)).alias(name))
        .getColumn(name).toTypedArray() as Float64Array;
    cache.set(name, col);
  }
  return col;
}

/** A categorical column as strings, null where missing. */
export function stringColumn(frame: pl.DataFrame, name: string): (string | null)[] {
  return frame.getColumn(name).cast(pl.Utf8).toArray() as (string | null)[];
}

/** Labels of a dataset as 0/1 bytes. */
export function labelsOf(ds: { frame: pl.DataFrame; spec: { label: string } }): Int8Array {
  return Int8Array.from(ds.frame.getColumn(ds.spec.label).cast(pl.Int8).toArray() as number[]);
}
