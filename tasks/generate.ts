/**
 * `deno task generate [--customers N] [--terminals N] [--days N]
 * [--start YYYY-MM-DD] [--seed N] [--drift SCENARIO[:INTENSITY][@YYYY-MM-DD]]... --out FILE`:
 * simulates card transactions and writes Parquet or CSV by the extension.
 */
import { parseDrift, sha256Hex, simulateTransactions, UserError, writeFrame } from "../lib/mod.ts";
import { intFlag, parseFlags, runTask } from "../lib/util/cli.ts";

await runTask(async (args) => {
  const flags = parseFlags(args, {
    customers: { type: "string" },
    terminals: { type: "string" },
    days: { type: "string" },
    start: { type: "string", default: "2025-01-01" },
    seed: { type: "string" },
    drift: { type: "string", multiple: true, default: [] },
    out: { type: "string" },
    quiet: { type: "boolean", default: false },
  });
  if (!flags.out) throw new UserError("--out FILE is required (.parquet or .csv)");
  if (!/\.(parquet|csv)$/i.test(flags.out)) {
    throw new UserError(`--out ${flags.out}: expected a .parquet or .csv file name`);
  }
  const customers = intFlag(flags.customers, "customers", 5000, { min: 1, max: 10_000_000 });
  const days = intFlag(flags.days, "days", 90, { min: 1, max: 3650 });
  const terminals = flags.terminals === undefined
    ? undefined
    : intFlag(flags.terminals, "terminals", 0, { min: 50, max: 10_000_000 });
  const seed = intFlag(flags.seed, "seed", 0, { min: 0, max: 2 ** 32 - 1 });
  const drift = (flags.drift as string[]).map((d) => parseDrift(d, flags.start!, days));
  const t0 = performance.now();
  const frame = simulateTransactions({
    customers,
    terminals,
    days,
    start: flags.start,
    seed,
    drift,
    quiet: flags.quiet,
  });
  const simulated = performance.now();
  writeFrame(frame, flags.out);
  const written = performance.now();
  const fraud = Number(frame.getColumn("is_fraud").sum());
  const sha = sha256Hex(await Deno.readFile(flags.out));
  console.log(
    `wrote ${flags.out}: ${frame.height} transactions, ${fraud} fraud (${
      (100 * fraud / frame.height).toFixed(3)
    }%), ` +
      `${drift.length ? `drift ${drift.map((d) => `${d.scenario}@${d.from}`).join(", ")}, ` : ""}` +
      `simulate ${((simulated - t0) / 1000).toFixed(1)}s, write ${
        ((written - simulated) / 1000).toFixed(1)
      }s`,
  );
  console.log(`sha256 ${sha}`);
});
