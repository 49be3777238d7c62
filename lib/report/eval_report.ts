/**
 * The evaluation report of a run: one static, self-contained HTML page with
 * Observable Plot SVGs (PR and ROC curves, score distributions by class, the
 * confusion matrix at the chosen threshold, cost and alert-budget curves,
 * top contributing features, daily precision@k) and a model card. Built from
 * the run directory alone.
 * @module
 */
import { join } from "node:path";
import type { EvalCurves, EvalMetrics } from "../eval/evaluate.ts";
import type { Curve } from "../eval/curves.ts";
import type { ChosenThreshold } from "../eval/threshold.ts";
import type { RunConfig } from "../registry/config.ts";
import type { FeatureContribution } from "../registry/runs.ts";
import { reportsRoot, writeAtomic } from "../registry/store.ts";
import { escapeHtml, figure, fmt, htmlTable, page } from "./html.ts";
import { recordReport } from "./index_page.ts";
import { Plot, plotSvg } from "./plot.ts";

async function readJson<T>(dir: string, name: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(join(dir, name))) as T;
}

function points(c: Curve, series: string) {
  return c.x.map((x, i) => ({ x, y: c.y[i], threshold: c.threshold[i], series }));
}

function curvePlot(
  curves: { validation: Curve; test: Curve },
  labels: { x: string; y: string },
  extra: Plot.Markish[] = [],
): string {
  const data = [...points(curves.validation, "validation"), ...points(curves.test, "test")];
  return plotSvg({
    width: 500,
    height: 320,
    marginLeft: 60,
    grid: true,
    x: { label: labels.x },
    y: { label: labels.y },
    color: { legend: true, domain: ["validation", "test"], range: ["#9aa5b1", "#1f5fbf"] },
    marks: [...extra, Plot.line(data, { x: "x", y: "y", stroke: "series", curve: "step-after" })],
  });
}

function histogramPlot(h: EvalCurves["histogram"]): string {
  const total = (a: number[]) => a.reduce((s, v) => s + v, 0) || 1;
  const nNeg = total(h.negatives), nPos = total(h.positives);
  const bars = h.negatives.flatMap((neg, i) => [
    { x1: h.edges[i], x2: h.edges[i + 1], share: neg / nNeg, cls: "legit" },
    { x1: h.edges[i], x2: h.edges[i + 1], share: h.positives[i] / nPos, cls: "fraud" },
  ]);
  return plotSvg({
    width: 500,
    height: 320,
    x: { label: "score" },
    y: { label: "share of class", grid: true },
    color: { legend: true, domain: ["legit", "fraud"], range: ["#1f5fbf", "#d1372c"] },
    marks: [
      Plot.rectY(bars, {
        x1: "x1",
        x2: "x2",
        y: "share",
        fill: "cls",
        fillOpacity: 0.55,
        mixBlendMode: "multiply",
      }),
      Plot.ruleY([0]),
    ],
  });
}

function confusionPlot(m: EvalMetrics): string {
  const c = m.atThreshold;
  const cells = [
    { actual: "fraud", predicted: "alert", n: c.tp },
    { actual: "fraud", predicted: "no alert", n: c.fn },
    { actual: "legit", predicted: "alert", n: c.fp },
    { actual: "legit", predicted: "no alert", n: c.tn },
  ];
  return plotSvg({
    width: 360,
    height: 220,
    marginLeft: 60,
    x: { label: "decision", domain: ["alert", "no alert"] },
    y: { label: "actual", domain: ["fraud", "legit"] },
    color: { scheme: "blues", type: "log" },
    marks: [
      Plot.cell(cells, { x: "predicted", y: "actual", fill: (d: { n: number }) => d.n + 1 }),
      Plot.text(cells, {
        x: "predicted",
        y: "actual",
        text: (d: { n: number }) => d.n.toLocaleString("en-US"),
        fontSize: 14,
      }),
    ],
  });
}

function featurePlot(features: FeatureContribution[]): string {
  return plotSvg({
    width: 500,
    height: 40 + 22 * features.length,
    marginLeft: 200,
    x: { label: "mean contribution over the top test alerts", grid: true },
    y: { label: null, domain: features.map((f) => f.feature) },
    marks: [
      Plot.barX(features, {
        x: "meanContribution",
        y: "feature",
        fill: (d: FeatureContribution) => (d.meanContribution >= 0 ? "#d1372c" : "#1f5fbf"),
      }),
      Plot.ruleX([0]),
    ],
  });
}

