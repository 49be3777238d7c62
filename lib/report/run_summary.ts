/**
 * What the train and import tasks print about a fresh run: its id, model
 * and threshold, validation and test metrics side by side, daily and
 * entity precision@k, timings, and where the run and its report are.
 * @module
 */
import { entityMetricName } from "../eval/evaluate.ts";
import { headline, type TrainResult } from "../registry/runs.ts";
import { table } from "../util/table.ts";
import { fmt } from "./html.ts";

/**
 * The summary lines of a run.
 *
 * @param result the run
 * @param report the path of its HTML report
 * @returns lines to print
 */
export function runSummary(result: TrainResult, report: string): string[] {
  const v = headline(result.validation), t = headline(result.test);
  const rows = Object.keys(t).map((k) => [k, fmt(v[k]), fmt(t[k])]);
  const lines = [
    `\nrun ${result.id} (${result.config.model}, threshold ${
      fmt(result.threshold.threshold)
    } by ${result.threshold.strategy})`,
    table(["metric", "validation", "test"], rows),
  ];
  const daily = result.test.dailyPrecisionAtK, entity = result.test.entityPrecisionAtK;
  if (daily) {
    lines.push(
      `daily precision@${result.config.k}: ` +
        daily.days.map((d) => `${d.day} ${fmt(d.precision, 2)}`).join(", "),
    );
  }
  if (entity) {
    lines.push(
      `${entityMetricName(result.test)}: ` +
        entity.days.map((d) => `${d.day} ${fmt(d.precision, 2)}`).join(", "),
    );
  }
  for (const w of result.warnings) lines.push(`warning: ${w.message}`);
  lines.push(
    `timings: ${Object.entries(result.timings).map(([k, s]) => `${k} ${s}`).join(", ")}`,
    `run:    ${result.dir}\nreport: ${report}`,
  );
  return lines;
}

/** The JSON line the train and import tasks end with under `--json`. */
export function runSummaryJson(result: TrainResult, report: string): Record<string, unknown> {
  return {
    run_id: result.id,
    dir: result.dir,
    report,
    model: result.config.model,
    threshold: { strategy: result.threshold.strategy, value: result.threshold.threshold },
    validation: headline(result.validation),
    test: headline(result.test),
    dailyPrecisionAtK: result.test.dailyPrecisionAtK?.mean ?? null,
    entityPrecisionAtK: result.test.entityPrecisionAtK?.mean ?? null,
    warnings: result.warnings,
    timings: result.timings,
  };
}
