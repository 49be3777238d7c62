/**
 * The plots of model evaluation, as SVG text from Observable Plot: curves of
 * named series (PR, ROC, cost, alert budget, training loss), score
 * distributions by class, the confusion matrix, feature contributions and
 * daily precision@k. Run reports and notebooks draw with the same functions.
 * @module
 */
import type { Curve } from "../eval/curves.ts";
import { entityMetricName, type EvalCurves, type EvalMetrics } from "../eval/evaluate.ts";
import type { ContributionSummary, FeatureContribution } from "../models/explain.ts";
import { Plot, plotSvg } from "./plot.ts";

/** A mark Observable Plot draws (a line, a rule, a dot…), added to a chart. */
export type Mark = Plot.Markish;

/** Colors of the series run reports show (validation grey, test blue). */
const PART_COLORS: Record<string, string> = { validation: "#9aa5b1", test: "#1f5fbf" };

/** Axis labels of a curve plot. */
export interface CurveLabels {
  /** X axis label. */
  x: string;
  /** Y axis label. */
  y: string;
}

/**
 * One line per named curve (step-after), with a legend; `extra` marks are
 * drawn underneath (reference lines).
 *
 * @param series curves by name
 * @param options axis labels and the extra marks
 * @returns the SVG
 *
 * @example
 * ```ts
 * import { curvePlot } from "./eval_plots.ts";
 * const pr = { x: [0, 0.5, 1], y: [1, 0.8, 0.3], threshold: [0.9, 0.5, 0.1] };
 * const svg = curvePlot({ logreg: pr }, { x: "recall", y: "precision" });
 * console.log(svg.startsWith("<svg") || svg.startsWith("<figure")); // true
 * ```
 */
export function curvePlot(
  series: Record<string, Curve>,
  options: CurveLabels & { extra?: Mark[] },
): string {
  const labels = options, extra = options.extra ?? [];
  const names = Object.keys(series);
  const data = names.flatMap((name) =>
    series[name].x.map((x, i) => ({
      x,
      y: series[name].y[i],
      threshold: series[name].threshold[i],
      series: name,
    }))
  );
  const known = names.every((n) => n in PART_COLORS);
  return plotSvg({
    width: 500,
    height: 320,
    marginLeft: 60,
    grid: true,
    x: { label: labels.x },
    y: { label: labels.y },
    color: known
      ? { legend: true, domain: names, range: names.map((n) => PART_COLORS[n]) }
      : { legend: true, domain: names, scheme: "tableau10" },
    marks: [...extra, Plot.line(data, { x: "x", y: "y", stroke: "series", curve: "step-after" })],
  });
}

/**
 * The precision–recall curves of named series, with the fraud rate as a
 * dashed line (what a random ranking would reach).
 *
 * @param series curves by name
 * @param fraudRate the share of fraud rows
 * @returns the SVG
 *
 * @example
 * ```ts
 * import { exampleRun } from "../testing/examples.ts";
 * import { prPlot } from "./eval_plots.ts";
 * const run = await exampleRun();
 * const rate = run.test.positives / run.test.rows;
 * console.log(prPlot({ validation: run.curves.validation.pr, test: run.curves.test.pr }, rate).length > 0);
 * ```
 */
export function prPlot(series: Record<string, Curve>, fraudRate: number): string {
  return curvePlot(series, {
    x: "recall",
    y: "precision",
    extra: [Plot.ruleY([fraudRate], { stroke: "#999", strokeDasharray: "4,3" })],
  });
}

/**
 * The ROC curves of named series, with the diagonal.
 *
 * @param series curves by name
 * @returns the SVG
 *
 * @example
 * ```ts
 * import { exampleRun } from "../testing/examples.ts";
 * import { rocPlot } from "./eval_plots.ts";
 * const run = await exampleRun();
 * console.log(rocPlot({ test: run.curves.test.roc }).length > 0); // true
 * ```
 */
export function rocPlot(series: Record<string, Curve>): string {
  return curvePlot(series, {
    x: "false-positive rate",
    y: "true-positive rate",
    extra: [Plot.line([[0, 0], [1, 1]], { stroke: "#bbb", strokeDasharray: "4,3" })],
  });
}

/**
 * A loss (or any per-epoch figure) by epoch for named series, on a log scale.
 *
 * @param series values per epoch, by name
 * @param label the y axis label (default loss)
 * @returns the SVG
 *
 * @example
 * ```ts
 * import { epochPlot } from "./eval_plots.ts";
 * const svg = epochPlot({ train: [0.9, 0.5, 0.4], validation: [1, 0.6, 0.55] });
 * console.log(svg.length > 0); // true
 * ```
 */
