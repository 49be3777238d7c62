/**
 * `deno task evaluate --run (RUN | NAME@ALIAS | champion) --data FILE
 *   [--since DAY] [--out scores.parquet|csv] [--json]`: scores another
 * dataset with a stored run (checksums verified; a tampered run is refused),
 * using the run's spec, pipeline, model and threshold, and prints the
 * metrics. The work is the evaluation job (`lib/jobs/evaluate.ts`).
 */
import { runEvaluateJob } from "../lib/jobs/evaluate.ts";
import { table } from "../lib/util/table.ts";
import { fmt } from "../lib/report/html.ts";
import { UserError } from "../lib/util/errors.ts";
import { parseFlags, runTask } from "../lib/util/cli.ts";

await runTask(async (args) => {
  const flags = parseFlags(args, {
    run: { type: "string", help: "the run: RUN id, NAME@ALIAS, NAME@VERSION or an alias" },
    data: { type: "string", help: "data file to score" },
    since: {
      type: "string",
      help: "evaluate rows from this UTC day (YYYY-MM-DD) on; earlier rows feed the history",
    },
    out: { type: "string", help: "write id, score and alert per evaluated row (CSV or Parquet)" },
    json: { type: "boolean", default: false, help: "print the metrics as JSON" },
  }, {
    usage: "deno task evaluate --run REF --data FILE [--since DAY] [--out scores.parquet] [--json]",
    about:
      "Score other data with a stored run (checksums verified) and evaluate it at the run's threshold.",
    examples: ["deno task evaluate --run txsim@champion --data data/demo.parquet"],
  });
  if (!flags.run) throw new UserError("--run RUN (or NAME@ALIAS, or champion) is required");
  if (!flags.data) throw new UserError("--data FILE is required");
  const r = await runEvaluateJob({
    run: flags.run as string,
    data: flags.data as string,
    since: flags.since as string | undefined,
    out: flags.out as string | undefined,
  });
  if (flags.json) {
    console.log(
      JSON.stringify({
        run_id: r.run.id,
        data: r.data,
        seconds: r.seconds,
        threshold: r.threshold,
        metrics: r.headline,
      }),
    );
    return;
  }
  console.log(
    `run ${r.run.id} (${r.run.config.model}) on ${flags.data} (sha256 ${
      r.data.sha256.slice(0, 12)
    }, ${fmt(r.data.rows)} rows) in ${r.seconds.toFixed(2)}s`,
  );
  console.log(table(["metric", "value"], Object.entries(r.headline).map(([k, v]) => [k, fmt(v)])));
  if (flags.out) console.log(`scores written to ${flags.out}`);
});
