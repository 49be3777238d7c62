/**
 * Server start-up: wall time from spawning `deno task serve` (server/main.ts)
 * to its first 200 on `/readyz`, for an iforest champion trained here on
 * simulated data (`--history none`, so the time is loading code and the
 * model), median of `--runs` starts (default 7).
 *
 * deno run -A bench/ready_bench.ts [--runs 7] [--repo DIR] [--compare-repo DIR]
 */
import { join } from "node:path";
import { simulateTransactions } from "../lib/data/simulate.ts";
import { writeFrame } from "../lib/data/write.ts";
import { promote } from "../lib/registry/aliases.ts";
import { trainRun } from "../lib/jobs/train.ts";
import { intFlag, parseFlags } from "../lib/util/cli.ts";
import { serverArgs } from "./server_args.ts";

const flags = parseFlags(Deno.args, {
  runs: { type: "string", help: "server starts to time (default 7)" },
  repo: { type: "string", help: "the checkout whose server starts (default this one)" },
  "compare-repo": { type: "string", help: "another checkout, started in alternation" },
});
const runs = intFlag(flags.runs, { name: "runs", fallback: 7, min: 1 });
// --repo: start the server of another checkout (the code before a change) on the same run.
const repo = (flags.repo as string | undefined) ?? new URL("../", import.meta.url).pathname;
const root = await Deno.makeTempDir({ prefix: "fraudlab_ready_" });
const data = join(root, "tx.parquet");
writeFrame(simulateTransactions({ customers: 1000, days: 30, seed: 1, quiet: true }), data);
const run = await trainRun({
  data,
  model: "iforest",
  split: { method: "time", trainDays: 14, delayDays: 7, testDays: 7 },
}, { root, quiet: true });
await promote(run.id, { root });

/** Wall time from spawning the server of `cwd` to its first 200 on /readyz. */
async function start(cwd: string, i: number): Promise<number> {
  const port = 18900 + i;
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: serverArgs(port, join(root, `log${i}.sqlite`)),
    cwd,
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
  const ms = performance.now() - t0;
  child.kill("SIGTERM");
  await child.status;
  return ms;
}

function report(name: string, times: number[]): void {
  times.sort((a, b) => a - b);
  console.log(
    `${name}: time to /readyz median ${times[times.length >> 1].toFixed(0)} ms (min ${
      times[0].toFixed(0)
    }, max ${times.at(-1)!.toFixed(0)}) over ${times.length} starts`,
  );
}

// With --compare-repo, starts alternate between this checkout and that one
// (one start of each first, not counted: Deno transpiles changed modules once).
const compare = flags["compare-repo"] as string | undefined;
if (compare) {
  await start(repo, 0);
  await start(compare, 1);
}
const times: number[] = [], other: number[] = [];
for (let i = 0; i < runs; i++) {
  times.push(await start(repo, 2 * i + 2));
  if (compare) other.push(await start(compare, 2 * i + 3));
}
report(repo, times);
if (compare) report(compare, other);
await Deno.remove(root, { recursive: true });
