/**
 * The drift report: one static, self-contained HTML page built from a
 * {@linkcode DriftResult} alone. Summary first (verdict, dataset drift,
 * drifted share, prediction and target drift), then every column with the
 * test and threshold used (drifted first), data quality and schema changes,
 * then one Observable Plot SVG per column overlaying the reference and
 * current distributions. Plots show aggregated bins only, so the page size
 * does not grow with the row count.
 * @module
 */
import { dirname } from "node:path";
import type { ColumnDrift, DistributionPlot, DriftResult } from "../drift/compare.ts";
import { describeResult } from "../drift/compare.ts";
import { writeAtomic } from "../registry/store.ts";
import { escapeHtml, figure, fmt, htmlTable, page, raw } from "./html.ts";
import { recordReport } from "./index_page.ts";
import { Plot, plotSvg } from "./plot.ts";
import { percent } from "../util/format.ts";

const COLORS = { domain: ["reference", "current"], range: ["#9aa5b1", "#1f5fbf"] };

const pct = (x: number | null | undefined, digits = 1) => percent(x, digits);

/** One column's distributions as an SVG. */
export function distributionSvg(plot: DistributionPlot, label: string): string {
  if (plot.kind === "bars") {
    const data = plot.labels!.flatMap((category, i) => [
      { category, side: "reference", share: plot.reference[i] },
      { category, side: "current", share: plot.current[i] },
    ]);
    return plotSvg({
      width: 480,
      height: Math.max(120, 34 * plot.labels!.length + 40),
      marginLeft: 130,
      x: { label: "share of rows", grid: true, percent: true },
      y: { axis: null, domain: COLORS.domain },
      fy: { label: null, domain: plot.labels },
      color: { legend: true, ...COLORS },
      marks: [Plot.barX(data, { x: "share", y: "side", fy: "category", fill: "side" })],
    });
  }
  const e = plot.edges!;
  const bins = e.length - 1;
  const data: { x1: number; x2: number; share: number; side: string }[] = [];
  for (let k = 0; k < bins; k++) {
    data.push({ x1: e[k], x2: e[k + 1], share: plot.reference[k + 1], side: "reference" });
    data.push({ x1: e[k], x2: e[k + 1], share: plot.current[k + 1], side: "current" });
  }
  const under = [plot.reference[0], plot.current[0]];
  const over = [plot.reference[bins + 1], plot.current[bins + 1]];
  const caption = `outside the plotted range: below ${pct(under[0], 2)} ref / ${
    pct(under[1], 2)
  } cur, above ${pct(over[0], 2)} ref / ${pct(over[1], 2)} cur`;
  if (bins < 1) return `<p class="muted">constant reference value ${fmt(e[0])}; ${caption}</p>`;
  return plotSvg({
    width: 480,
    height: 240,
    marginLeft: 50,
    x: { label },
    y: { label: "share of rows", grid: true, percent: true },
    color: { legend: true, ...COLORS },
    caption,
    marks: [
      Plot.rectY(data, {
        x1: "x1",
        x2: "x2",
        y1: 0,
        y2: "share",
        fill: "side",
        fillOpacity: 0.55,
        mixBlendMode: "multiply",
      }),
      Plot.ruleY([0]),
    ],
  });
}

function testCell(c: ColumnDrift): string {
  if (!c.result) return "–";
  return `${c.result.test}${c.chosenBy === "override" ? " (override)" : ""}`;
}

function statCells(c: ColumnDrift): (string | ReturnType<typeof raw>)[] {
  const r = c.result;
  return [
    testCell(c),
    r ? String(r.threshold) : "–",
    r ? fmt(r.statistic) : "–",
    r && r.pValue !== null ? r.pValue.toExponential(2) : "–",
    raw(
      c.drifted ? `<b class="verdict-bad">drifted</b>` : `<span class="verdict-ok">no</span>`,
    ),
  ];
}

