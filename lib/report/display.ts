/**
 * Rich display of lib results. Every `show*` function returns a
 * {@linkcode Shown}: in a Deno Jupyter notebook it renders as HTML or SVG
 * (the kernel calls its `Symbol.for("Jupyter.display")` method), and in
 * plain Deno it prints as readable text (`console.log`, `Deno.inspect` and
 * `String()` give the text form). {@linkcode show} picks the right view for
 * frames, profiles, metrics, runs, drift results and plots.
 *
 * Only the display symbol is used here: `Deno.jupyter` exists inside the
 * kernel alone, and lib code runs in tasks and the server too.
 *
 * One file: every `show*` returns the same `Shown` value and shares its
 * table and number formatting.
 * @module
 */
import type { Frame } from "../data/frame.ts";
import type { DataProfile } from "../data/profile.ts";
import { formatProfile, profileColumnTable } from "../data/profile.ts";
import { table } from "../util/table.ts";
import { describeResult, DRIFT_FORMAT, type DriftResult } from "../drift/compare.ts";
import { entityMetricName, type EvalMetrics } from "../eval/evaluate.ts";
import type { StrategyOutcome } from "../eval/threshold.ts";
import type { TrainResult } from "../registry/runs.ts";
import { distributionSvg, driftSummaryRows, driftVerdict } from "./drift_report.ts";
import { escapeHtml, fmt, htmlTable } from "./html.ts";
import { percent } from "../util/format.ts";

const JUPYTER_DISPLAY = Symbol.for("Jupyter.display");
const DENO_INSPECT = Symbol.for("Deno.customInspect");

/** A displayable result: text for terminals, HTML or SVG for Jupyter. */
export class Shown {
  /** The plain-text form. */
  readonly text: string;
  /** The HTML form, if any. */
  readonly html: string | null;
  /** A standalone SVG image, if this is one plot without HTML around it. */
  readonly svg: string | null;

  /**
   * A value with its text form and, when it has one, its HTML or SVG form.
   * @param parts the text form, and the HTML or SVG form when there is one
   */
  constructor(parts: { text: string; html?: string | null; svg?: string | null }) {
    this.text = parts.text;
    this.html = parts.html ?? null;
    this.svg = parts.svg ?? null;
  }

  /** The MIME bundle the Deno Jupyter kernel displays. */
  [JUPYTER_DISPLAY](): Record<string, string> {
    const bundle: Record<string, string> = { "text/plain": this.text };
    if (this.svg) bundle["image/svg+xml"] = this.svg;
    if (this.html) bundle["text/html"] = this.html;
    return bundle;
  }

  /** What `console.log` and `Deno.inspect` print. */
  [DENO_INSPECT](): string {
    return this.text;
  }

  /** The text form. */
  toString(): string {
    return this.text;
  }

  /** This display as an HTML fragment (a figure's SVG inline, text in a pre block otherwise). */
  toHtml(): string {
    return this.html ?? this.svg ?? `<pre>${escapeHtml(this.text)}</pre>`;
  }
}

function titled(title: string | undefined, html: string): string {
  return title ? `<h4>${escapeHtml(title)}</h4>${html}` : html;
}

function textTitled(title: string | undefined, text: string): string {
  return title ? `${title}\n${text}` : text;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return fmt(v);
  if (v instanceof Date) return v.toISOString().replace(".000Z", "Z");
  if (typeof v === "bigint") return String(v);
  return String(v);
}

/**
 * A table from a header and rows of cells (numbers formatted like the
 * reports: 4 decimals, thousands separators for counts).
 *
 * @param header column names
 * @param rows cells, one array per row
 * @param options a title
 * @returns text and HTML forms
 *
 * @example
 * ```ts
 * import { showTable } from "./display.ts";
 * console.log(showTable(["model", "AP"], [["logreg", 0.51234]]).text);
 * ```
 */
export function showTable(
  header: string[],
  rows: unknown[][],
  options: { title?: string } = {},
): Shown {
  const cells = rows.map((r) => r.map(cell));
  return new Shown({
    text: textTitled(options.title, table(header, cells)),
    html: titled(options.title, htmlTable(header, cells)),
  });
}

