/**
 * Monitoring live traffic from the prediction log: time windows
 * (`log:24h`, `log:2026-11-01..2026-11-07`), the logged inputs of a window
 * as drift's current data (with the scores the served run gave them and
 * the labels fed back so far), and realized alert rate, precision and
 * recall per day and model version.
 * @module
 */
import { createHash } from "node:crypto";
import type { CurrentData } from "../drift/compare.ts";
import { parseDay } from "../data/simulate.ts";
import { UserError } from "../util/errors.ts";
import {
  defaultLogPath,
  type LogSummaryRow,
  openExistingLog,
  type PredictionLog,
} from "../serving/predlog.ts";
import { artifactsRoot } from "../registry/store.ts";
import { averagePrecision } from "../eval/curves.ts";
import { recallAtFpr } from "../eval/metrics.ts";
import { rocAuc } from "../util/stats.ts";
import { DAY_MS } from "../util/time.ts";

/** A window of the prediction log: predictions scored in [from, to). */
export interface LogWindow {
  /** Start (epoch ms, inclusive). */
  from: number;
  /** End (epoch ms, exclusive). */
  to: number;
  /** As written, e.g. "log:24h". */
  label: string;
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: DAY_MS };

function parseInstant(text: string, what: string, end: boolean): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    // A day: from its start, or up to its end for the window's end.
    return parseDay(text, what) + (end ? UNIT_MS.d : 0);
  }
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) {
    throw new UserError(`${what}: expected YYYY-MM-DD or an ISO time, got "${text}"`);
  }
  return ms;
}

/**
 * Parses `log:N(m|h|d)` (the last N minutes, hours or days before `now`)
 * or `log:FROM..TO` (days inclusive, or ISO times; TO may be empty for now).
 */
export function parseLogWindow(value: string, now = Date.now()): LogWindow {
  if (!value.startsWith("log:")) throw new UserError(`${value}: a log window starts with "log:"`);
  const body = value.slice(4);
  const rel = /^(\d+(?:\.\d+)?)([mhd])$/.exec(body);
  if (rel) {
    const span = Number(rel[1]) * UNIT_MS[rel[2]];
    if (!(span > 0)) throw new UserError(`${value}: the window must be longer than 0`);
    return { from: now - span, to: now, label: value };
  }
  const range = /^([^.]+)\.\.([^.]*)$/.exec(body);
  if (range) {
    const from = parseInstant(range[1], value, false);
    const to = range[2] === "" ? now : parseInstant(range[2], value, true);
    if (!(to > from)) throw new UserError(`${value}: the window ends before it starts`);
    return { from, to, label: value };
  }
  throw new UserError(
    `${value}: expected log:24h (m, h or d) or log:FROM..TO (YYYY-MM-DD or ISO times)`,
  );
}

/** What {@linkcode logCurrentData} read. */
export interface LogCurrent {
  current: CurrentData;
  /** Model versions that scored the window, with their row counts. */
  versions: { model: string; version: number; run_id: string; rows: number }[];
  /** Rows scored by `runId` (their scores are `current.scores`). */
  scoredByRun: number;
  /** sha256 of the window's transaction ids and inputs, in log order. */
  sha256: string;
}

/**
 * The logged inputs of a window as drift's current data: `columns` (a
 * reference profile's schema) from each logged request, the labels fed back so far
 * (labeled rows only), and the scores of the rows `runId` scored (none
 * when null).
 */
export function logCurrentData(
  log: PredictionLog,
  options: {
    /** The window of scoring times. */
    window: LogWindow;
    /** The reference's columns, read from the logged inputs. */
    columns: { name: string; type: "numeric" | "categorical" }[];
    /** The reference run: only its scores count for prediction drift (null: none). */
    runId: string | null;
  },
): LogCurrent {
  const { window, columns, runId } = options;
  const rows = log.predictions(window.from, window.to);
  if (rows.length === 0) {
    throw new UserError(
      `${window.label}: no predictions logged between ${new Date(window.from).toISOString()} and ${
        new Date(window.to).toISOString()
      } in ${log.path}`,
    );
  }
  const numeric: Record<string, Float64Array> = {};
  const categorical: Record<string, (string | null)[]> = {};
  for (const c of columns) {
    if (c.type === "numeric") numeric[c.name] = new Float64Array(rows.length);
    else categorical[c.name] = new Array(rows.length);
  }
  const hash = createHash("sha256");
  const labels: number[] = [], scores: number[] = [];
  const versions = new Map<string, LogCurrent["versions"][number]>();
  rows.forEach((r, i) => {
    hash.update(r.transaction_id).update("\n").update(r.input).update("\n");
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(r.input);
    } catch {
      throw new UserError(`${log.path}: logged input of ${r.transaction_id} is not JSON`);
    }
    for (const c of columns) {
      const v = input[c.name];
      if (c.type === "numeric") numeric[c.name][i] = typeof v === "number" ? v : NaN;
      else categorical[c.name][i] = v === null || v === undefined ? null : String(v);
    }
    if (r.label !== null) labels.push(r.label);
    if (r.run_id === runId) scores.push(r.score);
    const key = `${r.model}\u0000${r.version}\u0000${r.run_id}`;
    const v = versions.get(key);
    if (v) v.rows++;
    else versions.set(key, { model: r.model, version: r.version, run_id: r.run_id, rows: 1 });
  });
  return {
    current: {
      rows: rows.length,
      numeric,
      categorical,
      labels: Int8Array.from(labels),
      scores: runId ? Float32Array.from(scores) : null,
    },
    versions: [...versions.values()],
    scoredByRun: scores.length,
    sha256: hash.digest("hex"),
  };
}

