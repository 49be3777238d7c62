/**
 * Server start-up: wall time from spawning `deno task serve` (server/main.ts)
 * to its first 200 on `/readyz`, for an iforest champion trained here on
 * simulated data (`--history none`, so the time is loading code and the
 * model), median of `--runs` starts (default 7).
 *
 * deno run -A bench/ready_bench.ts [--runs 7]
 */
import { join } from "node:path";
import { simulateTransactions } from "../lib/data/simulate.ts";
import { writeFrame } from "../lib/data/write.ts";
import { promote } from "../lib/registry/aliases.ts";
import { trainRun } from "../lib/jobs/train.ts";
import { intFlag, parseFlags } from "../lib/util/cli.ts";
import { serverArgs } from "./server_args.ts";

const flags = parseFlags(Deno.args, { runs: { type: "string" } });
const runs = intFlag(flags.runs, { name: "runs", fallback: 7, min: 1 });
const repo = new URL("../", import.meta.url).pathname;
const root = await Deno.makeTempDir({ prefix: "fraudlab_ready_" });
const data = join(root, "tx.parquet");
writeFrame(simulateTransactions({ customers: 1000, days: 30, seed: 1, quiet: true }), data);
const run = await trainRun({
  data,
  model: "iforest",
  split: { method: "time", trainDays: 14, delayDays: 7, testDays: 7 },
}, { root, quiet: true });
await promote(run.id, { root });

const times: number[] = [];
for (let i = 0; i < runs; i++) {
  const port = 18900 + i;
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: serverArgs(port, join(root, `log${i}.sqlite`)),
    cwd: repo,
    env: { FRAUDLAB_ARTIFACTS: root, NO_COLOR: "1" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      await r.body?.cancel();
      if (r.status === 200) break;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 5));
  }
  times.push(performance.now() - t0);
  child.kill("SIGTERM");
  await child.status;
}
times.sort((a, b) => a - b);
console.log(
  `time to /readyz: median ${times[times.length >> 1].toFixed(0)} ms (min ${
    times[0].toFixed(0)
  }, max ${times.at(-1)!.toFixed(0)}) over ${runs} starts`,
);
await Deno.remove(root, { recursive: true });