function dailyPlot(m: EvalMetrics): string | null {
  const daily = m.dailyPrecisionAtK;
  if (!daily || daily.days.length === 0) return null;
  const data = daily.days.map((d) => ({
    day: new Date(d.day),
    precision: d.precision,
    metric: `precision@${daily.k}`,
  }));
  if (m.entityPrecisionAtK) {
    for (const d of m.entityPrecisionAtK.days) {
      data.push({
        day: new Date(d.day),
        precision: d.precision,
        metric: `${m.entityPrecisionAtK.entity} precision@${daily.k}`,
      });
    }
  }
  return plotSvg({
    width: 500,
    height: 320,
    grid: true,
    x: { label: "day (UTC)", type: "utc" },
    y: { label: "precision", domain: [0, 1] },
    color: { legend: true },
    marks: [Plot.line(data, { x: "day", y: "precision", stroke: "metric", marker: "circle" })],
  });
}

function metricRows(v: EvalMetrics, t: EvalMetrics): (string | number)[][] {
  const row = (
    name: string,
    f: (m: EvalMetrics) => number | undefined | null,
  ) => [name, fmt(f(v)), fmt(f(t))];
  const rows = [
    row("rows", (m) => m.rows),
    row("fraud rows", (m) => m.positives),
    row("ROC-AUC", (m) => m.rocAuc),
    row("average precision", (m) => m.averagePrecision),
    row("recall at 1% FPR", (m) => m.recallAt1pctFpr),
    row(`precision@${t.k}`, (m) => m.precisionAtK),
  ];
  if (t.dailyPrecisionAtK) {
    rows.push(row(`daily precision@${t.k} (mean)`, (m) => m.dailyPrecisionAtK?.mean));
  }
  if (t.entityPrecisionAtK) {
    rows.push(
      row(
        `daily ${t.entityPrecisionAtK.entity} precision@${t.k} (mean)`,
        (m) => m.entityPrecisionAtK?.mean,
      ),
    );
  }
  rows.push(
    row("precision at threshold", (m) => m.atThreshold.precision),
    row("recall at threshold", (m) => m.atThreshold.recall),
    row("F1 at threshold", (m) => m.atThreshold.f1),
    row("FPR at threshold", (m) => m.atThreshold.fpr),
    row("alert rate", (m) => m.atThreshold.alertRate),
  );
  if (t.costAtThreshold !== undefined) {
    rows.push(row("cost at threshold", (m) => m.costAtThreshold));
  }
  return rows;
}

