/**
 * Reading the prediction log: predictions of a window with their labels,
 * per-day summaries, unmatched feedback, and the events the server replays
 * into its entity history on start.
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { LabeledPrediction, LogSummaryRow } from "./predlog_schema.ts";

/** A window of scoring times: [from, to), epoch ms. */
export interface Window {
  from: number;
  to: number;
}

/** A logged transaction as the entity history replays it. */
export interface LoggedEvent {
  transaction_id: string;
  event_time: number;
  /** The record as the client sent it (JSON text). */
  input: string;
  label: number | null;
}

/**
 * Predictions scored in [from, to), oldest first, with their labels: the
 * answered ones, or (`shadow`) those shadow models scored beside them.
 */
export function queryPredictions(
  db: DatabaseSync,
  window: Window,
  options: { shadow?: boolean } = {},
): LabeledPrediction[] {
  const view = options.shadow ? "shadow_predictions" : "predictions";
  const rows = db.prepare(
    `SELECT p.transaction_id, p.scored_at, p.event_time, p.model, p.version, p.run_id, p.score,
       p.threshold, p.is_fraud, p.input, f.label, f.labeled_at
     FROM ${view} p LEFT JOIN feedback f ON f.transaction_id = p.transaction_id
     WHERE p.scored_at >= ? AND p.scored_at < ? ORDER BY p.seq`,
  ).all(
    window.from,
    window.to,
  ) as unknown as (Omit<LabeledPrediction, "is_fraud"> & { is_fraud: number })[];
  return rows.map((r) => ({ ...r, is_fraud: r.is_fraud === 1 }));
}

/**
 * Predictions scored in [from, to) counted per UTC day and model
 * version, joined with the feedback received so far: alerts, labeled
 * rows, and the confusion counts among labeled rows.
 */
export function querySummary(db: DatabaseSync, window: Window): LogSummaryRow[] {
  const rows = db.prepare(
    `SELECT strftime('%Y-%m-%d', p.scored_at / 1000, 'unixepoch') AS day, p.model, p.version,
       p.run_id, count(*) AS predictions, sum(p.is_fraud) AS alerts,
       count(f.label) AS labeled, coalesce(sum(f.label), 0) AS frauds,
       coalesce(sum(p.is_fraud AND f.label = 1), 0) AS tp,
       coalesce(sum(p.is_fraud AND f.label = 0), 0) AS fp,
       coalesce(sum(NOT p.is_fraud AND f.label = 1), 0) AS fn,
       coalesce(sum(NOT p.is_fraud AND f.label = 0), 0) AS tn,
       avg(p.score) AS mean_score
     FROM predictions p LEFT JOIN feedback f ON f.transaction_id = p.transaction_id
     WHERE p.scored_at >= ? AND p.scored_at < ?
     GROUP BY day, p.model, p.version, p.run_id ORDER BY day, p.model, p.version`,
  ).all(window.from, window.to) as unknown as LogSummaryRow[];
  return rows.map((r) => {
    const out = { ...r } as Record<string, unknown>;
    for (
      const k of ["version", "predictions", "alerts", "labeled", "frauds", "tp", "fp", "fn", "tn"]
    ) {
      out[k] = Number(out[k]);
    }
    return out as unknown as LogSummaryRow;
  });
}

/** Feedback received in [from, to) for ids no logged prediction has. */
export function queryUnmatchedFeedback(db: DatabaseSync, window: Window): number {
  const r = db.prepare(
    `SELECT count(*) AS n FROM feedback f
     WHERE f.received_at >= ? AND f.received_at < ?
       AND NOT EXISTS (SELECT 1 FROM scored s WHERE s.transaction_id = f.transaction_id)`,
  ).get(window.from, window.to) as { n: number };
  return Number(r.n);
}

/**
 * Logged transactions with an event time at or after `sinceMs`, oldest
 * event first, with labels: replayed into the entity history on start.
 */
export function queryEventsSince(db: DatabaseSync, sinceMs: number): LoggedEvent[] {
  return db.prepare(
    `SELECT p.transaction_id, p.event_time, p.input, f.label
     FROM predictions p LEFT JOIN feedback f ON f.transaction_id = p.transaction_id
     WHERE p.event_time >= ? ORDER BY p.event_time, p.seq`,
  ).all(sinceMs) as unknown as LoggedEvent[];
}

/** The newest event time in the log, or null. */
export function queryNewestEvent(db: DatabaseSync): number | null {
  const r = db.prepare("SELECT max(event_time) AS t FROM scored").get() as {
    t: number | null;
  };
  return r.t === null ? null : Number(r.t);
}

/** Predictions logged in total. */
export function queryCount(db: DatabaseSync): number {
  const r = db.prepare("SELECT count(*) AS n FROM scored").get() as { n: number };
  return Number(r.n);
}
