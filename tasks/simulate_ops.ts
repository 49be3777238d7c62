/**
 * `deno task simulate-ops [--months 12] [--customers 1500] [--seed 7]
 *   [--model gbdt] [--dir DIR]`: a simulated year of operations. Month after
 * month of a simulated world with drift events, the loop scores, checks
 * drift, retrains and gates, beside a model frozen after the first period;
 * the HTML report plots both and lists each gate decision. The work is the
 * simulate-ops job (`lib/jobs/simulate_ops.ts`).
 */
import { runSimulateOps } from "../lib/jobs/simulate_ops.ts";
import { fmt } from "../lib/report/html.ts";
import { intFlag, parseFlags, runTask } from "../lib/util/cli.ts";

await runTask(async (args) => {
  const flags = parseFlags(args, {
    months: { type: "string", default: "12", help: "months after the first 60-day period" },
    customers: { type: "string", default: "1500", help: "customers of the simulated world" },
    seed: { type: "string", default: "7", help: "seed of the world and of every model" },
    model: { type: "string", default: "gbdt", help: "model kind of every run" },
    dir: {
      type: "string",
      help:
        "folder for the world, runs, registry and report (default artifacts/simulate-ops/<time>)",
    },
    json: { type: "boolean", default: false, help: "print the result as JSON" },
  }, {
    usage: "deno task simulate-ops [--months 12] [--customers 1500] [--seed 7] [--model gbdt]",
    about:
      "A simulated year of operations: monthly scoring, drift checks, retraining and gating, against a frozen model.",
    examples: [
      "deno task simulate-ops --months 12",
      "deno task simulate-ops --months 4 --customers 500",
    ],
  });
  const dir = (flags.dir as string | undefined) ??
    `artifacts/simulate-ops/${new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19)}`;
  const r = await runSimulateOps({
    months: intFlag(flags.months as string, { name: "months", fallback: 12, min: 1, max: 36 }),
    customers: intFlag(flags.customers as string, { name: "customers", fallback: 1500, min: 50 }),
    seed: intFlag(flags.seed as string, { name: "seed", fallback: 7, min: 0 }),
    model: flags.model as string,
    dir,
    onMonth: flags.json ? undefined : (m) =>
      console.log(
        `month ${String(m.month).padStart(2)} ${m.from}${
          m.events.length ? ` [${m.events.join(", ")}]` : ""
        }: AP loop ${fmt(m.loop.averagePrecision)} frozen ${
          fmt(m.frozen.averagePrecision)
        }, CP@100 loop ${fmt(m.loop.cardPrecisionAt100)} frozen ${
          fmt(m.frozen.cardPrecisionAt100)
        }, drift ${m.drift.drift ? "yes" : "no"}; gate ${m.gate.decision} (${m.gate.reason})`,
      ),
  });
  if (flags.json) {
    console.log(JSON.stringify(r));
    return;
  }
  for (const e of r.afterEvents) {
    console.log(
      `after ${e.scenario} (month ${e.month}; months ${e.months.join(", ")}): AP ${
        e.apGain === null ? "n/a" : (e.apGain >= 0 ? "+" : "") + fmt(e.apGain)
      }, card precision@100 ${
        e.cpGain === null ? "n/a" : (e.cpGain >= 0 ? "+" : "") + fmt(e.cpGain)
      } (loop − frozen)`,
    );
  }
  console.log(`report: ${r.report} (${r.seconds.toFixed(0)} s)`);
});
