/**
 * Rows of a dataset as the JSON records a client would send to the scoring
 * server (the fields of a model's input schema): for examples, replays,
 * load tests and tests.
 * @module
 */
import type { Dataset } from "../data/load.ts";
import { numericColumn, stringColumn } from "../data/frame.ts";
import { timesMs } from "../features/velocity.ts";
import type { InputSchema } from "./schema.ts";

/** JSON records of `rows` (all when omitted), in that order. */
export function datasetRecords(
  ds: Pick<Dataset, "frame" | "spec">,
  schema: InputSchema,
  options: { rows?: ArrayLike<number> } = {},
): Record<string, unknown>[] {
  const rows = options.rows;
  const n = rows ? rows.length : ds.frame.height;
  const cols = schema.fields
    .filter((f) => ds.frame.columns.includes(f.name))
    .map((f) => {
      if (f.role === "time") {
        const t = timesMs(ds.frame, f.name);
        const isDate = ["Datetime", "Date"].includes(ds.frame.getColumn(f.name).dtype.variant);
        return {
          name: f.name,
          get: (i: number) =>
            Number.isNaN(t[i]) ? null : isDate ? new Date(t[i]).toISOString() : t[i] / 1000,
        };
      }
      if (f.role === "numeric") {
        const v = numericColumn(ds.frame, f.name);
        return { name: f.name, get: (i: number) => (Number.isNaN(v[i]) ? null : v[i]) };
      }
      const s = stringColumn(ds.frame, f.name);
      return { name: f.name, get: (i: number) => s[i] };
    });
  const out: Record<string, unknown>[] = new Array(n);
  for (let k = 0; k < n; k++) {
    const i = rows ? rows[k] : k;
    const rec: Record<string, unknown> = {};
    for (const c of cols) rec[c.name] = c.get(i);
    out[k] = rec;
  }
  return out;
}
