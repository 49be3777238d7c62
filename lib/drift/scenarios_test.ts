/**
 * Simulator scenarios end to end: a champion trained on a simulated world,
 * then later months of the same world with and without drift, compared
 * against the champion's stored reference profile; and `deno task drift`
 * with its exit codes and report.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseDrift, simulateTransactions } from "../data/simulate.ts";
import { writeFrame } from "../data/write.ts";
import { loadDataset } from "../data/load.ts";
import { timesMs } from "../features/velocity.ts";
import { loadProfile, loadRun } from "../registry/runs.ts";
import { scoreWithRun } from "../jobs/evaluate.ts";
import { promote } from "../registry/aliases.ts";
import { runTaskFile } from "../testing/helpers.ts";
import { currentData } from "./dataset.ts";
import { compareToProfile, type DriftResult } from "./compare.ts";
import { trainRun } from "../jobs/train.ts";

const dir = await Deno.makeTempDir({ prefix: "fraudlab_drift_" });
const artifacts = join(dir, "artifacts"), reports = join(dir, "reports");
const CUSTOMERS = 2000, SEED = 7, MONTH_START = "2025-03-02";

writeFrame(
  simulateTransactions({ customers: CUSTOMERS, days: 60, seed: SEED, quiet: true }),
  join(dir, "train.parquet"),
);
/** 90 days of the same world; drift (if any) from day 60, the monitored month. */
function month(name: string, drift: string[]): string {
  const path = join(dir, `${name}.parquet`);
  writeFrame(
    simulateTransactions({
      customers: CUSTOMERS,
      days: 90,
      seed: SEED,
      quiet: true,
      drift: drift.map((d) => parseDrift(`${d}@${MONTH_START}`, { start: "2025-01-01", days: 90 })),
    }),
    path,
  );
  return path;
}
const months = {
  stable: month("stable", []),
  amount: month("amount", ["amount_inflation"]),
  channel: month("channel", ["channel_shift"]),
  newFraud: month("new_fraud", ["new_fraud:20"]),
  drifted: month("drifted", ["amount_inflation", "channel_shift", "category_shift"]),
};
const trained = await trainRun({
  data: join(dir, "train.parquet"),
  spec: "txsim",
  model: "iforest",
  split: { method: "time", trainDays: 21, delayDays: 7, testDays: 7, validation: "random" },
  seed: SEED,
}, { quiet: true, root: artifacts });
await promote(trained.id, { root: artifacts });

async function drift(path: string): Promise<DriftResult> {
  const run = await loadRun(trained.id, artifacts);
  const profile = await loadProfile(run);
  const ds = await loadDataset(path, run.spec, { labels: "optional" });
  const from = Date.parse(MONTH_START);
  const t = timesMs(ds.frame, ds.spec.time!);
  const rows = Uint32Array.from(t.keys().filter((i) => t[i] >= from));
  const current = currentData(ds, rows);
  current.scores = (await scoreWithRun(run, ds, { rows })).scores;
  return compareToProfile(profile, current);
}

const drifted = (r: DriftResult) => r.columns.filter((c) => c.drifted).map((c) => c.column);

Deno.test("the run stores a reference profile of its fit rows and validation scores", async () => {
  const profile = await loadProfile(await loadRun(trained.id, artifacts));
  assert.deepEqual(profile.schema.map((c) => c.name), [
    "amount",
    "device_risk",
    "distance_from_home",
    "channel",
    "merchant_category",
  ]);
  assert.ok(profile.rows > 10_000);
  assert.equal(profile.target!.rows, profile.rows);
  assert.ok(profile.prediction!.rows > 1000);
  assert.equal(profile.prediction!.threshold, trained.threshold.threshold);
  const amount = profile.columns.amount;
  assert.ok(amount.type === "numeric" && amount.sample.length === 5000);
});

Deno.test("scenario: a month with no drift shows no drift", async () => {
  const r = await drift(months.stable);
  assert.deepEqual(drifted(r), []);
  assert.equal(r.datasetDrift, false);
  assert.equal(r.prediction!.drifted, false);
  assert.equal(r.drift, false);
});

