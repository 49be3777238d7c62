/**
 * `deno task tune --data FILE --spec S --model KIND (--param NAME=v1,v2,... | --search random:N
 *   --param NAME=lo..hi) [--folds 4] [--fold-days N] [--metric ap|auc|cp100]
 *   [--split time --train-days N --delay-days N --test-days N ...] [--json]`
 *
 * Model selection on prequential folds (lib/jobs/tune.ts): prints each
 * configuration's mean ± std per metric, refits the best as one run (its
 * split, threshold and test as `train` makes them) holding the search in
 * tune.json, and writes its report (with the search plotted).
 */
import {
  RUN_CONFIG_FLAGS,
  RUN_CONFIG_SCHEMA,
  type RunConfigInput,
} from "../lib/registry/config.ts";
import { applyFlags, configFlagSpecs } from "../lib/util/config.ts";
import { writeEvalReport } from "../lib/report/eval_report.ts";
import { UserError } from "../lib/util/errors.ts";
import { intFlag, parseFlags, runTask } from "../lib/util/cli.ts";
import { runSummary, runSummaryJson } from "../lib/report/run_summary.ts";
import { parseParamSpace, TUNE_METRICS, type TuneMetric, tuneRun } from "../lib/jobs/tune.ts";
import { table } from "../lib/util/table.ts";

await runTask(async (args) => {
  const flags = parseFlags(args, {
    ...configFlagSpecs(RUN_CONFIG_SCHEMA, RUN_CONFIG_FLAGS),
    param: {
      type: "string",
      multiple: true,
      help: "NAME=v1,v2,... (grid values) or NAME=lo..hi (a random search's range); repeatable",
    },
    search: { type: "string", help: "grid (default) or random:N" },
    folds: { type: "string", help: "prequential folds (default 4)" },
    "fold-days": {
      type: "string",
      help: "days each fold assesses and shifts by (default --test-days)",
    },
    metric: { type: "string", help: "the metric that picks the best: ap (default), auc or cp100" },
    workers: {
      type: "string",
      help: "threads the configurations are spread over (default: the cores)",
    },
    json: { type: "boolean", default: false, help: "last stdout line is one JSON object" },
    quiet: { type: "boolean", default: false, help: "no progress lines" },
  }, {
    usage: "deno task tune --data FILE --spec S --model KIND --param NAME=v1,v2 [flags]",
    about:
      "Grid or random search on prequential folds (the Handbook's chapter 5); the best is refitted as a run.",
    examples: [
      "deno task tune --data data/handbook.parquet --spec handbook --model dt --param maxDepth=2,5,10 --split time --feature-set handbook",
      "deno task tune --data data/tx.parquet --model gbdt --search random:8 --param learningRate=0.03..0.3 --param maxDepth=3..8 --split time",
    ],
  });
  const input: RunConfigInput = {};
  applyFlags(input as Record<string, unknown>, { values: flags, flags: RUN_CONFIG_FLAGS });
  if (!input.split) input.split = { method: "time" };
  const spaces = ((flags.param ?? []) as string[]).map(parseParamSpace);
  if (spaces.length === 0) throw new UserError("--param: at least one NAME=v1,v2 or NAME=lo..hi");
  const search = (flags.search as string | undefined) ?? "grid";
  const random = /^random:(\d+)$/.exec(search);
  if (search !== "grid" && !random) {
    throw new UserError(`--search: expected grid or random:N, got "${search}"`);
  }
  const metric = (flags.metric as string | undefined) ?? "ap";
  if (!(TUNE_METRICS as readonly string[]).includes(metric)) {
    throw new UserError(`--metric: expected ${TUNE_METRICS.join(", ")}, got "${metric}"`);
  }
  const log = (line: string) => (flags.json ? console.error(line) : console.log(line));
  const { report, run } = await tuneRun({
    config: input,
    spaces,
    random: random
      ? intFlag(random[1], { name: "search", fallback: 1, min: 1, max: 10_000 })
      : undefined,
    folds: intFlag(flags.folds as string | undefined, {
      name: "folds",
      fallback: 4,
      min: 1,
      max: 52,
    }),
    foldDays: flags["fold-days"] === undefined ? undefined : intFlag(flags["fold-days"] as string, {
      name: "fold-days",
      fallback: 7,
      min: 1,
      max: 3650,
    }),
    metric: metric as TuneMetric,
    workers: flags.workers === undefined
      ? undefined
      : intFlag(flags.workers as string, { name: "workers", fallback: 1, min: 1, max: 64 }),
  }, { quiet: flags.quiet, log });
  const pct = (m: number, s: number) => `${m.toFixed(3)} ± ${s.toFixed(3)}`;
  log(
    `folds: ${
      report.folds.map((f) =>
        `train ${f.train[0]}..${f.train[1]} assess ${f.assess[0]}..${
          f.assess[1]
        } (${f.frauds} fraud)`
      )
        .join("; ")
    }`,
  );
  log(table(
    ["", "params", "AP", "AUC", "CP@k", "s"],
    report.results.map((r, i) => [
      i === report.best ? "best" : "",
      JSON.stringify(r.params),
      pct(r.mean.ap, r.std.ap),
      pct(r.mean.auc, r.std.auc),
      pct(r.mean.cp100, r.std.cp100),
      r.seconds.toFixed(1),
    ]),
  ));
  log(
    `search: ${report.search} by ${report.metric}, ${report.seconds.toFixed(1)} s; refitted best:`,
  );
  const html = await writeEvalReport(run.dir);
  for (const line of runSummary(run, html)) log(line);
  if (flags.json) {
    console.log(
      JSON.stringify({ ...runSummaryJson(run, html), tune: { ...report, folds: report.folds } }),
    );
  }
});
