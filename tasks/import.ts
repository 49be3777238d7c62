/**
 * `deno task import --xgboost MODEL.json --data FILE --spec S [split and
 *   threshold flags] [--json]`
 *
 * Turns a model saved by XGBoost's `save_model` (JSON, binary:logistic,
 * the spec's numeric columns in order) into a fraudlab run: evaluated on
 * FILE with the split's validation rows choosing the threshold and its
 * test rows measuring it, then promotable and served like any gbdt run.
 */
import {
  RUN_CONFIG_FLAGS,
  RUN_CONFIG_SCHEMA,
  type RunConfigInput,
} from "../lib/registry/config.ts";
import { applyFlags, configFlagSpecs } from "../lib/util/config.ts";
import { writeEvalReport } from "../lib/report/eval_report.ts";
import { runSummary, runSummaryJson } from "../lib/report/run_summary.ts";
import { UserError } from "../lib/util/errors.ts";
import { parseFlags, runTask } from "../lib/util/cli.ts";
import { importXgboostRun } from "../lib/jobs/import.ts";

// The model is the file's: no --model or --param.
const FLAGS = RUN_CONFIG_FLAGS.filter((f) => f.flag !== "model");

await runTask(async (args) => {
  const flags = parseFlags(args, {
    xgboost: { type: "string", help: "the XGBoost model file (JSON from save_model)" },
    ...configFlagSpecs(RUN_CONFIG_SCHEMA, FLAGS),
    json: { type: "boolean", default: false, help: "last stdout line is one JSON object" },
    quiet: { type: "boolean", default: false, help: "no progress lines" },
  }, {
    usage: "deno task import --xgboost MODEL.json --data FILE [--spec S] [flags]",
    about:
      "A run from an XGBoost model: its features are the spec's numeric columns in order (missing values go the model's default way); the threshold is chosen on the split's validation rows and the test rows measure it. Pass data the model was not trained on, or a split whose test rows it never saw.",
    examples: [
      "deno task import --xgboost model.json --data data/claims.csv --spec claims.json --split prefix --train-frac 0.5",
    ],
  });
  if (!flags.xgboost) throw new UserError("--xgboost: required (the model file)");
  const input: RunConfigInput = {};
  applyFlags(input as Record<string, unknown>, {
    values: flags as Record<string, unknown>,
    flags: FLAGS,
  });
  const log = (line: string) => (flags.json ? console.error(line) : console.log(line));
  const result = await importXgboostRun(flags.xgboost as string, input, {
    quiet: flags.quiet as boolean,
    log,
  });
  const report = await writeEvalReport(result.dir);
  for (const line of runSummary(result, report)) log(line);
  if (flags.json) console.log(JSON.stringify(runSummaryJson(result, report)));
});
