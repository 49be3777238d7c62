/**
 * `deno task gate --model NAME --data FILE [--since DAY] [--metric ap]
 *   [--min-gain 0.005] [--min-relative-gain 0] [--max-loss 0.02] [--dry-run]`:
 * scores the challenger and the champion on the same out-of-time window,
 * compares them under the rules, and promotes, keeps or rejects the
 * challenger, writing the decision and its evidence into the registry
 * history. The work is the gate job (`lib/jobs/gate.ts`).
 */
import { GATE_DEFAULTS, runGate } from "../lib/jobs/gate.ts";
import { parseFlags, runTask } from "../lib/util/cli.ts";
import { UserError } from "../lib/util/errors.ts";
import { table } from "../lib/util/table.ts";
import { fmt } from "../lib/report/html.ts";

function numberFlag(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(typeof value === "string" && value.trim() !== "" && Number.isFinite(n) && n >= 0)) {
    throw new UserError(`--${name}: expected a number >= 0, got "${value}"`);
  }
  return n;
}

await runTask(async (args) => {
  const flags = parseFlags(args, {
    model: { type: "string", help: "the registered model (its champion and challenger aliases)" },
    data: { type: "string", help: "labelled data holding the out-of-time window" },
    since: {
      type: "string",
      help: "the window's first UTC day (YYYY-MM-DD); earlier rows feed the history",
    },
    live: {
      type: "string",
      help:
        "or decide from live traffic: a log window (log:30d) where the challenger ran as the shadow",
    },
    log: {
      type: "string",
      help:
        "with --live: the prediction log (default $FRAUDLAB_LOG or artifacts/predictions.sqlite)",
    },
    metric: { type: "string", default: "ap", help: "the metric that must improve" },
    guard: {
      type: "string",
      default: GATE_DEFAULTS.guard.join(","),
      help: "metrics none of which may get worse by more than --max-loss (comma-separated)",
    },
    "min-gain": {
      type: "string",
      default: String(GATE_DEFAULTS.minGain),
      help: "smallest absolute gain on --metric that promotes",
    },
    "min-relative-gain": {
      type: "string",
      default: String(GATE_DEFAULTS.minRelativeGain),
      help: "smallest gain relative to the champion's figure that promotes (0.02 = 2%)",
    },
    "max-loss": {
      type: "string",
      default: String(GATE_DEFAULTS.maxLoss),
      help: "largest loss tolerated on any guarded metric (beyond it: reject)",
    },
    "dry-run": { type: "boolean", default: false, help: "decide, but change nothing" },
    json: { type: "boolean", default: false, help: "print the decision as JSON" },
  }, {
    usage: "deno task gate --model NAME --data FILE [--since DAY] [rules] [--dry-run]",
    about:
      "Compare challenger and champion on the same window; promote, keep or reject the challenger.",
    examples: [
      "deno task gate --model txsim --data data/tx.parquet --since 2025-04-01",
      "deno task gate --model txsim --data data/may.parquet --metric card-p@k --min-gain 0.01 --dry-run",
      "deno task gate --model txsim --live log:30d",
    ],
  });
  if (!flags.model) throw new UserError("--model NAME is required");
  if (!flags.data && !flags.live) {
    throw new UserError("--data FILE (or --live log:WINDOW) is required");
  }
  const r = await runGate({
    model: flags.model as string,
    data: flags.data as string | undefined,
    since: flags.since as string | undefined,
    live: flags.live as string | undefined,
    log: flags.log as string | undefined,
    rules: {
      metric: flags.metric as string,
      guard: String(flags.guard).split(",").map((s) => s.trim()).filter(Boolean),
      minGain: numberFlag("min-gain", flags["min-gain"], GATE_DEFAULTS.minGain),
      minRelativeGain: numberFlag(
        "min-relative-gain",
        flags["min-relative-gain"],
        GATE_DEFAULTS.minRelativeGain,
      ),
      maxLoss: numberFlag("max-loss", flags["max-loss"], GATE_DEFAULTS.maxLoss),
    },
    dryRun: flags["dry-run"] as boolean,
  });
  if (flags.json) {
    console.log(JSON.stringify(r));
    return;
  }
  console.log(
    `${r.model}: challenger v${r.challenger.version} (${r.challenger.run_id}) against ${
      r.champion ? `champion v${r.champion.version} (${r.champion.run_id})` : "no champion"
    } on ${fmt(r.window.rows)} rows, ${fmt(r.window.frauds)} frauds${
      r.window.since ? ` from ${r.window.since}` : ""
    }`,
  );
  console.log(table(
    ["metric", "champion", "challenger", "change"],
    r.comparisons.map((c) => [c.metric, fmt(c.champion), fmt(c.challenger), fmt(c.change)]),
  ));
  console.log(
    `decision: ${r.decision.toUpperCase()}: ${r.reason}${
      r.record ? "" : " (dry run: nothing changed)"
    }`,
  );
});