/**
 * The first rows of a polars frame, with its shape and column types.
 *
 * @param df the frame
 * @param options how many rows (default 10) and a title
 * @returns text and HTML forms
 *
 * @example
 * ```ts
 * import pl from "nodejs-polars";
 * import { showFrame } from "./display.ts";
 * console.log(showFrame(pl.DataFrame({ amount: [1, 2, 3] }), { rows: 2 }).text);
 * ```
 */
export function showFrame(
  df: Frame,
  options: { rows?: number; title?: string } = {},
): Shown {
  const n = Math.min(options.rows ?? 10, df.height);
  const head = df.head(n);
  const types = df.dtypes.map((t) => (t as { variant?: string }).variant ?? String(t));
  const header = df.columns.map((c, i) => `${c} (${types[i]})`);
  const records = head.rows();
  const shape = `${df.height.toLocaleString("en-US")} rows × ${df.width} columns` +
    (n < df.height ? ` (first ${n} shown)` : "");
  const body = records.map((r) => r.map(cell));
  return new Shown({
    text: textTitled(options.title, `${shape}\n${table(header, body)}`),
    html: titled(
      options.title,
      `<p>${escapeHtml(shape)}</p>${htmlTable(header, body)}`,
    ),
  });
}

const pct = percent;

/**
 * A dataset profile: one row per column, top categories and quality warnings.
 *
 * @param p what `profileDataset` returns
 * @param options a title
 * @returns text and HTML forms
 *
 * @example
 * ```ts
 * import { exampleData } from "../testing/examples.ts";
 * import { profileDataset } from "../data/profile.ts";
 * import { showProfile } from "./display.ts";
 * console.log(showProfile(profileDataset((await exampleData()).ds)).text.split("\n")[0]);
 * ```
 */
export function showProfile(p: DataProfile, options: { title?: string } = {}): Shown {
  const [base, baseRows] = profileColumnTable(p);
  const header = [...base, "top values (share, fraud rate)"];
  const rows = p.columns.map((c, i) => [
    ...baseRows[i],
    c.top && c.role === "categorical"
      ? c.top.map((t) => `${t.value ?? "(missing)"} ${pct(t.share, 1)}, ${pct(t.fraudRate)}`)
        .join("; ")
      : "",
  ]);
  const warnings = p.warnings.length
    ? `<p><b>Warnings (${p.warnings.length})</b></p><ul>${
      p.warnings.map((w) => `<li><code>${escapeHtml(w.kind)}</code> ${escapeHtml(w.message)}</li>`)
        .join("")
    }</ul>`
    : `<p>No data-quality warnings.</p>`;
  return new Shown({
    text: textTitled(options.title, formatProfile(p)),
    html: titled(
      options.title,
      `<p>${fmt(p.rows)} rows, ${fmt(p.positives)} fraud (${pct(p.fraudRate, 3)})${
        p.ignored.length ? `; ignored (not in spec): ${escapeHtml(p.ignored.join(", "))}` : ""
      }</p>${htmlTable(header, rows)}${warnings}`,
    ),
  });
}

/**
 * The headline figures of one or more evaluations as a table with one
 * column per name (e.g. validation and test, or one model per column).
 */