/** Realized figures of a set of predictions with the feedback received so far. */
export interface Realized {
  /** Predictions. */
  predictions: number;
  /** Of them, alerts. */
  alerts: number;
  /** alerts / predictions. */
  alertRate: number;
  /** Predictions with a label so far. */
  labeled: number;
  /** labeled / predictions: how much of the window the figures below rest on. */
  labelCoverage: number;
  /** Labeled fraud. */
  frauds: number;
  /** Labeled fraud alerted. */
  tp: number;
  /** Labeled legitimate alerted. */
  fp: number;
  /** Labeled fraud not alerted. */
  fn: number;
  /** Labeled legitimate not alerted. */
  tn: number;
  /** tp / (tp + fp) among labeled alerts; NaN without one. */
  precision: number;
  /** tp / (tp + fn) among labeled frauds; NaN without one. */
  recall: number;
  /** Mean score. */
  meanScore: number;
}

function realized(rows: LogSummaryRow[]): Realized {
  const sum = (k: keyof LogSummaryRow) => rows.reduce((a, r) => a + (r[k] as number), 0);
  const predictions = sum("predictions"), alerts = sum("alerts"), labeled = sum("labeled");
  const tp = sum("tp"), fp = sum("fp"), fn = sum("fn"), tn = sum("tn");
  const scoreSum = rows.reduce((a, r) => a + r.mean_score * r.predictions, 0);
  return {
    predictions,
    alerts,
    alertRate: predictions ? alerts / predictions : NaN,
    labeled,
    labelCoverage: predictions ? labeled / predictions : NaN,
    frauds: sum("frauds"),
    tp,
    fp,
    fn,
    tn,
    precision: tp + fp ? tp / (tp + fp) : NaN,
    recall: tp + fn ? tp / (tp + fn) : NaN,
    meanScore: predictions ? scoreSum / predictions : NaN,
  };
}

/** One line of a monitoring report. */
export interface MonitorLine extends Realized {
  /** A UTC day, or null for the whole window. */
  day: string | null;
  /** Registered model name. */
  model: string;
  /** Its version. */
  version: number;
  /** The run behind it. */
  run_id: string;
}

/** The monitoring report of a window. */
export interface MonitorReport {
  /** The window (ISO times) and how it was written. */
  window: { from: string; to: string; label: string };
  /** Per day and model version. */
  days: MonitorLine[];
  /** Per model version over the window. */
  versions: MonitorLine[];
  /** Every prediction in the window. */
  total: Realized;
  /** Feedback received in the window for ids the log does not hold. */
  unmatchedFeedback: number;
}

/** Realized alert rate, precision and recall of a window (see the module doc). */
export function monitorLog(log: PredictionLog, window: LogWindow): MonitorReport {
  const rows = log.summary(window.from, window.to);
  const byVersion = new Map<string, LogSummaryRow[]>();
  for (const r of rows) {
    const key = `${r.model}\u0000${r.version}\u0000${r.run_id}`;
    byVersion.set(key, [...(byVersion.get(key) ?? []), r]);
  }
  const line = (day: string | null, group: LogSummaryRow[]): MonitorLine => ({
    day,
    model: group[0].model,
    version: group[0].version,
    run_id: group[0].run_id,
    ...realized(group),
  });
  return {
    window: {
      from: new Date(window.from).toISOString(),
      to: new Date(window.to).toISOString(),
      label: window.label,
    },
    days: rows.map((r) => line(r.day, [r])),
    versions: [...byVersion.values()].map((g) => line(null, g)),
    total: realized(rows),
    unmatchedFeedback: log.unmatchedFeedback(window.from, window.to),
  };
}

/** What {@linkcode runMonitorJob} reads. */
export interface MonitorJob {
  /** Log window (`log:7d`, `log:24h`, `log:FROM..TO`); default `log:7d`. */
  window?: string;
  /** Prediction log file (default `$FRAUDLAB_LOG` or `<artifacts>/predictions.sqlite`). */
  log?: string;
  /** Artifacts root for the default log path. */
  root?: string;
  /** The clock the relative windows end at (default now). */
  now?: number;
}

