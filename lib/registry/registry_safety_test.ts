import assert from "node:assert/strict";
import { join } from "node:path";
import { simulateTransactions } from "../data/simulate.ts";
import { writeFrame } from "../data/write.ts";
import { runTaskFile } from "../testing/helpers.ts";

import { promote, readRegistry, resolveModelRef } from "./aliases.ts";
import { removeStaleTemps, runsDir } from "./store.ts";
import { trainRun } from "../jobs/train.ts";

async function oneRun() {
  const data = await Deno.makeTempFile({ prefix: "fraudlab_sim_", suffix: ".parquet" });
  writeFrame(simulateTransactions({ customers: 200, days: 30, seed: 5, quiet: true }), data);
  const root = await Deno.makeTempDir();
  const run = await trainRun({
    data,
    model: "logreg",
    split: { method: "time", trainDays: 7, delayDays: 7, testDays: 7 },
  }, { root, quiet: true });
  return { data, root, run };
}

Deno.test("registry: promotions at once never lose a version (in-process and across processes)", async () => {
  const { root, run } = await oneRun();
  for (let trial = 0; trial < 5; trial++) {
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => promote(run.id, { root, model: `m${trial}-${i}` })),
    );
  }
  const reg = await readRegistry(root);
  assert.equal(Object.keys(reg.models).length, 40, "every promotion kept");
  // Four `deno task promote` processes at once, each adding a model.
  const env = { FRAUDLAB_ARTIFACTS: root };
  const outs = await Promise.all(
    Array.from({ length: 4 }, (_, i) => runTaskFile("promote", [run.id, "--model", `p${i}`], env)),
  );
  for (const o of outs) assert.equal(o.code, 0, o.stderr);
  assert.equal(Object.keys((await readRegistry(root)).models).length, 44);
});

Deno.test("registry: names are checked, inherited properties are never looked up, refs take NAME@VERSION", async () => {
  const { root, run } = await oneRun();
  const env = { FRAUDLAB_ARTIFACTS: root };
  await promote(run.id, { root, model: "pay" });
  // An alias named like an Object.prototype property is a plain new alias.
  const r = await runTaskFile("promote", [run.id, "--model", "pay", "--alias", "constructor"], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /pay v1 \(run .*\) is now constructor\n$/);
  await assert.rejects(
    () => resolveModelRef("pay@toString", root),
    /no version or alias "toString"|not a model reference/,
  );
  await assert.rejects(() => resolveModelRef("hasOwnProperty", root), /no model has the alias/);
  await assert.rejects(
    () => resolveModelRef("constructor@champion", root),
    /no registered model "constructor"/,
  );
  for (
    const [args, re] of [
      [["--model", "Pay!"], /--model: "Pay!" is not a valid model name/],
      [["--model", "pay", "--alias", "a b"], /--alias: "a b" is not a valid alias/],
      [["--model", "pay", "--alias", "__proto__"], /not a valid alias/],
    ] as const
  ) {
    const bad = await runTaskFile("promote", [run.id, ...args], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, re);
    assert.equal(bad.stderr.trim().split("\n").length, 1);
  }
  // promote takes NAME@VERSION and NAME@ALIAS too.
  const byVersion = await runTaskFile("promote", ["pay@1", "--alias", "challenger"], env);
  assert.equal(byVersion.code, 0, byVersion.stderr);
  assert.match(byVersion.stdout, /pay v1 .* is now challenger/);
  const byAlias = await runTaskFile("promote", ["pay@challenger", "--alias", "shadow"], env);
  assert.equal(byAlias.code, 0, byAlias.stderr);
  const reg = await readRegistry(root);
  assert.deepEqual({ ...reg.models.pay.aliases }, {
    champion: 1,
    constructor: 1,
    challenger: 1,
    shadow: 1,
  });
});

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
    split: { method: "time", trainDays: 7, delayDays: 7, testDays: 7 },
  }, { root, quiet: true });
  const left = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith(".tmp-"));
  assert.deepEqual(left, []);
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
