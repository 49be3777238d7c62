/**
 * `deno task promote RUN [--model NAME] [--alias champion] [--reason TEXT]`:
 * registers the run (checksums verified first) as a new numbered version of
 * the model and moves the alias to it, keeping the history.
 */
import { promote } from "../lib/registry/aliases.ts";
import { UserError } from "../lib/util/errors.ts";
import { type FlagSpec, helpText, runTask, type TaskHelp } from "../lib/util/cli.ts";
import { parseArgs } from "node:util";

const FLAGS: FlagSpec = {
  model: {
    type: "string",
    help: "model name (default: the reference's model, else the spec's name)",
  },
  alias: { type: "string", default: "champion", help: "alias to move" },
  reason: { type: "string", help: "why (kept in the alias history)" },
};
const HELP: TaskHelp = {
  usage:
    "deno task promote (RUN | NAME@VERSION | NAME@ALIAS) [--model NAME] [--alias A] [--reason TEXT]",
  about:
    "Register the run (checksums verified) as a version of the model and move the alias to it; names match [a-z0-9][a-z0-9_.-]{0,63}.",
  examples: [
    "deno task promote 20261201-101536-logreg-b33cba",
    "deno task promote txsim@2 --alias challenger",
  ],
};

await runTask(async (args) => {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(helpText(FLAGS, HELP));
    return;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        model: { type: "string" },
        alias: { type: "string", default: "champion" },
        reason: { type: "string" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UserError(`${(e as Error).message.split("\n")[0]} (see --help)`);
  }
  if (parsed.positionals.length !== 1) {
    throw new UserError(`usage: ${HELP.usage} (see --help)`);
  }
  const r = await promote(parsed.positionals[0], {
    model: parsed.values.model,
    alias: parsed.values.alias,
    reason: parsed.values.reason,
  });
  console.log(
    `${r.model} v${r.version.version} (run ${r.version.run_id}) is now ${r.alias}` +
      (r.previous !== null ? ` (was v${r.previous})` : ""),
  );
});
