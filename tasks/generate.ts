/**
 * `deno task generate [--profile txsim|handbook] [--customers N] [--terminals N] [--days N]
 * [--start YYYY-MM-DD] [--seed N] [--radius R] [--drift SCENARIO[:INTENSITY][@YYYY-MM-DD]]... --out FILE`:
 * simulates card transactions and writes Parquet or CSV by the extension.
 * Profile `txsim` (default) is fraudlab's richer world (`lib/data/simulate.ts`);
 * `handbook` the Fraud Detection Handbook's, in its file format
 * (`lib/data/handbook.ts`; defaults: the book's 5,000 customers, 10,000
 * terminals, 183 days from 2018-04-01, radius 5): without `--seed`, with the
 * book's own random draws, which rebuild its data set; with one, fraudlab's.
 */
import {
  type Frame,
  parseDrift,
  sha256Hex,
  simulateHandbook,
  simulateTransactions,
  UserError,
  writeFrame,
} from "../lib/mod.ts";
import { intFlag, parseFlags, runTask } from "../lib/util/cli.ts";

await runTask(async (args) => {
  const flags = parseFlags(args, {
    profile: {
      type: "string",
      default: "txsim",
      help:
        "txsim (fraudlab's world) or handbook (the Fraud Detection Handbook's, its file format)",
    },
    customers: { type: "string", help: "customers (default 5000)" },
    terminals: {
      type: "string",
      help: "terminals (default customers / 5, at least 50; handbook: 10000)",
    },
    days: { type: "string", help: "days (default 90; handbook: 183)" },
    start: {
      type: "string",
      help: "first day, YYYY-MM-DD (default 2025-01-01; handbook: 2018-04-01)",
    },
    radius: {
      type: "string",
      help: "handbook: a customer's reach on the 100 x 100 grid (default 5)",
    },
    seed: {
      type: "string",
      help: "seed (default 0; handbook: without it, the book's own draws, its data set)",
    },
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
    examples: [
      "deno task generate --customers 5000 --days 90 --seed 7 --out data/tx.parquet",
      "deno task generate --profile handbook --out data/handbook.parquet",
    ],
  });
  if (flags.profile !== "txsim" && flags.profile !== "handbook") {
    throw new UserError(`--profile: expected txsim or handbook, got "${flags.profile}"`);
  }
  const handbook = flags.profile === "handbook";
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
  const days = intFlag(flags.days, {
    name: "days",
    fallback: handbook ? 183 : 90,
    min: 1,
    max: 3650,
  });
  const terminals = flags.terminals === undefined ? undefined : intFlag(flags.terminals, {
    name: "terminals",
    fallback: 0,
    min: handbook ? 2 : 50,
    max: 10_000_000,
  });
  const seed = intFlag(flags.seed, { name: "seed", fallback: 0, min: 0, max: 2 ** 32 - 1 });
  const start = flags.start ?? (handbook ? "2018-04-01" : "2025-01-01");
  if (handbook && (flags.drift as string[]).length) {
    throw new UserError("--drift: the handbook profile has no drift scenarios");
  }
  if (!handbook && flags.radius !== undefined) {
    throw new UserError("--radius: only the handbook profile has a radius");
  }
  const radius = flags.radius === undefined ? undefined : Number(flags.radius);
  const drift = (flags.drift as string[]).map((d) => parseDrift(d, { start, days: days }));
  const t0 = performance.now();
  const frame: Frame = handbook
    ? simulateHandbook({
      customers: flags.customers === undefined ? undefined : customers,
      terminals,
      days,
      start,
      // Without --seed, the book's own draws (its data set); with one, fraudlab's.
      seed: flags.seed === undefined ? undefined : seed,
      radius,
    })
    : simulateTransactions({ customers, terminals, days, start, seed, drift, quiet: flags.quiet });
  const simulated = performance.now();
  writeFrame(frame, flags.out);
  const written = performance.now();
  const fraud = Number(frame.getColumn(handbook ? "TX_FRAUD" : "is_fraud").sum());
  if (handbook) {
    const counts = [1, 2, 3].map((k) =>
      (frame.getColumn("TX_FRAUD_SCENARIO").toArray() as number[]).filter((v) => Number(v) === k)
        .length
    );
    console.log(`fraud scenarios 1 / 2 / 3: ${counts.join(" / ")}`);
  }
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