function columnRow(c: ColumnDrift): (string | number | ReturnType<typeof raw>)[] {
  const center = (s: ColumnDrift["reference"]) =>
    s.mean !== undefined ? fmt(s.mean) : s.top ? `${s.top[0]} ${pct(s.top[1])}` : "–";
  return [
    raw(`<a href="#col-${encodeURIComponent(c.column)}">${escapeHtml(c.column)}</a>`),
    c.testedAs === c.type ? c.type : `${c.type} (as categorical)`,
    ...statCells(c),
    c.psi === null ? "–" : fmt(c.psi),
    `${center(c.reference)} → ${center(c.current)}`,
    `${pct(c.reference.missingShare)} → ${pct(c.current.missingShare)}`,
    [...c.quality.flags, ...(c.note ? [c.note] : [])].join("; ") || "–",
  ];
}

/**
 * The summary of a drift result as label/text rows: dataset drift, drifted
 * columns, prediction drift, target drift, reference and current data.
 */
export function driftSummaryRows(r: DriftResult): [string, string][] {
  return [
    ["dataset drift", r.datasetDrift ? "yes" : "no"],
    [
      "drifted columns",
      `${r.driftedColumns} of ${r.testedColumns} (${pct(r.driftedShareValue)}; dataset drift at ≥ ${
        pct(r.driftShare, 0)
      })`,
    ],
    [
      "prediction drift",
      r.prediction
        ? `${r.prediction.drifted ? "yes" : "no"}: score ${
          r.prediction.scores.result ? describeResult(r.prediction.scores.result) : "–"
        }; alert rate ${pct(r.prediction.alertRate.reference, 2)} → ${
          pct(r.prediction.alertRate.current, 2)
        }`
        : "not computed (no model scores)",
    ],
    [
      "target drift",
      r.target
        ? `${r.target.drifted ? "yes" : "no"}: fraud rate ${pct(r.target.reference.rate, 3)} → ${
          pct(r.target.current.rate, 3)
        } (${describeResult(r.target.result)})`
        : "not computed (no current labels)",
    ],
    [
      "reference",
      `${r.reference.label}: ${fmt(r.reference.rows)} rows (${r.reference.source.rows}), ` +
      `sha256 ${r.reference.source.sha256.slice(0, 12)}` +
      (r.reference.created ? `, profiled ${r.reference.created.slice(0, 19)}` : ""),
    ],
    ["current", `${r.current.label}: ${fmt(r.current.rows)} rows`],
  ];
}