Deno.test("scenario: amount inflation drifts the amount column", async () => {
  const r = await drift(months.amount);
  assert.ok(drifted(r).includes("amount"), `drifted: ${drifted(r)}`);
  assert.ok(!drifted(r).includes("channel"));
  const amount = r.columns.find((c) => c.column === "amount")!;
  assert.equal(amount.result!.test, "wasserstein");
  assert.ok(amount.current.mean! > amount.reference.mean! * 1.15);
});

Deno.test("scenario: a channel mix shift drifts the channel column", async () => {
  const r = await drift(months.channel);
  assert.ok(drifted(r).includes("channel"), `drifted: ${drifted(r)}`);
  const channel = r.columns.find((c) => c.column === "channel")!;
  assert.equal(channel.result!.test, "jensenshannon");
  assert.ok(!drifted(r).includes("amount"));
});

Deno.test("scenario: a new fraud pattern shows as prediction drift", async () => {
  const r = await drift(months.newFraud);
  assert.equal(r.prediction!.drifted, true);
  assert.equal(r.datasetDrift, false, "the inputs barely move");
  assert.ok(r.prediction!.alertRate.current > r.prediction!.alertRate.reference);
  assert.equal(r.drift, true);
});

Deno.test("deno task drift: exit 3 on a drifted month, 0 on a stable one, 2 on bad input", async () => {
  const env = { FRAUDLAB_ARTIFACTS: artifacts, FRAUDLAB_REPORTS: reports };
  const out = join(reports, "drift", "drifted.html");
  const bad = await runTaskFile("drift", [
    "--ref",
    "champion",
    "--cur",
    months.drifted,
    "--since",
    MONTH_START,
    "--out",
    out,
  ], { env });
  assert.equal(bad.code, 3, bad.stderr + bad.stdout);
  assert.match(bad.stdout, /DRIFT/);
  const html = await Deno.readTextFile(out);
  assert.ok(html.length < 2_000_000);
  assert.match(html, /DRIFT DETECTED/);
  assert.ok((html.match(/<svg/g) ?? []).length >= 6, "a plot per column and the score");
  assert.ok(!/<script|https?:\/\/(?!www\.w3\.org)/.test(html), "self-contained, no scripts");
  const json = JSON.parse(await Deno.readTextFile(out.replace(/\.html$/, ".json")));
  assert.equal(json.drift, true);
  assert.equal(json.datasetDrift, true);
  const index = await Deno.readTextFile(join(reports, "index.html"));
  assert.match(index, /drift\/drifted\.html/);

  const ok = await runTaskFile("drift", [
    "--ref",
    "champion",
    "--cur",
    months.stable,
    "--since",
    MONTH_START,
    "--json",
  ], { env });
  assert.equal(ok.code, 0, ok.stderr);
  const summary = JSON.parse(ok.stdout);
  assert.equal(summary.drift, false);
  assert.equal(summary.exitCode, 0);

  const override = await runTaskFile("drift", [
    "--ref",
    `run:${trained.id}`,
    "--cur",
    months.stable,
    "--since",
    MONTH_START,
    "--test",
    "amount=psi:0.000001",
    "--json",
  ], { env });
  const o = JSON.parse(override.stdout);
  const amount = o.columns.find((c: { column: string }) => c.column === "amount");
  assert.equal(amount.result.test, "psi");
  assert.equal(amount.chosenBy, "override");
  assert.equal(amount.drifted, true);

  for (
    const [args, message] of [
      [["--ref", "champion"], /--cur/],
      [["--ref", "champion", "--cur", months.stable, "--test", "amount=nope"], /unknown test/],
      [["--ref", "champion", "--cur", months.stable, "--test", "channel=ks"], /does not apply/],
      [["--ref", "nobody@champion", "--cur", months.stable], /nobody/],
      [["--ref", "champion", "--cur", months.stable, "--since", "2025-13-01"], /--since/],
      [
        ["--ref", "champion", "--cur", months.stable, "--min-rows", "100000000"],
        /rows to monitor, fewer than --min-rows 100000000/,
      ],
      [["--ref", "champion", "--cur", months.stable, "--min-rows", "0"], /--min-rows/],
    ] as const
  ) {
    const r = await runTaskFile("drift", [...args], { env });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});
