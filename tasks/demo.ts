/**
 * `deno task demo`: the main job end to end on simulated data. For now:
 * simulate a month of transactions with a drift, profile them, and add
 * leak-free features; later stages (train, evaluate, promote, drift report)
 * join as they land.
 */
import {
  datasetVersion,
  formatDataInfo,
  loadDataset,
  loadSpec,
  meansByClass,
  parseDrift,
  profileDataset,
  simulateTransactions,
  table,
  velocityFeatures,
  writeFrame,
} from "../lib/mod.ts";
import { intFlag, parseFlags, runTask } from "../lib/util/cli.ts";

await runTask(async (args) => {
  const flags = parseFlags(args, {
    customers: { type: "string" },
    days: { type: "string" },
    seed: { type: "string" },
    out: { type: "string", default: "data/demo.parquet" },
  });
  const customers = intFlag(flags.customers, "customers", 2000, { min: 1 });
  const days = intFlag(flags.days, "days", 60, { min: 2 });
  const seed = intFlag(flags.seed, "seed", 7, { min: 0 });
  await Deno.mkdir("data", { recursive: true });
  console.log(
    `== 1. simulate ${customers} customers over ${days} days (seed ${seed}, new_fraud drift halfway)`,
  );
  const frame = simulateTransactions({
    customers,
    days,
    seed,
    drift: [parseDrift("new_fraud", "2025-01-01", days)],
  });
  writeFrame(frame, flags.out!);
  console.log(`wrote ${flags.out} (${frame.height} transactions)`);

  console.log(`\n== 2. load, version and profile`);
  const ds = await loadDataset(flags.out!, await loadSpec("txsim"));
  console.log(formatDataInfo({ version: datasetVersion(ds), profile: profileDataset(ds) }));

  console.log(`\n== 3. leak-free velocity features (windows 1, 7, 30 days; label delay 7 days)`);
  const feats = velocityFeatures(ds);
  const shown = [
    "customer_id_n_1d",
    "customer_id_mean_amount_7d",
    "terminal_id_risk_7d",
    "terminal_id_risk_30d",
    "is_night",
  ];
  const rows = meansByClass(feats, ds.frame.getColumn("is_fraud"), shown)
    .map((m) => [m.column, m.legit?.toFixed(3) ?? "-", m.fraud?.toFixed(3) ?? "-"]);
  console.log(`${feats.width} features added; means by class:`);
  console.log(table(["feature", "legit", "fraud"], rows));
});
