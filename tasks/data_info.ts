/**
 * `deno task data:info --data FILE --spec NAME|spec.json [--json]`:
 * prints a dataset's version, profile and data-quality warnings.
 */
import { dataInfo, formatDataInfo, loadSpec, UserError } from "../lib/mod.ts";
import { parseFlags, runTask } from "../lib/util/cli.ts";

await runTask(async (args) => {
  const flags = parseFlags(args, {
    data: { type: "string", help: "the data file (CSV or Parquet)" },
    spec: {
      type: "string",
      help: "dataset spec: a built-in name (txsim, creditcard, payment_fraud) or a spec.json",
    },
    json: { type: "boolean", default: false, help: "print { version, profile } as JSON" },
  }, {
    usage: "deno task data:info --data FILE --spec S [--json]",
    about: "Dataset version, profile and data-quality and label-leakage warnings.",
    examples: ["deno task data:info --data data/demo.parquet --spec txsim"],
  });
  if (!flags.data) throw new UserError("--data FILE is required (a .csv or .parquet file)");
  if (!flags.spec) {
    throw new UserError(
      "--spec NAME|path.json is required (built-in: txsim, creditcard, payment_fraud)",
    );
  }
  const { version, profile } = await dataInfo(flags.data, await loadSpec(flags.spec));
  if (flags.json) console.log(JSON.stringify({ version, profile }, null, 2));
  else console.log(formatDataInfo({ version, profile }));
});