export function metricTable(named: Record<string, EvalMetrics>): [string[], string[][]] {
  const names = Object.keys(named);
  const ms = names.map((n) => named[n]);
  const first = ms[0];
  const rows: string[][] = [];
  const row = (label: string, f: (m: EvalMetrics) => number | null | undefined) =>
    rows.push([label, ...ms.map((m) => fmt(f(m)))]);
  row("rows", (m) => m.rows);
  row("fraud rows", (m) => m.positives);
  row("ROC-AUC", (m) => m.rocAuc);
  row("average precision", (m) => m.averagePrecision);
  row("recall at 1% FPR", (m) => m.recallAt1pctFpr);
  row(`precision@${first?.k ?? "k"}`, (m) => m.precisionAtK);
  if (ms.some((m) => m.dailyPrecisionAtK)) {
    row(`daily precision@${first.k} (mean)`, (m) => m.dailyPrecisionAtK?.mean);
  }
  const withEntity = ms.find((m) => m.entityPrecisionAtK);
  if (withEntity) {
    row(`daily ${entityMetricName(withEntity)} (mean)`, (m) => m.entityPrecisionAtK?.mean);
  }
  row("precision at threshold", (m) => m.atThreshold.precision);
  row("recall at threshold", (m) => m.atThreshold.recall);
  row("F1 at threshold", (m) => m.atThreshold.f1);
  row("FPR at threshold", (m) => m.atThreshold.fpr);
  row("alert rate", (m) => m.atThreshold.alertRate);
  if (ms.some((m) => m.costAtThreshold !== undefined)) {
    row("cost at threshold", (m) => m.costAtThreshold);
  }
  if (ms.some((m) => m.calibration)) row("Brier score (calibrated)", (m) => m.calibration?.brier);
  return [["metric", ...names], rows];
}

/**
 * Evaluation figures side by side (one column per name).
 *
 * @param named metrics by name
 * @param options a title
 * @returns text and HTML forms
 *
 * @example
 * ```ts
 * import { exampleRun } from "../testing/examples.ts";
 * import { showMetrics } from "./display.ts";
 * const run = await exampleRun();
 * console.log(showMetrics({ validation: run.validation, test: run.test }).text);
 * ```
 */
export function showMetrics(
  named: Record<string, EvalMetrics>,
  options: { title?: string } = {},
): Shown {
  const [header, rows] = metricTable(named);
  return showTable(header, rows, options);
}

/**
 * A trained run: id, model, data, split, threshold, and validation and test figures.
 *
 * @param r a trained run
 * @param options a title
 * @returns text and HTML forms
 *
 * @example
 * ```ts
 * import { exampleRun } from "../testing/examples.ts";
 * import { showRun } from "./display.ts";
 * console.log(showRun(await exampleRun()).text);
 * ```
 */
export function showRun(r: TrainResult, options: { title?: string } = {}): Shown {
  const params = Object.entries(r.config.params).map(([k, v]) => `${k}=${v}`).join(", ");
  const facts: [string, string][] = [
    ["run", r.id],
    ["model", `${r.config.model} (${params})`],
    [
      "data",
      `${r.config.data} (${r.config.spec}): ${fmt(r.dataset.rows)} rows, sha256 ${
        r.dataset.sha256.slice(0, 12)
      }…`,
    ],
    ["split", r.split],
    [
      "threshold",
      `${fmt(r.threshold.threshold)} by ${r.threshold.strategy} (${r.threshold.objectiveName} ${
        fmt(r.threshold.objective)
      } on validation)`,
    ],
    ["artifacts", r.dir],
  ];
  const [header, rows] = metricTable({ validation: r.validation, test: r.test });
  const title = options.title ?? `run ${r.id}`;
  return new Shown({
    text: `${title}\n${table(["", ""], facts)}\n\n${table(header, rows)}`,
    html: `<h4>${escapeHtml(title)}</h4>${htmlTable(["", ""], facts)}${htmlTable(header, rows)}`,
  });
}

/**
 * Threshold strategies chosen on validation and measured on test, side by side.
 *
 * @param outcomes what `compareStrategies` returns
 * @param options a title
 * @returns text and HTML forms
 *
 * @example
 * ```ts
 * import { compareStrategies } from "../eval/threshold.ts";
 * import { showStrategies } from "./display.ts";
 * const validation = { labels: [0, 0, 1, 1], scores: [0.1, 0.4, 0.6, 0.9] };
 * const test = { labels: [0, 1, 0, 1], scores: [0.2, 0.7, 0.5, 0.3] };
 * console.log(showStrategies(compareStrategies(["max-f1", "recall:1"], { validation, test })).text);
 * ```
 */
