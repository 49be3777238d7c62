import assert from "node:assert/strict";
import { runTaskFile, simFile, TIME_SPLIT } from "../testing/helpers.ts";
import { join } from "node:path";
import { simulateTransactions } from "../data/simulate.ts";
import { writeFrame } from "../data/write.ts";
import { kindNames } from "../models/mod.ts";
import { loadRun } from "../registry/runs.ts";
import { writeEvalReport } from "../report/eval_report.ts";
import { trainRun } from "./train.ts";

async function runFiles(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, prefix: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(join(d, e.name), `${prefix}${e.name}/`);
      else out[prefix + e.name] = new TextDecoder().decode(await Deno.readFile(join(d, e.name)));
    }
  };
  await walk(dir, "");
  return out;
}

Deno.test("train: every kind twice gives byte-identical model files, pipeline and metrics", async () => {
  const data = await simFile();
  const root = await Deno.makeTempDir();
  for (const model of kindNames()) {
    const params: Record<string, number> = model === "autoencoder"
      ? { epochs: 3 }
      : model === "gbdt"
      ? { nEstimators: 30, maxDepth: 4 }
      : model === "rf"
      ? { nEstimators: 10, maxDepth: 6 }
      : {};
    const a = await trainRun({ data, model, params, split: TIME_SPLIT, seed: 4 }, {
      root,
      quiet: true,
    });
    const b = await trainRun({ data, model, params, split: TIME_SPLIT, seed: 4 }, {
      root,
      quiet: true,
    });
    assert.notEqual(a.id, b.id);
    const fa = await runFiles(a.dir), fb = await runFiles(b.dir);
    for (const f of Object.keys(fa)) {
      if (["run.json", "timings.json", "manifest.json"].includes(f)) continue;
      assert.equal(fa[f], fb[f], `${model}: ${f} differs between identical runs`);
    }
    assert.ok(Object.keys(fa).some((f) => f.startsWith("model/")), `${model} wrote model files`);
  }
  await Deno.remove(root, { recursive: true });
  await Deno.remove(data);
});

Deno.test("train (time split): per-day precision@100 and card precision@100; report and reload", async () => {
  const data = await simFile();
  const root = await Deno.makeTempDir(), reports = await Deno.makeTempDir();
  const r = await trainRun({ data, model: "logreg", split: TIME_SPLIT, threshold: "budget:50" }, {
    root,
    quiet: true,
  });
  assert.equal(r.test.dailyPrecisionAtK!.days.length, 7);
  assert.equal(r.test.entityPrecisionAtK!.entity, "customer_id");
  assert.equal(r.test.entityPrecisionAtK!.days.length, 7);
  assert.ok(r.test.rocAuc > 0.6, `AUC ${r.test.rocAuc}`);
  const run = await loadRun(r.id, root);
  assert.equal(run.config.split.method, "time");
  assert.equal(run.threshold.strategy, "budget:50");
  const html = await Deno.readTextFile(await writeEvalReport(r.dir, reports));
  for (
    const part of [
      "Precision–recall",
      "ROC",
      "Confusion matrix",
      "Alert budget",
      "Cost by alerts",
      "Model card",
      "<svg",
    ]
  ) {
    assert.ok(html.includes(part), `report lacks ${part}`);
  }
  assert.ok(!/<script|https?:\/\/(?!www\.w3\.org)/.test(html), "report must be self-contained");
  assert.ok((await Deno.readTextFile(join(reports, "index.html"))).includes(r.id));
  await Deno.remove(root, { recursive: true });
  await Deno.remove(reports, { recursive: true });
  await Deno.remove(data);
});

