/**
 * Entity history size and speed: 2,000,000 transactions with unique
 * customers and terminals added to an `OnlineVelocity` with a cap of
 * 200,000 values per column, then without a cap; heap in use after a full
 * GC at 0.2M, 1M and 2M, and microseconds per add.
 *
 * deno run -A --v8-flags=--expose-gc bench/history_bench.ts [--rows 2000000] [--cap 200000]
 */
import { OnlineVelocity } from "../lib/features/online.ts";
import { intFlag, parseFlags } from "../lib/util/cli.ts";

const flags = parseFlags(Deno.args, { rows: { type: "string" }, cap: { type: "string" } });
const rows = intFlag(flags.rows, { name: "rows", fallback: 2_000_000, min: 1000 });
const cap = intFlag(flags.cap, { name: "cap", fallback: 200_000, min: 1 });
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error("run with --v8-flags=--expose-gc (heap figures need a full GC)");
  Deno.exit(2);
}
const NOW = Date.UTC(2026, 0, 1);
const options = {
  windowsDays: [1, 7, 30],
  delayDays: 7,
  entities: ["customer_id", "terminal_id"],
  calendar: true,
  rules: "fraudlab" as const,
};
const marks = [Math.min(200_000, rows), Math.floor(rows / 2), rows];

/** Fills one history; what it measured (the history is unreachable once this returns). */
function fill(maxEntities: number): string {
  gc!();
  gc!();
  const base = Deno.memoryUsage().heapUsed;
  const h = new OnlineVelocity(options, { maxEntities, clock: () => NOW });
  const out: string[] = [];
  let t0 = performance.now(), spent = 0;
  for (let i = 0; i < rows; i++) {
    h.add(NOW - 60_000 + (i % 60_000), [`u${i}`, `v${i}`], 10 + (i % 90), `t${i}`);
    if (marks.includes(i + 1)) {
      spent += performance.now() - t0;
      gc!();
      const mib = (Deno.memoryUsage().heapUsed - base) / 2 ** 20;
      out.push(`${(i + 1) / 1e6}M: ${mib.toFixed(0)} MiB (${h.stats.entities.join(" + ")} values)`);
      t0 = performance.now();
    }
  }
  return `heap in use ${out.join(", ")}; ${(spent * 1000 / rows).toFixed(2)} µs per add`;
}

console.log(`cap ${cap}: ${fill(cap)}`);
console.log(`no cap: ${fill(Number.MAX_SAFE_INTEGER)}`);
