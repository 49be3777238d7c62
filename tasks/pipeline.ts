/**
 * `deno task pipeline [--file pipeline.json] [--dry-run] [--force STAGE]
 *   [--init]`: runs the stages of a pipeline file whose inputs or settings
 * changed since `pipeline.lock` (beside it) recorded them, in order, saying
 * why each runs or skips. `--init` writes the built-in pipeline to start
 * from. The work is the pipeline job (`lib/jobs/pipeline.ts`).
 */
import { BUILTIN_PIPELINE, runPipeline, type StageOutcome } from "../lib/jobs/pipeline.ts";
import { jsonText } from "../lib/registry/store.ts";
import { parseFlags, runTask } from "../lib/util/cli.ts";
import { UserError } from "../lib/util/errors.ts";

await runTask(async (args) => {
  const flags = parseFlags(args, {
    file: { type: "string", default: "pipeline.json", help: "the pipeline file" },
    "dry-run": { type: "boolean", default: false, help: "say what would run, run nothing" },
    force: { type: "string", multiple: true, help: "run this stage whatever the lock says" },
    init: { type: "boolean", default: false, help: "write the built-in pipeline to --file" },
    json: { type: "boolean", default: false, help: "print the outcomes as JSON" },
  }, {
    usage: "deno task pipeline [--file pipeline.json] [--dry-run] [--force STAGE] [--init]",
    about: "Run the stages whose inputs or settings changed (pipeline.lock keeps their hashes).",
    examples: [
      "deno task pipeline --init && deno task pipeline",
      "deno task pipeline --dry-run",
      "deno task pipeline --force train_gbdt",
    ],
  });
  const file = flags.file as string;
  if (flags.init) {
    try {
      await Deno.writeTextFile(file, jsonText(BUILTIN_PIPELINE), { createNew: true });
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) {
        throw new UserError(`${file} already exists: --init writes a new file only`);
      }
      throw e;
    }
    console.log(`wrote ${file} (${Object.keys(BUILTIN_PIPELINE.stages).length} stages)`);
    return;
  }
  const line = (o: StageOutcome) =>
    `${o.action.padEnd(9)} ${o.name.padEnd(18)} ${o.reason}${o.summary ? `: ${o.summary}` : ""}${
      o.seconds !== undefined ? ` (${o.seconds.toFixed(1)}s)` : ""
    }`;
  const outcomes = await runPipeline({
    file,
    dryRun: flags["dry-run"] as boolean,
    force: (flags.force as string[] | undefined) ?? [],
    onStage: flags.json ? undefined : (o) => console.log(line(o)),
  });
  if (flags.json) console.log(JSON.stringify(outcomes));
  else {
    const ran = outcomes.filter((o) => o.action !== "skipped").length;
    console.log(
      `${ran} of ${outcomes.length} stages ${flags["dry-run"] ? "would run" : "ran"}, ${
        outcomes.length - ran
      } up to date`,
    );
  }
});
