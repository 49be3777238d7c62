/**
 * `deno task promote RUN [--model NAME] [--alias champion] [--reason TEXT]`:
 * registers the run (checksums verified first) as a new numbered version of
 * the model and moves the alias to it, keeping the history.
 */
import { promote } from "../lib/registry/aliases.ts";
import { UserError } from "../lib/util/errors.ts";
import { runTask } from "../lib/util/cli.ts";
import { parseArgs } from "node:util";

await runTask(async (args) => {
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
    throw new UserError(
      `${(e as Error).message.split("\n")[0]} (usage: promote RUN [--model NAME] [--alias A])`,
    );
  }
  if (parsed.positionals.length !== 1) {
    throw new UserError(
      "usage: deno task promote RUN [--model NAME] [--alias champion] [--reason TEXT]",
    );
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
