/**
 * `deno task demo`: the main job end to end on simulated data: simulate
 * transactions with a drift, profile them, add leak-free features, train
 * iforest, logreg, autoencoder and gbdt on a time split with label delay, promote
 * the best (by average precision on the same test days) to champion,
 * simulate the next month of the same world twice (as it was, and drifted:
 * amounts inflated, more online, a different category mix), run drift for
 * both against the champion, and print where the reports are. With
 * `--serve [--port 8000]` it ends by serving the champion and printing a curl
 * example (and its answer, with reasons).
 */
import pl from "nodejs-polars";
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

import { loadRunRef, promote } from "../lib/registry/aliases.ts";
import { existsSync } from "node:fs";
import { writeEvalReport } from "../lib/report/eval_report.ts";
import { reportsRoot } from "../lib/registry/store.ts";
import { fmt } from "../lib/report/html.ts";
import { join } from "node:path";
import { runDriftJob } from "../lib/jobs/drift.ts";
import { driftVerdict } from "../lib/report/drift_report.ts";
import { datasetRecords } from "../lib/serving/records.ts";
import { startServer } from "../server/serve.ts";
import { DAY_MS } from "../lib/util/time.ts";
import { promoteIfBetter, trainRun } from "../lib/jobs/train.ts";

await runTask(async (args) => {
  const flags = parseFlags(args, {
    customers: { type: "string", help: "simulated customers (default 2000)" },
    days: { type: "string", help: "simulated days (default 60)" },
    seed: { type: "string", help: "simulator seed (default 7)" },
    out: { type: "string", default: "data/demo.parquet", help: "where the simulated data goes" },
    serve: { type: "boolean", default: false, help: "end by serving the champion over HTTP" },
    port: { type: "string", help: "port for --serve (default 8000)" },
  }, {
    usage:
      "deno task demo [--customers N] [--days N] [--seed N] [--out FILE] [--serve [--port 8000]]",
    about:
      "Simulate, profile, featurize, train four kinds, promote the best, check drift, write reports.",
    examples: ["deno task demo", "deno task demo --serve --port 8080"],
  });
  const port = intFlag(flags.port, { name: "port", fallback: 8000, min: 0, max: 65535 });
  const customers = intFlag(flags.customers, { name: "customers", fallback: 2000, min: 1 });
  const days = intFlag(flags.days, { name: "days", fallback: 60, min: 2 });
  const seed = intFlag(flags.seed, { name: "seed", fallback: 7, min: 0 });
  await Deno.mkdir("data", { recursive: true });
  console.log(
    `== 1. simulate ${customers} customers over ${days} days (seed ${seed}, new_fraud drift halfway)`,
  );
  const frame = simulateTransactions({
    customers,
    days,
    seed,
    drift: [parseDrift("new_fraud", { start: "2025-01-01", days: days })],
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
  const rows = meansByClass(feats, ds.frame.getColumn("is_fraud"), { columns: shown })
    .map((m) => [m.column, m.legit?.toFixed(3) ?? "-", m.fraud?.toFixed(3) ?? "-"]);
  console.log(`${feats.width} features added; means by class:`);
  console.log(table(["feature", "legit", "fraud"], rows));

  console.log(
    `\n== 4. train iforest, logreg, autoencoder and gbdt (time split: train 21 days, label delay 7, test 7)`,
  );
  const results: string[][] = [];
  let best: { id: string; ap: number } | null = null;
  for (const model of ["iforest", "logreg", "autoencoder", "gbdt"]) {
    const r = await trainRun({
      data: flags.out!,
      spec: "txsim",
      model,
      split: { method: "time", trainDays: 21, delayDays: 7, testDays: 7 },
      seed,
    }, { quiet: true });
    const report = await writeEvalReport(r.dir);
    const decision = await promoteIfBetter(r, { metric: "averagePrecision", margin: 0 });
    if (!best || r.test.averagePrecision > best.ap) {
      best = { id: r.id, ap: r.test.averagePrecision };
    }
    results.push([
      model,
      r.id,
      fmt(r.test.rocAuc),
      fmt(r.test.averagePrecision),
      fmt(r.test.dailyPrecisionAtK?.mean),
      fmt(r.test.entityPrecisionAtK?.mean),
      decision.promoted ? "yes" : "no",
      report,
    ]);
  }
  console.log(
    table(
      ["model", "run", "AUC", "AP", "daily P@100", "card P@100", "promoted on AP", "report"],
      results,
    ),
  );
  let champion = await loadRunRef("txsim@champion");
  if (best && !existsSync(join(champion.dir, "profile.json"))) {
    // A champion from before drift monitoring (an older artifacts folder) has
    // no reference profile for step 5: this demo's best run takes its place.
    await promote(best.id, {
      model: "txsim",
      reason: `demo: champion ${champion.id} has no reference profile`,
    });
    console.log(`champion ${champion.id} has no reference profile: promoted ${best.id} (best AP)`);
    champion = await loadRunRef("txsim@champion");
  }
  console.log(
    `champion: ${champion.config.model} (run ${champion.id}, test AP ${
      fmt(champion.metrics.test.averagePrecision)
    })`,
  );
  const day = (d: number) => new Date(Date.UTC(2025, 0, 1) + d * DAY_MS).toISOString().slice(0, 10);
  const monthStart = day(days);
  console.log(
    `\n== 5. drift: the month from ${monthStart} (30 days) as it was, and drifted; ` +
      `the 30 days before it are velocity history only`,
  );
  const monthFiles: Record<string, string> = {};
  for (
    const [name, extra] of [
      ["stable", []],
      ["drifted", ["amount_inflation", "channel_shift", "category_shift"]],
    ] as const
  ) {
    const path = `data/month_${name}.parquet`;
    const month = simulateTransactions({
      customers,
      days: days + 30,
      seed,
      quiet: true,
      drift: [
        parseDrift(`new_fraud@${day(Math.floor(days / 2))}`, {
          start: "2025-01-01",
          days: days + 30,
        }),
        ...extra.map((e) =>
          parseDrift(`${e}@${monthStart}`, { start: "2025-01-01", days: days + 30 })
        ),
      ],
    });
    const from = Date.UTC(2025, 0, 1) + (days - 30) * DAY_MS;
    writeFrame(
      month.filter(pl.col("tx_time").cast(pl.Float64).gtEq(from)),
      path,
    );
    monthFiles[name] = path;
    const { result, report } = await runDriftJob({
      ref: "txsim@champion",
      cur: path,
      since: monthStart,
    });
    console.log(`${name}: ${driftVerdict(result)} → ${report.html}`);
    for (const reason of result.reasons) console.log(`  - ${reason}`);
  }
  console.log(
    `   deno task drift --ref txsim@champion --cur ${monthFiles.drifted} --since ${monthStart}   # exits 3`,
  );
  console.log(
    `   deno task drift --ref txsim@champion --cur ${monthFiles.stable} --since ${monthStart}    # exits 0`,
  );

  console.log(`\n== 6. reports: ${join(reportsRoot(), "index.html")} lists every report`);
  console.log(`   deno task runs            # runs and the champion`);
  console.log(`   deno task evaluate --run txsim@champion --data ${flags.out}`);

  if (!flags.serve) {
    console.log(`\n   deno task demo --serve    # ends with the champion served over HTTP`);
    return;
  }
  console.log(`\n== 7. serve the champion (Ctrl-C stops it, flushing the prediction log)`);
  const server = await startServer({ model: "txsim@champion", port });
  // The example: the first transaction of the next month, as a client would send it.
  const served = server.holder.current!.model;
  const next = await loadDataset(monthFiles.stable, served.run.spec);
  const times = next.frame.getColumn("tx_time").cast(pl.Float64).toArray() as number[];
  const first = times.findIndex((t) => t >= Date.parse(`${monthStart}T00:00:00Z`));
  const [example] = datasetRecords(next, served.schema, { rows: [Math.max(first, 0)] });
  // Sent without its own time: a live transaction happens now, on the server's clock (a
  // record's own time must lie within the history's retention of it).
  delete example[served.schema.timeField ?? ""];
  const body = JSON.stringify(example);
  const curl =
    `curl -s -X POST ${server.url}/v1/score -H 'content-type: application/json' \\\n  -d '${body}'`;
  const res = await fetch(`${server.url}/v1/score`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json" },
  });
  const answer = await res.json();
  if (!res.ok || !Array.isArray(answer.reasons) || answer.reasons.length === 0) {
    throw new Error(`the example request failed: ${JSON.stringify(answer)}`);
  }
  console.log(
    `\ntry it:\n${curl}\n\nanswer (this request, just made):\n${JSON.stringify(answer, null, 2)}`,
  );
  console.log(
    `\nalso: ${server.url}/docs (Swagger UI), ${server.url}/v1/model, ${server.url}/metrics; ` +
      `late labels: curl -s -X POST ${server.url}/v1/feedback -H 'content-type: application/json' -d '{"transaction_id":"${answer.transaction_id}","label":0}'`,
  );
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, async () => {
      await server.stop();
      Deno.exit(0);
    });
  }
  await server.finished;
});
