/**
 * `deno task promote RUN [--model NAME] [--alias champion] [--reason TEXT]`:
 * registers the run (checksums verified first) as a new numbered version of
 * the model and moves the alias to it, keeping the history.
 * `deno task promote --rollback NAME [--alias champion]` moves the alias
 * back to the version it pointed at before.
 */
import { promote, rollback } from "../lib/registry/aliases.ts";
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
  rollback: {
    type: "string",
    help: "NAME: move the alias back to the version it pointed at before the current one",
  },
};
const HELP: TaskHelp = {
  usage:
    "deno task promote (RUN | NAME@VERSION | NAME@ALIAS) [--model NAME] [--alias A] [--reason TEXT] | --rollback NAME [--alias A]",
  about:
    "Register the run (checksums verified) as a version of the model and move the alias to it; names match [a-z0-9][a-z0-9_.-]{0,63}.",
  examples: [
    "deno task promote 20261201-101536-logreg-b33cba",
    "deno task promote txsim@2 --alias challenger",
    "deno task promote --rollback txsim",
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
        rollback: { type: "string" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UserError(`${(e as Error).message.split("\n")[0]} (see --help)`);
  }
  if (parsed.values.rollback !== undefined) {
    if (parsed.positionals.length > 0) {
      throw new UserError(`--rollback NAME takes no run (see --help)`);
    }
    const r = await rollback(parsed.values.rollback, {
      alias: parsed.values.alias,
      reason: parsed.values.reason,
    });
    console.log(`${r.model}@${r.alias} rolled back: v${r.from} → v${r.to}`);
    return;
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
