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
import { readRunConfig, type RunConfigInput } from "../lib/registry/config.ts";
import { headline } from "../lib/registry/runs.ts";
import { parsePromotionRule } from "../lib/registry/aliases.ts";
import { writeEvalReport } from "../lib/report/eval_report.ts";
import { table } from "../lib/data/profile.ts";
import { UserError } from "../lib/util/errors.ts";
import { parseFlags, runTask } from "../lib/util/cli.ts";
import { fmt } from "../lib/report/html.ts";
import { promoteIfBetter, trainRun } from "../lib/jobs/train.ts";

await runTask(async (args) => {
  const flags = parseFlags(args, {
    data: { type: "string" },
    spec: { type: "string" },
    model: { type: "string" },
    param: { type: "string", multiple: true },
    split: { type: "string" },
    "train-days": { type: "string" },
    "delay-days": { type: "string" },
    "test-days": { type: "string" },
    "test-end": { type: "string" },
    "test-frac": { type: "string" },
    "train-frac": { type: "string" },
    seed: { type: "string" },
    threshold: { type: "string" },
    config: { type: "string" },
    json: { type: "boolean", default: false },
    quiet: { type: "boolean", default: false },
    "promote-if-better": { type: "string" },
    "register-as": { type: "string" },
  });
  const input: RunConfigInput = flags.config ? await readRunConfig(flags.config) : {};
  if (flags.data) input.data = flags.data;
  if (flags.spec) input.spec = flags.spec;
  if (flags.model) {
    if (input.model && input.model !== flags.model) input.params = {};
    input.model = flags.model;
  }
  if (!input.model) input.model = "iforest";
  if (flags.param) {
    const params: Record<string, unknown> = { ...(input.params ?? {}) };
    for (const p of flags.param) {
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
  const split: Record<string, unknown> = { ...(input.split ?? {}) };
  if (flags.split) {
    for (const k of Object.keys(split)) delete split[k];
    split.method = flags.split;
  }
  const setNum = (flag: string, key: string) => {
    const v = (flags as Record<string, unknown>)[flag];
    if (v !== undefined) split[key] = v;
  };
  setNum("train-days", "trainDays");
  setNum("delay-days", "delayDays");
  setNum("test-days", "testDays");
  setNum("test-frac", "testFraction");
  setNum("train-frac", "trainFraction");
  if (flags["test-end"]) split.testEnd = flags["test-end"];
  input.split = split as RunConfigInput["split"];
  if (flags.seed !== undefined) {
    if (!/^\d+$/.test(flags.seed)) {
      throw new UserError(`--seed: expected a whole number >= 0, got "${flags.seed}"`);
    }
    input.seed = Number(flags.seed);
  }
  if (flags.threshold) input.threshold = flags.threshold;
  const rule = flags["promote-if-better"] ? parsePromotionRule(flags["promote-if-better"]) : null;

  const log = (line: string) => {
    if (!flags.json) console.log(line);
    else console.error(line);
  };
  const result = await trainRun(input, { quiet: flags.quiet, log });
  const report = await writeEvalReport(result.dir);
  let promotion = null;
  if (rule) promotion = await promoteIfBetter(result, rule, { model: flags["register-as"] });

  const v = headline(result.validation), t = headline(result.test);
  const rows = Object.keys(t).map((k) => [k, fmt(v[k]), fmt(t[k])]);
  log(
    `\nrun ${result.id} (${result.config.model}, threshold ${
      fmt(result.threshold.threshold)
    } by ${result.threshold.strategy})`,
  );
  log(table(["metric", "validation", "test"], rows));
  if (result.test.dailyPrecisionAtK) {
    log(
      `daily precision@${result.config.k}: ` +
        result.test.dailyPrecisionAtK.days.map((d) => `${d.day} ${fmt(d.precision, 2)}`).join(", "),
    );
  }
  if (result.test.entityPrecisionAtK) {
    log(
      `${result.test.entityPrecisionAtK.entity} precision@${result.config.k}: ` +
        result.test.entityPrecisionAtK.days.map((d) => `${d.day} ${fmt(d.precision, 2)}`).join(
          ", ",
        ),
    );
  }
  log(`timings: ${Object.entries(result.timings).map(([k, s]) => `${k} ${s}`).join(", ")}`);
  log(`run:    ${result.dir}\nreport: ${report}`);
  if (promotion) {
    log(`${promotion.promoted ? "promoted" : "not promoted"}: ${promotion.reason}`);
  }
  if (flags.json) {
    console.log(JSON.stringify({
      run_id: result.id,
      dir: result.dir,
      report,
      model: result.config.model,
      threshold: { strategy: result.threshold.strategy, value: result.threshold.threshold },
      validation: v,
      test: t,
      dailyPrecisionAtK: result.test.dailyPrecisionAtK?.mean ?? null,
      entityPrecisionAtK: result.test.entityPrecisionAtK?.mean ?? null,
      timings: result.timings,
      promotion,
    }));
  }
});