/** The outcome of {@linkcode runMonitorJob}: the log read and its report. */
export interface MonitorJobResult {
  /** The prediction log that was read. */
  path: string;
  /** The window as parsed. */
  window: LogWindow;
  /** Realized figures of the window. */
  report: MonitorReport;
}

/**
 * The monitoring job: opens an existing prediction log (it is never
 * created), reports the window and closes it.
 *
 * @param job the window, the log file, the clock
 * @returns the log read, the window and its realized figures
 *
 * @example
 * ```ts
 * import { PredictionLog } from "../serving/predlog.ts";
 * import { runMonitorJob } from "./monitor.ts";
 * const path = `${await Deno.makeTempDir()}/predictions.sqlite`;
 * PredictionLog.open(path, { worker: false }).close();
 * const { report } = runMonitorJob({ log: path, window: "log:24h" });
 * console.log(report.total.predictions); // 0
 * ```
 */
export function runMonitorJob(job: MonitorJob = {}): MonitorJobResult {
  const window = parseLogWindow(job.window ?? "log:7d", job.now);
  const path = job.log ?? defaultLogPath(job.root ?? artifactsRoot());
  const log = openExistingLog(path);
  try {
    return { path, window, report: monitorLog(log, window) };
  } finally {
    log.close();
  }
}

/** One side of a live comparison: a model's figures on the transactions both models scored. */
export interface LiveSide {
  /** The model (name and version) and its rows' role in the log. */
  model: string;
  role: "served" | "shadow";
  alerts: number;
  /** Alert rate over every compared transaction. */
  alertRate: number;
  /** On the labeled transactions: */
  averagePrecision: number | null;
  rocAuc: number | null;
  recallAt1pctFpr: number | null;
  precision: number | null;
  recall: number | null;
}

/** The outcome of {@linkcode compareLive}. */
export interface LiveComparison {
  window: LogWindow;
  /** Transactions both the served model and the shadow scored, and how many have a label. */
  transactions: number;
  labeled: number;
  frauds: number;
  served: LiveSide;
  shadow: LiveSide;
}

/**
 * The served model against the shadow on the transactions both scored in
 * the window (`serve --shadow`), from the labels fed back so far: each
 * side's alert rate, and on the labeled ones its average precision, ROC
 * AUC, recall at 1% FPR and precision and recall at its own threshold.
 *
 * @param log an open prediction log
 * @param window scoring times
 * @returns both sides' figures
 */
export function compareLive(log: PredictionLog, window: LogWindow): LiveComparison {
  const served = log.predictions(window.from, window.to);
  const shadow = log.shadowPredictions(window.from, window.to);
  if (shadow.length === 0) {
    throw new UserError(
      `the log has no shadow predictions in ${window.label}: serve with --shadow NAME@challenger first`,
    );
  }
  const byId = new Map(served.map((r) => [r.transaction_id, r]));
  const pairs = shadow.filter((r) => byId.has(r.transaction_id))
    .map((r) => ({ shadow: r, served: byId.get(r.transaction_id)! }));
  const labeledPairs = pairs.filter((p) => p.shadow.label !== null);
  const labels = Int8Array.from(labeledPairs, (p) => p.shadow.label!);
  const frauds = labels.reduce((a, b) => a + b, 0);
  const side = (role: "served" | "shadow"): LiveSide => {
    const rows = pairs.map((p) => p[role]);
    const names = [...new Set(rows.map((r) => `${r.model}@${r.version}`))];
    const scores = Float64Array.from(labeledPairs, (p) => p[role].score);
    const alerts = rows.filter((r) => r.is_fraud).length;
    const both = labels.length > 0 && frauds > 0 && frauds < labels.length;
    let tp = 0, fp = 0;
    labeledPairs.forEach((p, i) => {
      if (p[role].is_fraud) labels[i] === 1 ? tp++ : fp++;
    });
    return {
      model: names.join(", "),
      role,
      alerts,
      alertRate: rows.length ? alerts / rows.length : 0,
      averagePrecision: both ? averagePrecision(labels, scores) : null,
      rocAuc: both ? rocAuc(labels, scores) : null,
      recallAt1pctFpr: both ? recallAtFpr(labels, scores).recall : null,
      precision: tp + fp > 0 ? tp / (tp + fp) : null,
      recall: frauds > 0 ? tp / frauds : null,
    };
  };
  return {
    window,
    transactions: pairs.length,
    labeled: labeledPairs.length,
    frauds,
    served: side("served"),
    shadow: side("shadow"),
  };
}

/**
 * {@linkcode compareLive} on a log file (the job `monitor --compare` runs).
 *
 * @param job the window, the log file or the artifacts root
 * @returns the comparison and the log read
 */
export function runCompareJob(job: MonitorJob = {}): { path: string; comparison: LiveComparison } {
  const window = parseLogWindow(job.window ?? "log:7d", job.now);
  const path = job.log ?? defaultLogPath(job.root ?? artifactsRoot());
  const log = openExistingLog(path);
  try {
    return { path, comparison: compareLive(log, window) };
  } finally {
    log.close();
  }
}
