/**
 * `deno task generate [--customers N] [--terminals N] [--days N]
 * [--start YYYY-MM-DD] [--seed N] [--drift SCENARIO[:INTENSITY][@YYYY-MM-DD]]... --out FILE`:
 * simulates card transactions and writes Parquet or CSV by the extension.
 */
import { parseDrift, sha256Hex, simulateTransactions, UserError, writeFrame } from "../lib/mod.ts";
import { intFlag, parseFlags, runTask } from "../lib/util/cli.ts";

await runTask(async (args) => {
  const flags = parseFlags(args, {
    customers: { type: "string", help: "customers (default 5000)" },
    terminals: { type: "string", help: "terminals (default customers / 5, at least 50)" },
    days: { type: "string", help: "days (default 90)" },
    start: { type: "string", default: "2025-01-01", help: "first day, YYYY-MM-DD" },
    seed: { type: "string", help: "seed (default 0)" },
    drift: {
      type: "string",
      multiple: true,
      default: [],
      help:
        "SCENARIO[:INTENSITY][@YYYY-MM-DD]: amount_inflation, channel_shift, category_shift, new_fraud",
    },
    out: { type: "string", help: "output file (Parquet or CSV by extension)" },
    quiet: { type: "boolean", default: false, help: "no progress lines" },
  }, {
    usage: "deno task generate [flags] --out FILE",
    about: "Simulated transactions with fraud scenarios and optional drift.",
    examples: ["deno task generate --customers 5000 --days 90 --seed 7 --out data/tx.parquet"],
  });
  if (!flags.out) throw new UserError("--out FILE is required (.parquet or .csv)");
  if (!/\.(parquet|csv)$/i.test(flags.out)) {
    throw new UserError(`--out ${flags.out}: expected a .parquet or .csv file name`);
  }
  const customers = intFlag(flags.customers, {
    name: "customers",
    fallback: 5000,
    min: 1,
    max: 10_000_000,
  });
  const days = intFlag(flags.days, { name: "days", fallback: 90, min: 1, max: 3650 });
  const terminals = flags.terminals === undefined
    ? undefined
    : intFlag(flags.terminals, { name: "terminals", fallback: 0, min: 50, max: 10_000_000 });
  const seed = intFlag(flags.seed, { name: "seed", fallback: 0, min: 0, max: 2 ** 32 - 1 });
  const drift = (flags.drift as string[]).map((d) =>
    parseDrift(d, { start: flags.start!, days: days })
  );
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
