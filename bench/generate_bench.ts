/**
 * Simulator throughput: `deno task bench` generates about one million
 * transactions (5,000 customers × 100 days) three times and reports the
 * median time to simulate, to write Parquet, and to write CSV, against the
 * target of 1,000,000 transactions in at most 30 s on a 2-core machine.
 */
import { simulateTransactions, writeFrame } from "../lib/mod.ts";
import { intFlag, parseFlags, runTask } from "../lib/util/cli.ts";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

await runTask(async (args) => {
  const flags = parseFlags(args, {
    runs: { type: "string" },
    customers: { type: "string" },
    days: { type: "string" },
  });
  const runs = intFlag(flags.runs, { name: "runs", fallback: 3, min: 1, max: 20 });
  const customers = intFlag(flags.customers, { name: "customers", fallback: 5000, min: 1 });
  const days = intFlag(flags.days, { name: "days", fallback: 100, min: 1 });
  const dir = await Deno.makeTempDir({ prefix: "fraudlab_bench_" });
  const sim: number[] = [], pq: number[] = [], csv: number[] = [];
  let rows = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const frame = simulateTransactions({ customers, days, seed: r, quiet: true });
    const t1 = performance.now();
    writeFrame(frame, `${dir}/tx.parquet`);
    const t2 = performance.now();
    writeFrame(frame, `${dir}/tx.csv`);
    const t3 = performance.now();
    rows = frame.height;
    sim.push((t1 - t0) / 1000);
    pq.push((t2 - t1) / 1000);
    csv.push((t3 - t2) / 1000);
  }
  await Deno.remove(dir, { recursive: true });
  const total = median(sim.map((s, i) => s + pq[i]));
  console.log(
    `generate bench: ${customers} customers × ${days} days = ${rows} transactions, median of ${runs} runs`,
  );
  console.log(
    `  simulate        ${median(sim).toFixed(2)} s  (${
      Math.round(rows / median(sim)).toLocaleString("en-US")
    } tx/s)`,
  );
  console.log(`  write parquet   ${median(pq).toFixed(2)} s`);
  console.log(`  write csv       ${median(csv).toFixed(2)} s`);
  console.log(
    `  simulate+parquet ${total.toFixed(2)} s for ${rows} rows -> ${
      (total * 1e6 / rows).toFixed(2)
    } s per 1M ` +
      `(target <= 30 s: ${total * 1e6 / rows <= 30 ? "met" : "NOT met"})`,
  );
});