Deno.test("tasks: train --json, re-run with --config, promote, runs, evaluate; errors exit 2", async () => {
  const data = await simFile();
  const root = await Deno.makeTempDir(), reports = await Deno.makeTempDir();
  const env = { FRAUDLAB_ARTIFACTS: root, FRAUDLAB_REPORTS: reports };
  const train = await runTaskFile("train", [
    "--data",
    data,
    "--spec",
    "txsim",
    "--model",
    "iforest",
    "--param",
    "trees=50",
    "--split",
    "time",
    "--train-days",
    "7",
    "--delay-days",
    "7",
    "--test-days",
    "7",
    "--json",
    "--quiet",
  ], { env });
  assert.equal(train.code, 0, train.stderr);
  const out = JSON.parse(train.stdout.trim().split("\n").at(-1)!);
  assert.ok(
    out.run_id && out.test.rocAuc > 0.5 && out.dailyPrecisionAtK !== null &&
      out.entityPrecisionAtK !== null,
  );
  await Deno.stat(out.report);
  const rerun = await runTaskFile("train", [
    "--config",
    join(out.dir, "config.json"),
    "--json",
    "--quiet",
  ], { env });
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.deepEqual(JSON.parse(rerun.stdout.trim().split("\n").at(-1)!).test, out.test);
  const prom = await runTaskFile("promote", [out.run_id], { env });
  assert.equal(prom.code, 0, prom.stderr);
  assert.match(prom.stdout, /txsim v1 .* is now champion/);
  const runs = await runTaskFile("runs", [], { env });
  assert.match(runs.stdout, /txsim v1 \(champion\)/);
  const ev = await runTaskFile("evaluate", ["--run", "champion", "--data", data, "--json"], {
    env: env,
  });
  assert.equal(ev.code, 0, ev.stderr);
  assert.equal(JSON.parse(ev.stdout.trim()).run_id, out.run_id);
  for (
    const args of [
      ["--data", data, "--model", "svm"],
      ["--data", data, "--param", "trees"],
      ["--data", data, "--split", "time", "--train-days", "x"],
      ["--data", "/nonexistent.csv"],
      ["--data", data, "--threshold", "best"],
      ["--data", data, "--promote-if-better", "accuracy"],
    ]
  ) {
    const r = await runTaskFile("train", [...args, "--quiet"], { env });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^error: /m);
  }
  const bad = await runTaskFile("promote", ["nope"], { env });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /no run "nope"/);
  await Deno.remove(root, { recursive: true });
  await Deno.remove(reports, { recursive: true });
  await Deno.remove(data);
});

Deno.test("threshold budget:K: alerts per day on test land within 20% of K (validation counted in days of full traffic)", async () => {
  const data = await Deno.makeTempFile({ prefix: "fraudlab_sim_", suffix: ".parquet" });
  // 75 days: the training window starts after every velocity window is full.
  writeFrame(simulateTransactions({ customers: 1000, days: 75, seed: 8, quiet: true }), data);
  const root = await Deno.makeTempDir();
  // Validation is a 20% sample of the training days: counted as whole days it
  // read 5x too few alerts per day, and test days got about 5x K.
  for (const k of [50, 100, 200]) {
    const run = await trainRun({
      data,
      model: "logreg",
      split: { method: "time", trainDays: 14, delayDays: 7, testDays: 7 },
      threshold: `budget:${k}`,
    }, { root, quiet: true });
    const t = run.test.atThreshold;
    const perDay = (t.tp + t.fp) / run.test.days!;
    assert.ok(
      Math.abs(perDay - k) <= 0.2 * k,
      `budget:${k}: ${perDay.toFixed(1)} alerts/day on test`,
    );
  }
});

Deno.test("train gbdt: the report adds global importance (mean |SHAP|, split gain, cover) and a SHAP summary", async () => {
  const data = await simFile();
  const root = await Deno.makeTempDir(), reports = await Deno.makeTempDir();
  const r = await trainRun({
    data,
    model: "gbdt",
    params: { nEstimators: 20, maxDepth: 4 },
    split: TIME_SPLIT,
  }, { root, quiet: true });
  const fit = JSON.parse(await Deno.readTextFile(join(r.dir, "fit.json")));
  assert.equal(fit.gainImportance.length, r.pipeline.columns.length);
  assert.ok(fit.gainImportance.every((g: number) => g >= 0));
  const explain = JSON.parse(await Deno.readTextFile(join(r.dir, "explain.json")));
  assert.equal(explain.summary.features.length, r.pipeline.columns.length);
  assert.equal(explain.summary.points.length, 10);
  assert.equal(explain.summary.points[0].contributions.length, explain.summary.rows);
  const html = await Deno.readTextFile(await writeEvalReport(r.dir, reports));
  assert.match(html, /Global importance: mean \|SHAP\|/);
  assert.match(html, /Contribution summary \(test\)/);
  assert.match(html, /<th>split gain share<\/th><th>cover share<\/th>/);
  assert.match(html, /exact TreeSHAP value/);
});
