/**
 * `deno task monitor [--window log:7d] [--log PATH] [--by day|version] [--json]`
 *
 * Realized performance of the scoring server from its prediction log and
 * the late labels sent to /v1/feedback: per UTC day and model version, the
 * predictions, alerts and alert rate, how many have a label so far, and
 * among those the confusion counts, precision (labeled alerts that were
 * fraud) and recall (labeled frauds that were alerted). Labels arrive late:
 * recent days rest on few labels, which the coverage column shows.
 */
import { type MonitorLine, runCompareJob, runMonitorJob } from "../lib/jobs/monitor.ts";
import { table } from "../lib/util/table.ts";
import { fmt } from "../lib/report/html.ts";
import { UserError } from "../lib/util/errors.ts";
import { parseFlags, runTask } from "../lib/util/cli.ts";
import { percent } from "../lib/util/format.ts";

const pct = (v: number) => percent(v, 2);

await runTask((args) => {
  const flags = parseFlags(args, {
    window: {
      type: "string",
      default: "log:7d",
      help: "log window: log:7d, log:24h, log:FROM..TO",
    },
    log: {
      type: "string",
      help: "prediction log (default $FRAUDLAB_LOG or artifacts/predictions.sqlite)",
    },
    by: { type: "string", default: "day", help: "day or version" },
    compare: {
      type: "string",
      help:
        "served,shadow: the served model against the shadow (serve --shadow) on the same transactions",
    },
    json: { type: "boolean", default: false, help: "print everything as JSON" },
  }, {
    usage: "deno task monitor [--window log:7d] [--log FILE] [--by day|version] [--json]",
    about:
      "Alert rate, label coverage, precision and recall of the served models from the prediction log and the labels sent back.",
    examples: ["deno task monitor --window log:24h"],
  });
  if (flags.compare !== undefined) {
    if (!/^(served|champion),(shadow|challenger)$/.test(flags.compare as string)) {
      throw new UserError(
        `--compare: expected served,shadow (or champion,challenger), got "${flags.compare}"`,
      );
    }
    const { path, comparison: c } = runCompareJob({
      window: flags.window as string,
      log: flags.log as string | undefined,
    });
    if (flags.json) {
      console.log(JSON.stringify(c));
      return;
    }
    console.log(
      `${path}, ${c.window.label}: ${fmt(c.transactions)} transactions scored by both, ${
        fmt(c.labeled)
      } labeled (${fmt(c.frauds)} frauds)`,
    );
    const keys = [
      "alertRate",
      "averagePrecision",
      "rocAuc",
      "recallAt1pctFpr",
      "precision",
      "recall",
    ] as const;
    console.log(table(
      ["", `served: ${c.served.model}`, `shadow: ${c.shadow.model}`, "shadow − served"],
      keys.map((k) => {
        const a = c.served[k], b = c.shadow[k];
        return [k, fmt(a), fmt(b), a === null || b === null ? "" : fmt(b - a)];
      }),
    ));
    return;
  }
  const by = flags.by as string;
  if (by !== "day" && by !== "version") {
    throw new UserError(`--by: expected day or version, got "${by}"`);
  }
  const { path, window, report } = runMonitorJob({
    window: flags.window as string,
    log: flags.log as string | undefined,
  });
  if (flags.json) {
    console.log(JSON.stringify(report, (_k, v) => (Number.isNaN(v) ? null : v)));
    return;
  }
  const { from, to } = report.window;
  console.log(`prediction log ${path}, ${window.label}: ${from} .. ${to}`);
  if (report.total.predictions === 0) {
    console.log("no predictions in this window");
    return;
  }
  const lines: MonitorLine[] = by === "day" ? report.days : report.versions;
  console.log(table(
    [
      by === "day" ? "day" : "window",
      "model",
      "predictions",
      "alerts",
      "alert rate",
      "labeled",
      "coverage",
      "tp",
      "fp",
      "fn",
      "precision",
      "recall",
      "mean score",
    ],
    lines.map((l) => [
      l.day ?? "all",
      `${l.model} v${l.version}`,
      String(l.predictions),
      String(l.alerts),
      pct(l.alertRate),
      String(l.labeled),
      pct(l.labelCoverage),
      String(l.tp),
      String(l.fp),
      String(l.fn),
      pct(l.precision),
      pct(l.recall),
      fmt(l.meanScore, 4),
    ]),
  ));
  const t = report.total;
  console.log(
    `total: ${t.predictions} predictions, ${t.alerts} alerts (${pct(t.alertRate)}), ` +
      `${t.labeled} labeled (${pct(t.labelCoverage)}): precision ${pct(t.precision)}, ` +
      `recall ${pct(t.recall)}`,
  );
  if (report.unmatchedFeedback > 0) {
    console.log(
      `note: ${report.unmatchedFeedback} labels received in the window match no logged prediction`,
    );
  }
});