/** The report page for a drift result. */
export function renderDriftReport(r: DriftResult): string {
  const verdict = r.drift
    ? `<p class="big verdict-bad">DRIFT DETECTED</p>`
    : `<p class="big verdict-ok">NO DRIFT</p>`;
  const summary = htmlTable(["", ""], driftSummaryRows(r));
  const reasons = r.reasons.length
    ? `<ul>${r.reasons.map((x) => `<li>${escapeHtml(x)}</li>`).join("")}</ul>`
    : "";
  const warnings = r.warnings.length
    ? `<h2>Warnings</h2><ul>${r.warnings.map((x) => `<li>${escapeHtml(x)}</li>`).join("")}</ul>`
    : "";
  const table = htmlTable(
    [
      "column",
      "type",
      "test",
      "threshold",
      "statistic",
      "p-value",
      "drift",
      "PSI",
      "mean / top category",
      "missing",
      "data quality",
    ],
    r.columns.map(columnRow),
  );
  const schema = r.schema.missing.length || r.schema.extra.length || r.schema.typeChanged.length
    ? htmlTable(["change", "columns"], [
      ["missing in current", r.schema.missing.join(", ") || "–"],
      ["new in current", r.schema.extra.join(", ") || "–"],
      [
        "type changed",
        r.schema.typeChanged.map((t) => `${t.column}: ${t.reference} → ${t.current}`).join(", ") ||
        "–",
      ],
    ])
    : `<p class="muted">No schema changes: the current file has every reference column with the same type.</p>`;
  let prediction = "";
  if (r.prediction) {
    const p = r.prediction;
    prediction = `<h2>Prediction drift</h2>` +
      htmlTable(["", "reference (validation)", "current", "test", "drift"], [
        [
          "score distribution",
          `mean ${fmt(p.scores.reference.mean)}`,
          `mean ${fmt(p.scores.current.mean)}`,
          p.scores.result ? describeResult(p.scores.result) : "–",
          p.scores.drifted ? "yes" : "no",
        ],
        [
          `alert rate (score ≥ ${fmt(p.threshold)})`,
          pct(p.alertRate.reference, 3),
          pct(p.alertRate.current, 3),
          `×${fmt(p.alertRate.ratio, 2)}; z p=${p.alertRate.z.pValue!.toExponential(2)} ` +
          `(drift when the change is ≥ ×${p.alertRate.factor} and p < 0.05)`,
          p.alertRate.drifted ? "yes" : "no",
        ],
      ]) +
      `<div class="grid">${
        figure(
          "model score",
          distributionSvg(p.scores.plot, "score"),
          "reference: validation scores",
        )
      }</div>`;
  }
  const figures = r.columns.map((c) =>
    `<div id="col-${escapeHtml(encodeURIComponent(c.column))}">${
      figure(
        `${c.column}${c.drifted ? " — drifted" : ""}`,
        distributionSvg(c.plot, c.column),
        c.result ? describeResult(c.result) : (c.note ?? ""),
      )
    }</div>`
  ).join("");
  const title = `Drift: ${r.current.label} vs ${r.reference.label}`;
  return page(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p class="muted">Created ${escapeHtml(r.created.slice(0, 19).replace("T", " "))} UTC by fraudlab.
Verdict: drift when the dataset drifts (≥ ${
      pct(r.driftShare, 0)
    } of the columns), the predictions drift, or the target drifts. <code>deno task drift</code> exits 3 on drift, 0 otherwise.</p>
${verdict}${reasons}${summary}${warnings}
<h2>Columns (${r.testedColumns}, drifted first)</h2>${table}
${prediction}
<h2>Schema</h2>${schema}
<h2>Distributions</h2><div class="grid">${figures}</div>`,
  );
}

/** A one-line verdict for the index and the console. */
export function driftVerdict(r: DriftResult): string {
  const head = r.drift ? "DRIFT" : "no drift";
  const parts = [`${r.driftedColumns}/${r.testedColumns} columns drifted`];
  if (r.prediction) parts.push(`prediction drift ${r.prediction.drifted ? "yes" : "no"}`);
  if (r.target) parts.push(`target drift ${r.target.drifted ? "yes" : "no"}`);
  return `${head}: ${parts.join(", ")}`;
}

/**
 * Writes the report page (and the result as JSON beside it, same name with
 * .json) and records it in the reports index.
 */
export async function writeDriftReport(
  r: DriftResult,
  options: {
    /** The HTML report's path (the JSON goes beside it). */
    out: string;
    /** sha256 of the reference and the current data. */
    data: { reference: string; current: string };
    /** Reports root the index lives in. */
    root?: string;
  },
): Promise<{ html: string; json: string; index: string }> {
  const { out, data, root } = options;
  await Deno.mkdir(dirname(out), { recursive: true });
  const html = renderDriftReport(r);
  await writeAtomic(out, html);
  const json = out.replace(/\.html?$/i, "") + ".json";
  await writeAtomic(json, JSON.stringify(r, null, 1) + "\n");
  const index = await recordReport({
    kind: "drift",
    file: out,
    title: `drift: ${r.current.label} vs ${r.reference.label}`,
    created: r.created,
    data: [data.reference.slice(0, 12), data.current.slice(0, 12)],
    verdict: driftVerdict(r),
  }, root);
  return { html: out, json, index };
}