export function showStrategies(
  outcomes: StrategyOutcome[],
  options: { title?: string } = {},
): Shown {
  return showTable(
    [
      "strategy",
      "threshold",
      "validation objective",
      "test alerts",
      "alerts/day",
      "precision",
      "recall",
      "FPR",
      "cost",
    ],
    outcomes.map((o) => [
      o.strategy,
      o.threshold,
      `${o.objectiveName} ${fmt(o.objective)}`,
      o.test.alerts,
      o.test.alertsPerDay.toFixed(1),
      o.test.precision,
      o.test.recall,
      o.test.fpr,
      Math.round(o.test.cost),
    ]),
    options,
  );
}

/**
 * A drift result: the verdict and its reasons, prediction and target drift,
 * the per-column table and the distribution plots (`plots`: the drifted
 * columns, the default, or all, or none).
 *
 * @param r a drift result
 * @param options a title and which plots
 * @returns text and HTML forms
 *
 * @example
 * ```ts
 * import { exampleData, exampleRun } from "../testing/examples.ts";
 * import { runDriftJob } from "../jobs/drift.ts";
 * import { showDrift } from "./display.ts";
 * const out = `${await Deno.makeTempDir()}/drift.html`;
 * const ref = `run:${(await exampleRun()).dir}`;
 * const { result } = await runDriftJob({ ref, cur: (await exampleData()).path, out });
 * console.log(showDrift(result, { plots: "none" }).text.split("\n")[0]);
 * ```
 */
export function showDrift(
  r: DriftResult,
  options: { title?: string; plots?: "drifted" | "all" | "none" } = {},
): Shown {
  const title = options.title ?? `drift: ${r.current.label} vs ${r.reference.label}`;
  const header = ["column", "type", "test", "statistic", "p-value", "drifted", "PSI"];
  const rows = r.columns.map((c) => [
    c.column,
    c.testedAs,
    c.result ? `${c.result.test} (threshold ${c.result.threshold})` : "–",
    c.result ? fmt(c.result.statistic) : "–",
    c.result && c.result.pValue !== null ? c.result.pValue.toExponential(2) : "–",
    c.drifted ? "DRIFTED" : "no",
    c.psi === null ? "–" : fmt(c.psi),
  ]);
  const facts = driftSummaryRows(r);
  const which = options.plots ?? "drifted";
  const plotted = which === "none" ? [] : r.columns.filter((c) => which === "all" || c.drifted);
  const figures = plotted.map((c) =>
    `<div style="display:inline-block;vertical-align:top;margin:0 1em 1em 0"><b>${
      escapeHtml(c.column)
    }</b>${c.result ? ` <small>${escapeHtml(describeResult(c.result))}</small>` : ""}<br>${
      distributionSvg(c.plot, c.column)
    }</div>`
  ).join("");
  const prediction = r.prediction && which !== "none"
    ? `<div style="display:inline-block;vertical-align:top"><b>model score</b><br>${
      distributionSvg(r.prediction.scores.plot, "score")
    }</div>`
    : "";
  const list = (items: string[]) =>
    items.length ? `<ul>${items.map((x) => `<li>${escapeHtml(x)}</li>`).join("")}</ul>` : "";
  const verdict = driftVerdict(r);
  const text = [
    title,
    verdict,
    ...r.reasons.map((x) => `  - ${x}`),
    ...r.warnings.map((x) => `  warning: ${x}`),
    table(["", ""], facts),
    "",
    table(header, rows),
  ].join("\n");
  return new Shown({
    text,
    html: `<h4>${escapeHtml(title)}</h4><p style="font-size:1.2em;font-weight:600;color:${
      r.drift ? "#a1131b" : "#17612e"
    }">${escapeHtml(verdict)}</p>${list(r.reasons)}${
      r.warnings.length ? `<p><b>Warnings</b></p>${list(r.warnings)}` : ""
    }${htmlTable(["", ""], facts)}${htmlTable(header, rows)}${
      figures || prediction ? `<div>${prediction}${figures}</div>` : ""
    }`,
  });
}