export function epochPlot(series: Record<string, number[]>, label = "loss"): string {
  const curves: Record<string, Curve> = {};
  for (const [name, ys] of Object.entries(series)) {
    curves[name] = { x: ys.map((_, i) => i + 1), y: ys, threshold: ys.map(() => NaN) };
  }
  const names = Object.keys(series);
  const data = names.flatMap((n) => curves[n].x.map((x, i) => ({ x, y: curves[n].y[i], n })));
  return plotSvg({
    width: 500,
    height: 300,
    marginLeft: 60,
    grid: true,
    x: { label: "epoch" },
    y: { label, type: "log" },
    color: { legend: true, domain: names, scheme: "tableau10" },
    marks: [Plot.line(data, { x: "x", y: "y", stroke: "n", marker: "circle" })],
  });
}

/**
 * Score distributions of the two classes on shared bins (share of each class).
 *
 * @param h the histogram (`scoreHistogram`, or a run's curves)
 * @param options the x axis label and a threshold to mark
 * @returns the SVG
 *
 * @example
 * ```ts
 * import { exampleRun } from "../testing/examples.ts";
 * import { scoreHistogramPlot } from "./eval_plots.ts";
 * const run = await exampleRun();
 * const svg = scoreHistogramPlot(run.curves.test.histogram, { threshold: run.threshold.threshold });
 * console.log(svg.length > 0); // true
 * ```
 */
export function scoreHistogramPlot(
  h: EvalCurves["histogram"],
  options: { label?: string; threshold?: number } = {},
): string {
  const total = (a: number[]) => a.reduce((s, v) => s + v, 0) || 1;
  const nNeg = total(h.negatives), nPos = total(h.positives);
  const bars = h.negatives.flatMap((neg, i) => [
    { x1: h.edges[i], x2: h.edges[i + 1], share: neg / nNeg, cls: "legit" },
    { x1: h.edges[i], x2: h.edges[i + 1], share: h.positives[i] / nPos, cls: "fraud" },
  ]);
  const marks: Plot.Markish[] = [
    Plot.rectY(bars, {
      x1: "x1",
      x2: "x2",
      y: "share",
      fill: "cls",
      fillOpacity: 0.55,
      mixBlendMode: "multiply",
    }),
    Plot.ruleY([0]),
  ];
  if (options.threshold !== undefined && Number.isFinite(options.threshold)) {
    marks.push(Plot.ruleX([options.threshold], { stroke: "#333", strokeDasharray: "4,3" }));
  }
  return plotSvg({
    width: 500,
    height: 320,
    x: { label: options.label ?? "score" },
    y: { label: "share of class", grid: true },
    color: { legend: true, domain: ["legit", "fraud"], range: ["#1f5fbf", "#d1372c"] },
    marks,
  });
}

/** The confusion matrix at the threshold (log color scale, counts written in). */
export function confusionPlot(m: EvalMetrics): string {
  const c = m.atThreshold;
  const cells = [
    { actual: "fraud", predicted: "alert", n: c.tp },
    { actual: "fraud", predicted: "no alert", n: c.fn },
    { actual: "legit", predicted: "alert", n: c.fp },
    { actual: "legit", predicted: "no alert", n: c.tn },
  ];
  const lo = Math.log(Math.min(...cells.map((d) => d.n)) + 1);
  const hi = Math.log(Math.max(...cells.map((d) => d.n)) + 1);
  const isDark = (n: number) => hi > lo && (Math.log(n + 1) - lo) / (hi - lo) > 0.5;
  return plotSvg({
    width: 360,
    height: 220,
    marginLeft: 60,
    x: { label: "decision", domain: ["alert", "no alert"] },
    y: { label: "actual", domain: ["fraud", "legit"] },
    color: { scheme: "blues", type: "log" },
    marks: [
      Plot.cell(cells, { x: "predicted", y: "actual", fill: (d: { n: number }) => d.n + 1 }),
      // Counts in white on the darker half of the log scale, in black on the lighter.
      ...[true, false].map((dark) =>
        Plot.text(cells.filter((d) => isDark(d.n) === dark), {
          x: "predicted",
          y: "actual",
          text: (d: { n: number }) => d.n.toLocaleString("en-US"),
          fill: dark ? "white" : "black",
          fontSize: 14,
        })
      ),
    ],
  });
}

