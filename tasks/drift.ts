/**
 * `deno task drift --ref (FILE | run:ID | champion | NAME@ALIAS) --cur (FILE | log:WINDOW)
 *   [--log PATH] [--spec S] [--since YYYY-MM-DD] [--out reports/drift/NAME.html] [--json]
 *   [--test COLUMN=TEST[:THRESHOLD]]... [--drift-share X] [--config FILE]`
 *
 * Compares a current file with a reference: a run's stored profile (its fit
 * rows and validation scores, so prediction drift is included), a stored
 * profile JSON, or a reference data file (profiled on the fly; needs
 * --spec). `--cur log:24h` (m, h or d) or `log:FROM..TO` monitors the
 * requests the scoring server logged in that window (`--log`, default
 * $FRAUDLAB_LOG or artifacts/predictions.sqlite). Writes a static HTML report, its JSON beside it, and an entry in
 * reports/index.html.
 *
 * Exit codes: 0 no drift, 3 drift (dataset, prediction or target drift),
 * 2 user error. With --since, rows before that day only feed the velocity
 * features' entity history and are not monitored.
 */
import {
  DRIFT_JOB_FLAGS,
  DRIFT_JOB_SCHEMA,
  resolveDriftJob,
  runDriftJob,
} from "../lib/jobs/drift.ts";
import { applyFlags, configFlagSpecs } from "../lib/util/config.ts";
import { type ColumnOverride, describeResult } from "../lib/drift/compare.ts";
import { DRIFT_TESTS, type DriftTestName } from "../lib/drift/tests.ts";
import { driftVerdict } from "../lib/report/drift_report.ts";
import { table } from "../lib/util/table.ts";
import { fmt } from "../lib/report/html.ts";
import { UserError } from "../lib/util/errors.ts";
import { parseFlags, runTask } from "../lib/util/cli.ts";

/** Exit code when drift is detected. */
const EXIT_DRIFT = 3;

async function readConfig(path: string): Promise<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UserError(`--config ${path}: no such file`);
    throw new UserError(`--config ${path}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UserError(`--config ${path}: expected a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Parses `COLUMN=TEST[:THRESHOLD]`. */
function parseTestFlag(value: string): [string, ColumnOverride] {
  const m = /^([^=]+)=([a-z]+)(?::(.+))?$/.exec(value);
  if (!m) {
    throw new UserError(`--test ${value}: expected COLUMN=TEST[:THRESHOLD], e.g. amount=psi:0.2`);
  }
  const [, column, test, threshold] = m;
  if (!DRIFT_TESTS.includes(test as DriftTestName)) {
    throw new UserError(
      `--test ${value}: unknown test "${test}" (known: ${DRIFT_TESTS.join(", ")})`,
    );
  }
  const override: ColumnOverride = { test: test as DriftTestName };
  if (threshold !== undefined) {
    const t = Number(threshold);
    if (!(Number.isFinite(t) && t > 0)) {
      throw new UserError(`--test ${value}: threshold must be a positive number`);
    }
    override.threshold = t;
  }
  return [column, override];
}

await runTask(async (args) => {
  const flags = parseFlags(args, {
    ...configFlagSpecs(DRIFT_JOB_SCHEMA, DRIFT_JOB_FLAGS),
    json: { type: "boolean", default: false, help: "print the result as JSON" },
    test: {
      type: "string",
      multiple: true,
      default: [],
      help: "COLUMN=TEST[:THRESHOLD] overrides a column's test",
    },
    config: { type: "string", help: "a JSON drift config (flags win)" },
  }, {
    usage: "deno task drift --ref REF --cur (FILE | log:WINDOW) [flags]",
    about:
      "Data, prediction and target drift against a reference profile; exit 0 no drift, 3 drift, 2 user error.",
    examples: [
      "deno task drift --ref txsim@champion --cur data/month.parquet",
      "deno task drift --ref champion --cur log:24h",
    ],
  });
  const config = flags.config ? await readConfig(flags.config as string) : {};
  const input = applyFlags({ ...config }, {
    values: flags as Record<string, unknown>,
    flags: DRIFT_JOB_FLAGS,
  });
  const columns = { ...(input.columns as Record<string, ColumnOverride> | undefined) };
  for (const t of flags.test as string[]) {
    const [column, override] = parseTestFlag(t);
    columns[column] = override;
  }
  input.columns = columns;
  const job = resolveDriftJob(input);
  const { result, report, seconds } = await runDriftJob(job);
  if (flags.json) {
    const { columns, ...rest } = result;
    console.log(JSON.stringify({
      ...rest,
      columns: columns.map(({ plot: _plot, ...c }) => c),
      report: report.html,
      seconds,
      exitCode: result.drift ? EXIT_DRIFT : 0,
    }));
  } else {
    console.log(driftVerdict(result));
    for (const reason of result.reasons) console.log(`  - ${reason}`);
    for (const w of result.warnings) console.log(`  warning: ${w}`);
    console.log(table(
      ["column", "test", "result", "drift", "data quality"],
      result.columns.map((c) => [
        c.column,
        c.result ? c.result.test : "–",
        c.result ? describeResult(c.result) : (c.note ?? "–"),
        c.drifted ? "DRIFT" : "no",
        c.quality.flags.join("; ") || "–",
      ]),
    ));
    console.log(
      `report: ${report.html} (${fmt(seconds, 2)} s; JSON ${report.json}; index ${report.index})`,
    );
  }
  if (result.drift) Deno.exit(EXIT_DRIFT);
});
