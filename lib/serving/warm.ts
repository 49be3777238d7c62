/**
 * Seeding a server's entity history so velocity features are right from the
 * first request: the recent part of a data file (typically the data the
 * model was trained on) and the prediction log's recent transactions, with
 * their labels.
 * @module
 */
import pl from "nodejs-polars";
import { loadDataset } from "../data/load.ts";
import { numericColumn, stringColumn } from "../data/frame.ts";
import { timesMs } from "../features/velocity.ts";
import type { OnlineVelocity } from "../features/online.ts";
import type { PredictionLog } from "./predlog.ts";
import type { ServedModel } from "./scorer.ts";

/** What a warm-up added. */
export interface WarmReport {
  source: string;
  /** Transactions read from the source's last retention window. */
  transactions: number;
  /** Of those, the ones the history kept (the rest lie before the retention of its clock). */
  kept: number;
  /** Event time range added (ISO), null when nothing was. */
  from: string | null;
  to: string | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Adds the last `retainMs` of a data file (read with the model's spec) to the history. */
export async function warmFromFile(
  history: OnlineVelocity,
  from: { model: ServedModel; path: string },
): Promise<WarmReport> {
  const { model, path } = from;
  const spec = model.run.spec;
  const ds = await loadDataset(path, spec, { labels: "optional", missingFeatures: "drop" });
  if (!spec.time) return { source: path, transactions: 0, kept: 0, from: null, to: null };
  const t = timesMs(ds.frame, spec.time);
  let max = -Infinity;
  for (let i = 0; i < t.length; i++) if (t[i] > max) max = t[i];
  const since = max - history.retainMs;
  const rows: number[] = [];
  for (let i = 0; i < t.length; i++) if (t[i] >= since) rows.push(i);
  rows.sort((a, b) => t[a] - t[b] || a - b);
  const entities = history.options.entities.map((e) => stringColumn(ds.frame, e));
  const amount = spec.amount ? numericColumn(ds.frame, spec.amount) : null;
  const ids = spec.id ? stringColumn(ds.frame, spec.id) : null;
  const labels = ds.labeled
    ? ds.frame.getColumn(spec.label).cast(pl.Int8).toArray() as (number | null)[]
    : null;
  const values: (string | null)[] = new Array(entities.length);
  let kept = 0;
  for (const i of rows) {
    for (let e = 0; e < entities.length; e++) values[e] = entities[e][i];
    const a = amount ? amount[i] : NaN;
    const id = ids ? ids[i] : null;
    if (history.add(t[i], values, Number.isNaN(a) ? null : a, id, labels?.[i] === 1)) kept++;
  }
  return {
    source: path,
    transactions: rows.length,
    kept,
    from: rows.length ? iso(t[rows[0]]) : null,
    to: rows.length ? iso(t[rows[rows.length - 1]]) : null,
  };
}

/** Replays the prediction log's transactions of the last `retainMs` (by event time) into the history. */
export function warmFromLog(
  history: OnlineVelocity,
  from: { model: ServedModel; log: PredictionLog },
): WarmReport {
  const { model, log } = from;
  const newest = log.newestEvent();
  if (newest === null) return { source: log.path, transactions: 0, kept: 0, from: null, to: null };
  const events = log.eventsSince(newest - history.retainMs);
  const names = history.options.entities;
  const amountField = model.schema.amountField;
  const values: (string | null)[] = new Array(names.length);
  let added = 0, kept = 0;
  for (const ev of events) {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(ev.input);
    } catch {
      continue; // the log only holds validated JSON; skip anything else
    }
    for (let e = 0; e < names.length; e++) {
      const v = rec[names[e]];
      values[e] = v === null || v === undefined ? null : String(v);
    }
    const a = amountField ? rec[amountField] : null;
    if (
      history.add(
        ev.event_time,
        values,
        typeof a === "number" ? a : null,
        ev.transaction_id,
        ev.label === 1,
      )
    ) kept++;
    added++;
  }
  return {
    source: log.path,
    transactions: added,
    kept,
    from: events.length ? iso(events[0].event_time) : null,
    to: events.length ? iso(events[events.length - 1].event_time) : null,
  };
}