/** Writes `reports/runs/<run-id>.html` for a run directory; returns its path. */
export async function writeEvalReport(runDir: string, root = reportsRoot()): Promise<string> {
  const run = await readJson<{ id: string; kind: string; created: string }>(runDir, "run.json");
  const config = await readJson<RunConfig>(runDir, "config.json");
  const data = await readJson<
    { sha256: string; rows: number; positives: number; path: string; split: string }
  >(
    runDir,
    "dataset.json",
  );
  const metrics = await readJson<{ validation: EvalMetrics; test: EvalMetrics }>(
    runDir,
    "metrics.json",
  );
  const curves = await readJson<{ validation: EvalCurves; test: EvalCurves }>(
    runDir,
    "curves.json",
  );
  const threshold = await readJson<ChosenThreshold>(runDir, "threshold.json");
  const explain = await readJson<
    { explains: string; rows: number; features: FeatureContribution[] }
  >(
    runDir,
    "explain.json",
  );
  const code = await readJson<{ git: string; dirty: boolean | null }>(runDir, "code.json");
  const t = metrics.test, v = metrics.validation;
  const thr = Number(threshold.threshold);
  const prevalence = t.positives / Math.max(t.rows, 1);
  const figures = [
    figure(
      "Precision–recall",
      curvePlot({ validation: curves.validation.pr, test: curves.test.pr }, {
        x: "recall",
        y: "precision",
      }, [
        Plot.ruleY([prevalence], { stroke: "#999", strokeDasharray: "4,3" }),
      ]),
      `AP test ${fmt(t.averagePrecision)}; dashed line: fraud rate ${fmt(prevalence)}`,
    ),
    figure(
      "ROC",
      curvePlot({ validation: curves.validation.roc, test: curves.test.roc }, {
        x: "false-positive rate",
        y: "true-positive rate",
      }, [
        Plot.line([[0, 0], [1, 1]], { stroke: "#bbb", strokeDasharray: "4,3" }),
      ]),
      `ROC-AUC test ${fmt(t.rocAuc)}`,
    ),
    figure(
      "Test score distribution by class",
      histogramPlot(curves.test.histogram),
      `threshold ${fmt(thr)}`,
    ),
    figure(
      `Confusion matrix at threshold ${fmt(thr)} (test)`,
      confusionPlot(t),
      `strategy ${threshold.strategy}`,
    ),
    figure(
      "Cost by alerts (test)",
      curvePlot({ validation: curves.validation.cost, test: curves.test.cost }, {
        x: "alerts",
        y: "expected cost",
      }),
      `each alert costs ${config.alertFee}; a missed fraud costs ${
        t.costAtThreshold !== undefined ? "its amount" : "100 (no amount column)"
      }`,
    ),
    figure(
      "Alert budget (test)",
      curvePlot({ validation: curves.validation.budget, test: curves.test.budget }, {
        x: "alerts per day",
        y: "recall",
      }),
      "recall reached for a given number of alerts per day",
    ),
    figure(
      "Top contributing features",
      featurePlot(explain.features),
      `${explain.explains}; mean over the ${explain.rows} highest-scored test rows`,
    ),
  ];
  const daily = dailyPlot(t);
  if (daily) figures.push(figure(`Daily precision@${t.k} (test)`, daily));
  const card = `
<h2>Model card</h2>
${
    htmlTable(["", ""], [
      [
        "model",
        `${config.model} (${
          Object.entries(config.params).map(([k, v]) => `${k}=${v}`).join(", ")
        })`,
      ],
      [
        "data",
        `${data.path} — sha256 ${data.sha256.slice(0, 16)}…, ${fmt(data.rows)} rows, ${
          fmt(data.positives)
        } fraud`,
      ],
      ["data window and split", data.split],
      [
        "label delay",
        config.split.method === "time"
          ? `${config.split.delayDays} days between train and test; velocity risk features only use labels older than that`
          : "not modelled (no time split)",
      ],
      [
        "threshold",
        `${
          fmt(thr)
        } chosen on validation rows by ${threshold.strategy} (${threshold.objectiveName} ${
          fmt(threshold.objective)
        })`,
      ],
      [
        "at the threshold (test)",
        `precision ${fmt(t.atThreshold.precision)}, recall ${
          fmt(t.atThreshold.recall)
        }, alert rate ${fmt(t.atThreshold.alertRate)}`,
      ],
      [
        "intended use",
        "ranking transactions for fraud review in the population the training data describes; scores are not probabilities",
      ],
      [
        "limits",
        `trained on ${
          fmt(data.rows)
        } rows of one dataset version; performance drifts as spending and attackers change (monitor with drift reports); ${
          config.model === "logreg"
            ? "linear in the features"
            : "unsupervised: flags unusual, not necessarily fraudulent, transactions"
        }`,
      ],
      ["code", `${code.git}${code.dirty ? " (uncommitted changes)" : ""}`],
      ["seed", String(config.seed)],
    ])
  }`;
  const body = `<h1>Evaluation — run ${escapeHtml(run.id)}</h1>
<p class="muted">${escapeHtml(run.created)} · ${escapeHtml(config.model)} on ${
    escapeHtml(config.spec)
  } · re-run: <code>deno task train --config ${escapeHtml(join(runDir, "config.json"))}</code></p>
<p class="big">test ROC-AUC ${fmt(t.rocAuc)} · AP ${fmt(t.averagePrecision)} · precision@${t.k} ${
    fmt(t.precisionAtK)
  }${t.dailyPrecisionAtK ? ` · daily precision@${t.k} ${fmt(t.dailyPrecisionAtK.mean)}` : ""}${
    t.entityPrecisionAtK
      ? ` · ${escapeHtml(t.entityPrecisionAtK.entity)} precision@${t.k} ${
        fmt(t.entityPrecisionAtK.mean)
      }`
      : ""
  }</p>
<h2>Metrics</h2>
${htmlTable(["metric", "validation", "test"], metricRows(v, t))}
<h2>Plots</h2>
<div class="grid">${figures.join("\n")}</div>
${card}`;
  const out = join(root, "runs", `${run.id}.html`);
  await writeAtomic(out, page(`fraudlab run ${run.id}`, body));
  await recordReport({
    kind: "evaluation",
    file: out,
    title: `${config.model} on ${config.spec} (${run.id})`,
    created: run.created,
    data: [data.sha256.slice(0, 12)],
    verdict: `AUC ${fmt(t.rocAuc)}, AP ${fmt(t.averagePrecision)}, P@${t.k} ${fmt(t.precisionAtK)}`,
  }, root);
  return out;
}
