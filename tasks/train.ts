/**
 * `deno task train --data FILE --spec S --model KIND [--param k=v]...
 *   [--split time --train-days N --delay-days N --test-days N [--test-end DATE]
 *    | --split random --test-frac F | --split mod5 | --split prefix --train-frac F]
 *   [--seed N] [--threshold STRATEGY] [--config FILE] [--json]
 *   [--promote-if-better METRIC[:MARGIN]] [--register-as NAME]`
 *
 * Trains one run, writes it under artifacts/runs/<run-id>/ and its report
 * under reports/runs/<run-id>.html, prints a summary (with --json, the last
 * stdout line is one JSON object).
 */
import { kindNames } from "../lib/models/mod.ts";
import {
  readRunConfig,
  RUN_CONFIG_FLAGS,
  RUN_CONFIG_SCHEMA,
  type RunConfigInput,
} from "../lib/registry/config.ts";
import { applyFlags, configFlagSpecs } from "../lib/util/config.ts";
import { parsePromotionRule } from "../lib/registry/aliases.ts";
import { writeEvalReport } from "../lib/report/eval_report.ts";
import { UserError } from "../lib/util/errors.ts";
import { parseFlags, runTask } from "../lib/util/cli.ts";
import { runSummary, runSummaryJson } from "../lib/report/run_summary.ts";
import { promoteIfBetter, trainRun } from "../lib/jobs/train.ts";

await runTask(async (args) => {
  const flags = parseFlags(args, {
    ...configFlagSpecs(RUN_CONFIG_SCHEMA, RUN_CONFIG_FLAGS),
    param: { type: "string", multiple: true, help: "a model parameter k=v (repeatable)" },
    config: { type: "string", help: "a run config JSON (e.g. a run's config.json); flags win" },
    json: { type: "boolean", default: false, help: "last stdout line is one JSON object" },
    quiet: { type: "boolean", default: false, help: "no progress lines" },
    "promote-if-better": {
      type: "string",
      help: "METRIC[:MARGIN]: promote when it beats the champion on the same test rows",
    },
    "register-as": { type: "string", help: "model name for the promotion (default the spec name)" },
  }, {
    usage: "deno task train --data FILE [--spec S] [--model KIND] [flags]",
    about:
      "One run: fit on training rows, threshold on validation rows, test metrics, report. The flags set keys of the run config (lib/registry/config.ts), whose schema gives their defaults.",
    examples: [
      "deno task train --data data/demo.parquet --spec txsim --model logreg --split time --train-days 21",
      "deno task train --config artifacts/runs/RUN/config.json",
    ],
  });
  const input: RunConfigInput = flags.config ? await readRunConfig(flags.config as string) : {};
  // Another model's parameters do not carry over; another split method's keys neither.
  const given = flags as Record<string, unknown>;
  if (given.model && input.model && input.model !== given.model) input.params = {};
  if (given.split && input.split?.method !== given.split) input.split = {};
  applyFlags(input as Record<string, unknown>, { values: given, flags: RUN_CONFIG_FLAGS });
  if (flags.param) {
    const params: Record<string, unknown> = { ...(input.params ?? {}) };
    for (const p of flags.param as string[]) {
      const eq = p.indexOf("=");
      if (eq <= 0) {
        throw new UserError(
          `--param: expected key=value, got "${p}" (kinds: ${kindNames().join(", ")})`,
        );
      }
      params[p.slice(0, eq)] = p.slice(eq + 1);
    }
    input.params = params as RunConfigInput["params"];
  }
  const rule = flags["promote-if-better"] ? parsePromotionRule(flags["promote-if-better"]) : null;

  const log = (line: string) => {
    if (!flags.json) console.log(line);
    else console.error(line);
  };
  const result = await trainRun(input, { quiet: flags.quiet, log });
  const report = await writeEvalReport(result.dir);
  let promotion = null;
  if (rule) promotion = await promoteIfBetter(result, rule, { model: flags["register-as"] });

  for (const line of runSummary(result, report)) log(line);
  if (promotion) {
    log(`${promotion.promoted ? "promoted" : "not promoted"}: ${promotion.reason}`);
  }
  if (flags.json) console.log(JSON.stringify({ ...runSummaryJson(result, report), promotion }));
});
