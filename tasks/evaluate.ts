/**
 * `deno task evaluate --run (RUN | NAME@ALIAS | champion) --data FILE
 *   [--out scores.parquet|csv] [--json]`: scores another dataset with a stored
 * run (checksums verified; a tampered run is refused), using the run's spec,
 * pipeline, model and threshold, and prints the metrics.
 */
import pl from "nodejs-polars";
import { loadRunRef } from "../lib/registry/aliases.ts";
import { evaluateRows, headline, labelsOf, scoreWithRun } from "../lib/registry/runs.ts";
import { loadDataset } from "../lib/data/load.ts";
import { datasetVersion } from "../lib/data/fingerprint.ts";
import { writeFrame } from "../lib/data/write.ts";
import { table } from "../lib/data/profile.ts";
import { fmt } from "../lib/report/html.ts";
import { UserError } from "../lib/util/errors.ts";
import { parseFlags, runTask } from "../lib/util/cli.ts";

await runTask(async (args) => {
  const flags = parseFlags(args, {
    run: { type: "string", help: "the run: RUN id, NAME@ALIAS, NAME@VERSION or an alias" },
    data: { type: "string", help: "data file to score" },
    out: { type: "string", help: "write the scores as Parquet" },
    json: { type: "boolean", default: false, help: "print the metrics as JSON" },
  }, {
    usage: "deno task evaluate --run REF --data FILE [--out scores.parquet] [--json]",
    about:
      "Score other data with a stored run (checksums verified) and evaluate it at the run's threshold.",
    examples: ["deno task evaluate --run txsim@champion --data data/demo.parquet"],
  });
  if (!flags.run) throw new UserError("--run RUN (or NAME@ALIAS, or champion) is required");
  if (!flags.data) throw new UserError("--data FILE is required");
  const run = await loadRunRef(flags.run);
  const ds = await loadDataset(flags.data, run.spec);
  const rows = Uint32Array.from({ length: ds.frame.height }, (_, i) => i);
  const t0 = performance.now();
  const { scores } = await scoreWithRun(run, ds, rows);
  const seconds = (performance.now() - t0) / 1000;
  const labels = labelsOf(ds);
  const part = evaluateRows(ds, { rows, scores, labels }, {
    threshold: run.threshold.threshold,
    k: run.config.k,
    alertFee: run.config.alertFee,
  });
  if (flags.out) {
    const cols: pl.Series[] = [];
    if (ds.spec.id) cols.push(ds.frame.getColumn(ds.spec.id));
    cols.push(
      pl.Series("score", scores),
      pl.Series("alert", Array.from(scores, (s) => s >= run.threshold.threshold)),
    );
    writeFrame(pl.DataFrame(cols), flags.out);
  }
  const h = headline(part.metrics);
  const version = datasetVersion(ds);
  if (flags.json) {
    console.log(
      JSON.stringify({
        run_id: run.id,
        data: version,
        seconds,
        threshold: run.threshold.threshold,
        metrics: h,
      }),
    );
    return;
  }
  console.log(
    `run ${run.id} (${run.config.model}) on ${flags.data} (sha256 ${version.sha256.slice(0, 12)}, ${
      fmt(version.rows)
    } rows) in ${seconds.toFixed(2)}s`,
  );
  console.log(table(["metric", "value"], Object.entries(h).map(([k, v]) => [k, fmt(v)])));
  if (flags.out) console.log(`scores written to ${flags.out}`);
});