/**
 * One plot (the SVG or figure text the plot functions return): an SVG
 * image in Jupyter, a one-line description in plain Deno.
 *
 * @param svg the plot
 * @param options a title and a note under it
 * @returns text, HTML and SVG forms
 *
 * @example
 * ```ts
 * import { epochPlot } from "./eval_plots.ts";
 * import { showPlot } from "./display.ts";
 * console.log(showPlot(epochPlot({ train: [1, 0.5] }), { title: "loss" }).text);
 * ```
 */
export function showPlot(svg: string, options: { title?: string; note?: string } = {}): Shown {
  const tag = /<svg[^>]*>/.exec(svg)?.[0] ?? "";
  const width = /\swidth="(\d+)"/.exec(tag)?.[1], height = /\sheight="(\d+)"/.exec(tag)?.[1];
  const what = options.title ?? "plot";
  const text = `[${what}: ${width && height ? `${width}×${height} ` : ""}SVG plot${
    options.note ? `; ${options.note}` : ""
  } (shown as an image in Jupyter)]`;
  const standalone = svg.startsWith("<svg") && !options.title && !options.note;
  if (standalone) return new Shown({ text, svg });
  return new Shown({
    text,
    html: `${options.title ? `<h4>${escapeHtml(options.title)}</h4>` : ""}${svg}${
      options.note ? `<p><small>${escapeHtml(options.note)}</small></p>` : ""
    }`,
  });
}

/**
 * Several displays as one (stacked; `columns` lays HTML out side by side).
 *
 * @param items the displays
 * @param options side by side or stacked
 * @returns one display
 *
 * @example
 * ```ts
 * import { showAll, showTable } from "./display.ts";
 * const a = showTable(["k"], [[1]]), b = showTable(["k"], [[2]]);
 * console.log(showAll([a, b], { columns: true }).html !== null); // true
 * ```
 */
export function showAll(items: Shown[], options: { columns?: boolean } = {}): Shown {
  const wrap = (s: Shown) =>
    options.columns
      ? `<div style="display:inline-block;vertical-align:top;margin:0 1.5em 1em 0">${s.toHtml()}</div>`
      : s.toHtml();
  return new Shown({
    text: items.map((s) => s.text).join("\n\n"),
    html: `<div>${items.map(wrap).join("")}</div>`,
  });
}

function isDataFrame(v: unknown): v is Frame {
  // polars frames are proxies: `in` misses their properties, the tag does not.
  return typeof v === "object" && v !== null &&
    Object.prototype.toString.call(v) === "[object DataFrame]" &&
    typeof (v as { head?: unknown }).head === "function";
}

/**
 * The right view of a value: a frame, a profile, evaluation metrics, a
 * trained run, a drift result, a plot (SVG text) or anything else (as JSON).
 *
 * @param value anything
 * @returns its display
 *
 * @example
 * ```ts
 * import { show } from "./display.ts";
 * console.log(show({ rows: 3 }).text);
 * ```
 */
export function show(value: unknown): Shown {
  if (value instanceof Shown) return value;
  if (isDataFrame(value)) return showFrame(value);
  if (typeof value === "string") {
    if (/^<(svg|figure)\b/.test(value)) return showPlot(value);
    return new Shown({ text: value, html: `<pre>${escapeHtml(value)}</pre>` });
  }
  if (typeof value === "object" && value !== null) {
    const v = value as Record<string, unknown>;
    if (v.format === DRIFT_FORMAT) return showDrift(value as DriftResult);
    if ("fraudRate" in v && "columns" in v && "warnings" in v) {
      return showProfile(value as DataProfile);
    }
    if ("detector" in v && "config" in v && "test" in v) return showRun(value as TrainResult);
    if ("atThreshold" in v && "averagePrecision" in v) {
      return showMetrics({ metrics: value as EvalMetrics });
    }
  }
  const text = JSON.stringify(value, null, 2) ?? String(value);
  return new Shown({ text, html: `<pre>${escapeHtml(text)}</pre>` });
}