/** Mean contribution per feature (red pushes towards fraud, blue away). */
export function featurePlot(
  features: FeatureContribution[],
  options: { label?: string } = {},
): string {
  return plotSvg({
    width: 500,
    height: 40 + 22 * features.length,
    marginLeft: 200,
    x: { label: options.label ?? "mean contribution over the top test alerts", grid: true },
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

/**
 * A SHAP summary plot, binned: one row per feature (largest mean
 * |contribution| first); along x, the explained rows' contributions in 60
 * bins, each drawn as a dot sized by its row count and coloured by the mean
 * rank of those rows' feature values (blue low, red high), with missing
 * values as grey dots of their own. Binning keeps the SVG small (at most
 * 120 dots a feature, where a dot per row would make hundreds of KB).
 *
 * @param summary a run's contribution summary
 * @param options the x axis label
 * @returns the SVG
 *
 * @example
 * ```ts
 * import { contributionSummaryPlot } from "./eval_plots.ts";
 * const svg = contributionSummaryPlot({
 *   rows: 3,
 *   features: [{ feature: "amount", meanContribution: 0.1, meanAbsContribution: 0.3 }],
 *   points: [{ feature: "amount", contributions: [0.4, -0.2, 0.1], valueRanks: [1, 0, null] }],
 * });
 * console.log(svg.includes("<svg")); // true
 * ```
 */
export function contributionSummaryPlot(
  summary: ContributionSummary,
  options: { label?: string } = {},
): string {
  const BINS = 60;
  let lo = Infinity, hi = -Infinity;
  for (const p of summary.points) {
    for (const c of p.contributions) {
      if (c < lo) lo = c;
      if (c > hi) hi = c;
    }
  }
  const width = hi > lo ? (hi - lo) / BINS : 1;
  const dots: { feature: string; x: number; n: number; rank: number | null }[] = [];
  for (const p of summary.points) {
    const n = new Float64Array(2 * BINS), ranks = new Float64Array(BINS);
    p.contributions.forEach((c, k) => {
      const b = Math.min(BINS - 1, Math.floor((c - lo) / width));
      const r = p.valueRanks[k];
      if (r === null) n[BINS + b]++;
      else {
        n[b]++;
        ranks[b] += r;
      }
    });
    for (let b = 0; b < BINS; b++) {
      const x = lo + (b + 0.5) * width;
      if (n[b]) dots.push({ feature: p.feature, x, n: n[b], rank: ranks[b] / n[b] });
      if (n[BINS + b]) dots.push({ feature: p.feature, x, n: n[BINS + b], rank: null });
    }
  }
  const names = summary.points.map((p) => p.feature);
  return plotSvg({
    width: 640,
    height: 50 + 30 * names.length,
    marginLeft: 200,
    x: { label: options.label ?? "contribution to the score", grid: true },
    y: { label: null, domain: names },
    r: { range: [1, 9] },
    color: { type: "linear", domain: [0, 1], range: ["#1f5fbf", "#d1372c"], label: "value rank" },
    marks: [
      Plot.ruleX([0]),
      Plot.dot(dots.filter((d) => d.rank === null), {
        x: "x",
        y: "feature",
        r: "n",
        fill: "#9aa5b1",
        fillOpacity: 0.6,
        dy: 6,
      }),
      Plot.dot(dots.filter((d) => d.rank !== null), {
        x: "x",
        y: "feature",
        r: "n",
        fill: "rank",
        fillOpacity: 0.8,
      }),
    ],
  });
}

/**
 * Daily precision@k (and the entity's, when measured) of one model, or of
 * several named models; null when the metrics have no days.
 *
 * @param metrics one run's metrics, or metrics by name
 * @returns the SVG, or null
 *
 * @example
 * ```ts
 * import { exampleRun } from "../testing/examples.ts";
 * import { dailyPrecisionPlot } from "./eval_plots.ts";
 * const run = await exampleRun();
 * const svg = dailyPrecisionPlot({ logreg: run.test });
 * console.log(svg !== null); // true (a time split has days)
 * ```
 */
export function dailyPrecisionPlot(
  metrics: EvalMetrics | Record<string, EvalMetrics>,
): string | null {
  const named: Record<string, EvalMetrics> = "atThreshold" in metrics
    ? { "": metrics as EvalMetrics }
    : metrics as Record<string, EvalMetrics>;
  const data: { day: Date; precision: number; metric: string }[] = [];
  let k = 0;
  for (const [name, m] of Object.entries(named)) {
    const daily = m.dailyPrecisionAtK;
    if (!daily) continue;
    k = daily.k;
    const prefix = name ? `${name}: ` : "";
    for (const d of daily.days) {
      data.push({
        day: new Date(d.day),
        precision: d.precision,
        metric: `${prefix}precision@${k}`,
      });
    }
    for (const d of m.entityPrecisionAtK?.days ?? []) {
      data.push({
        day: new Date(d.day),
        precision: d.precision,
        metric: `${prefix}${entityMetricName(m)}`,
      });
    }
  }
  if (data.length === 0) return null;
  return plotSvg({
    width: 500,
    height: 320,
    grid: true,
    x: { label: "day (UTC)", type: "utc" },
    y: { label: "precision", domain: [0, 1] },
    color: { legend: true, scheme: "tableau10" },
    marks: [Plot.line(data, { x: "day", y: "precision", stroke: "metric", marker: "circle" })],
  });
}

/**
 * Fraud rate per group as bars (in the given order), with each group's
 * row count under the axis label: how fraud moves with hour, weekday, or a
 * feature's bucket.
 *
 * @param rates what `fraudRateBy` returns
 * @param options axis label and width
 * @returns the SVG
 *
 * @example
 * ```ts
 * import { fraudRateBy } from "../data/profile.ts";
 * import { fraudRatePlot } from "./eval_plots.ts";
 * const rates = fraudRateBy([0, 1, 0, 0], ["night", "night", "day", "day"]);
 * console.log(fraudRatePlot(rates, { label: "time of day" }).length > 0); // true
 * ```
 */
export function fraudRatePlot(
  rates: { group: string | number; rows: number; rate: number }[],
  options: { label?: string; width?: number } = {},
): string {
  const data = rates.map((r) => ({ group: String(r.group), rate: r.rate, rows: r.rows }));
  return plotSvg({
    width: options.width ?? 640,
    height: 280,
    marginLeft: 60,
    x: { label: options.label ?? null, domain: data.map((d) => d.group) },
    y: { label: "fraud rate", grid: true, tickFormat: "%" },
    marks: [
      Plot.barY(data, { x: "group", y: "rate", fill: "#d1372c", fillOpacity: 0.75 }),
      Plot.ruleY([0]),
    ],
  });
}

/**
 * A search's results: each configuration's mean fold metric with a bar of ±
 * one standard deviation, against its value of `param` (or its index).
 *
 * @param points one per configuration: x, mean, std, whether it is the best
 * @param labels the axes' labels
 * @returns the SVG
 *
 * @example
 * ```ts
 * import { searchPlot } from "./eval_plots.ts";
 * const svg = searchPlot([{ x: 2, mean: 0.5, std: 0.02, best: false }, { x: 5, mean: 0.55, std: 0.05, best: true }], { x: "maxDepth", y: "AP" });
 * console.log(svg.length > 0); // true
 * ```
 */
export function searchPlot(
  points: { x: number; mean: number; std: number; best: boolean }[],
  labels: { x: string; y: string },
): string {
  const data = points.map((p) => ({ ...p, lo: p.mean - p.std, hi: p.mean + p.std }));
  return plotSvg({
    width: 500,
    height: 300,
    marginLeft: 60,
    grid: true,
    x: { label: labels.x },
    y: { label: `${labels.y} (mean over folds ± sd)` },
    marks: [
      Plot.ruleX(data, { x: "x", y1: "lo", y2: "hi", stroke: "#888" }),
      Plot.dot(data, { x: "x", y: "mean", fill: (d) => (d.best ? "#d62728" : "#1f77b4"), r: 4 }),
    ],
  });
}

/**
 * Reliability diagram: per bin of calibrated probability, the fraud share
 * observed against the mean predicted, one line per part, and the diagonal.
 *
 * @param series per part (validation, test), its bins
 * @returns the SVG
 *
 * @example
 * ```ts
 * import { reliabilityPlot } from "./eval_plots.ts";
 * const bin = { from: 0, to: 0.1, rows: 90, predicted: 0.02, observed: 0.03 };
 * console.log(reliabilityPlot({ test: [bin] }).length > 0); // true
 * ```
 */
export function reliabilityPlot(
  series: Record<string, { predicted: number; observed: number; rows: number }[]>,
): string {
  const names = Object.keys(series);
  const data = names.flatMap((n) => series[n].map((b) => ({ ...b, part: n })));
  return plotSvg({
    width: 500,
    height: 300,
    marginLeft: 60,
    grid: true,
    x: { label: "mean predicted probability", domain: [0, 1] },
    y: { label: "observed fraud share", domain: [0, 1] },
    color: { legend: true, domain: names, scheme: "tableau10" },
    marks: [
      Plot.line([[0, 0], [1, 1]], { stroke: "#bbb", strokeDasharray: "4,3" }),
      Plot.line(data, { x: "predicted", y: "observed", stroke: "part", marker: "circle" }),
    ],
  });
}
