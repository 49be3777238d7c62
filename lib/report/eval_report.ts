/**
 * The evaluation report of a run: one static, self-contained HTML page with
 * Observable Plot SVGs (PR and ROC curves, score distributions by class, the
 * confusion matrix at the chosen threshold, cost and alert-budget curves,
 * top contributing features, daily precision@k) and a model card. Built from
 * the run directory alone.
 * @module
 */
import { join } from "node:path";
import { entityMetricName, type EvalCurves, type EvalMetrics } from "../eval/evaluate.ts";
import type { ChosenThreshold } from "../eval/threshold.ts";
import type { RunConfig } from "../registry/config.ts";
import type { TuneMetric, TuneReport } from "../registry/runs.ts";
import type { ContributionSummary, FeatureContribution } from "../models/explain.ts";
import { reportsRoot, writeAtomic } from "../registry/store.ts";
import { escapeHtml, figure, fmt, htmlTable, page } from "./html.ts";
import { recordReport } from "./index_page.ts";
import {
  confusionPlot,
  contributionSummaryPlot,
  curvePlot,
  dailyPrecisionPlot,
  featurePlot,
  prPlot,
  reliabilityPlot,
  rocPlot,
  scoreHistogramPlot,
  searchPlot,
} from "./eval_plots.ts";
import { metricTable } from "./display.ts";
import { getKind } from "../models/mod.ts";

async function readJson<T>(dir: string, name: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(join(dir, name))) as T;
}

