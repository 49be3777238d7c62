import assert from "node:assert/strict";
import { oneRun } from "../testing/helpers.ts";
import { join } from "node:path";
import { trainRun } from "../jobs/train.ts";
import { removeStaleTemps, runsDir } from "./store.ts";

Deno.test("runs: half-written run folders older than an hour are removed when the next run starts", async () => {
  const { root, data } = await oneRun();
  const dir = runsDir(root);
  const old = join(dir, ".tmp-old-run-1234");
  const fresh = join(dir, ".tmp-fresh-run-5678");
  await Deno.mkdir(old);
  await Deno.mkdir(fresh);
  const hourAgo = new Date(Date.now() - 3_700_000);
  await Deno.utime(old, hourAgo, hourAgo);
  assert.deepEqual(await removeStaleTemps(dir, 3_600_000), [".tmp-old-run-1234"]);
  await Deno.utime(fresh, hourAgo, hourAgo);
  await trainRun({
    data,
    model: "iforest",
    params: { trees: 10 },
    split: { method: "time", trainDays: 7, delayDays: 7, testDays: 7, validation: "random" },
  }, { root, quiet: true });
  const left = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith(".tmp-"));
  assert.deepEqual(left, []);
});

Deno.test("runs: a run recorded before its kind gained a parameter still loads, the parameter at its default", async () => {
  const { exampleData } = await import("../testing/examples.ts");
  const { loadRun } = await import("./runs.ts");
  const { sha256Hex } = await import("../data/fingerprint.ts");
  const { jsonText } = await import("./store.ts");
  const { path } = await exampleData();
  const root = await Deno.makeTempDir();
  const run = await trainRun({
    data: path,
    model: "gbdt",
    params: { nEstimators: 5 },
    split: { method: "time", trainDays: 14, delayDays: 7, testDays: 7, validation: "random" },
  }, { root, quiet: true });
  const dir = join(runsDir(root), run.id);
  const before = await loadRun(dir);
  // As an earlier fraudlab wrote it: no baseScore among the parameters (its manifest consistent).
  const config = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
  delete config.params.baseScore;
  const text = jsonText(config);
  await Deno.writeTextFile(join(dir, "config.json"), text);
  const manifest = JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
  const bytes = new TextEncoder().encode(text);
  manifest.files["config.json"] = { sha256: sha256Hex(bytes), bytes: bytes.byteLength };
  await Deno.writeTextFile(join(dir, "manifest.json"), jsonText(manifest));
  const after = await loadRun(dir);
  assert.equal(after.detector.params.baseScore, "prior");
  const X = {
    data: new Float32Array(after.pipeline.columns.length),
    rows: 1,
    cols: after.pipeline.columns.length,
    columns: after.pipeline.columns,
  };
  assert.deepEqual(after.detector.score(X), before.detector.score(X));
});
