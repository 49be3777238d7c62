/**
 * `deno task data:info --data FILE --spec NAME|spec.json [--json]`:
 * prints a dataset's version, profile and data-quality warnings.
 */
import { dataInfo, formatDataInfo, loadSpec, UserError } from "../lib/mod.ts";
import { parseFlags, runTask } from "../lib/util/cli.ts";

await runTask(async (args) => {
  const flags = parseFlags(args, {
    data: { type: "string" },
    spec: { type: "string" },
    json: { type: "boolean", default: false },
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