/** A run file when it is there (optional files: tune.json), else null. */
async function readOptional<T>(dir: string, name: string): Promise<T | null> {
  try {
    return await readJson<T>(dir, name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

const TUNE_LABELS: Record<TuneMetric, string> = {
  ap: "AP",
  auc: "ROC-AUC",
  cp100: "card precision@k",
};

/** The model-selection section of a tuned run: the search as a table and plotted. */
function searchSection(tune: TuneReport): string {
  const names = [...new Set(tune.results.flatMap((r) => Object.keys(r.params)))];
  const numeric = names.find((n) => tune.results.every((r) => typeof r.params[n] === "number"));
  const points = tune.results.map((r, i) => ({
    x: numeric ? Number(r.params[numeric]) : i,
    mean: r.mean[tune.metric],
    std: r.std[tune.metric],
    best: i === tune.best,
  }));
  const ms = (m: TuneMetric, r: TuneReport["results"][number]) =>
    `${fmt(r.mean[m])} ± ${fmt(r.std[m])}`;
  return `<h2>Model selection</h2>
<p>${escapeHtml(tune.search)} search over ${tune.results.length} configurations of ${
    escapeHtml(tune.model)
  } on ${tune.folds.length} prequential folds (${
    tune.folds.map((f) =>
      `train ${f.train[0]}..${f.train[1]}, assess ${f.assess[0]}..${f.assess[1]}`
    )
      .map(escapeHtml).join("; ")
  }), best by ${TUNE_LABELS[tune.metric]}, refitted as this run; ${fmt(tune.seconds)} s.</p>
${
    figure(
      `${TUNE_LABELS[tune.metric]} against ${numeric ?? "configuration"}`,
      searchPlot(points, { x: numeric ?? "configuration", y: TUNE_LABELS[tune.metric] }),
      "red: the configuration refitted",
    )
  }
${
    htmlTable(
      ["", ...names, "AP", "ROC-AUC", "card precision@k", "seconds"],
      tune.results.map((r, i) => [
        i === tune.best ? "best" : "",
        ...names.map((n) => String(r.params[n] ?? "")),
        ms("ap", r),
        ms("auc", r),
        ms("cp100", r),
        fmt(r.seconds),
      ]),
    )
  }`;
}

/** Writes `reports/runs/<run-id>.html` for a run directory; returns its path. */
export async function writeEvalReport(runDir: string, root = reportsRoot()): Promise<string> {
  const run = await readJson<
    { id: string; kind: string; created: string; warnings?: { kind: string; message: string }[] }
  >(runDir, "run.json");
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
  const tune = await readOptional<TuneReport>(runDir, "tune.json");
  const explain = await readJson<
    {
      explains: string;
      rows: number;
      features: FeatureContribution[];
      summary?: ContributionSummary;
    }
  >(
    runDir,
    "explain.json",
  );
  const code = await readJson<{ git: string; dirty: boolean | null }>(runDir, "code.json");
  const kind = getKind(config.model);
  const t = metrics.test, v = metrics.validation;
  const thr = Number(threshold.threshold);
  const prevalence = t.positives / Math.max(t.rows, 1);
  const figures = [
    figure(
      "Precision–recall",
      prPlot({ validation: curves.validation.pr, test: curves.test.pr }, prevalence),
      `AP test ${fmt(t.averagePrecision)}; dashed line: fraud rate ${fmt(prevalence)}`,
    ),
    figure(
      "ROC",
      rocPlot({ validation: curves.validation.roc, test: curves.test.roc }),
      `ROC-AUC test ${fmt(t.rocAuc)}`,
    ),
    figure(
      "Test score distribution by class",
      scoreHistogramPlot(curves.test.histogram),
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
  const daily = dailyPrecisionPlot(t);
  if (daily) figures.push(figure(`Daily precision@${t.k} (test)`, daily));
  if (t.calibration && v.calibration) {
    figures.push(figure(
      `Reliability (${t.calibration.method} calibration)`,
      reliabilityPlot({
        validation: v.calibration.reliability.bins,
        test: t.calibration.reliability.bins,
      }),
      `fitted on the validation rows; Brier score validation ${fmt(v.calibration.brier)}, test ${
        fmt(t.calibration.brier)
      }; dashed: perfect calibration`,
    ));
  }
  // Global importance: mean |contribution| over evenly spaced test rows
  // (mean |SHAP| for tree kinds), beside the trees' split gain and cover.
  const fit = await readJson<{ gainImportance?: number[]; coverImportance?: number[] }>(
    runDir,
    "fit.json",
  );
  let importance = "";
  if (explain.summary) {
    const summary = explain.summary;
    const columns = (await readJson<{ columns: string[] }>(runDir, "pipeline.json")).columns;
    const share = (xs: number[] | undefined, name: string) => {
      const j = columns.indexOf(name), total = (xs ?? []).reduce((a, b) => a + b, 0);
      return xs && j >= 0 && total > 0 ? fmt(xs[j] / total) : "–";
    };
    const top = summary.features.slice(0, 15);
    const what = fit.gainImportance ? "mean |SHAP|" : "mean |contribution|";
    figures.push(
      figure(
        `Global importance: ${what}`,
        featurePlot(
          top.map((f) => ({ ...f, meanContribution: f.meanAbsContribution })),
          { label: `${what} over ${summary.rows} test rows` },
        ),
        `${explain.explains}; every feature's average size over ${summary.rows} test rows spread evenly`,
      ),
      figure(
        "Contribution summary (test)",
        contributionSummaryPlot(summary, {
          label: fit.gainImportance ? "SHAP value (log-odds)" : "contribution",
        }),
        `${summary.rows} test rows binned by contribution: dot size = rows, colour = their mean rank of the feature's value (blue low, red high), grey = missing`,
      ),
    );
    importance = `<h2>Global importance</h2>
${
      htmlTable(
        ["feature", what, "mean contribution", "split gain share", "cover share"],
        top.map((f) => [
          f.feature,
          fmt(f.meanAbsContribution),
          fmt(f.meanContribution),
          share(fit.gainImportance, f.feature),
          share(fit.coverImportance, f.feature),
        ]),
      )
    }`;
  }
  const card = `
<h2>Model card</h2>
${
    htmlTable(["", ""], [
      [
        "model",
        `${config.model} (${
          Object.entries(config.params).map(([k, v]) => `${k}=${v}`).join(", ")
        }): ${kind.description}`,
      ],
      ["learns from", kind.supervised ? "labels (supervised)" : "unlabeled rows (unsupervised)"],
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
        } rows of one dataset version; performance drifts as spending and attackers change (monitor with drift reports); ${kind.limits}`,
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
      ? ` · ${escapeHtml(entityMetricName(t))} ${fmt(t.entityPrecisionAtK.mean)}`
      : ""
  }</p>
${
    run.warnings?.length
      ? `<h2>Warnings</h2>\n<ul>${
        run.warnings.map((w) => `<li>${escapeHtml(w.message)}</li>`).join("")
      }</ul>`
      : ""
  }
<h2>Metrics</h2>
${htmlTable(...metricTable({ validation: v, test: t }))}
<h2>Plots</h2>
<div class="grid">${figures.join("\n")}</div>
${tune ? searchSection(tune) : ""}
${importance}
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
