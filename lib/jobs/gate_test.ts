import assert from "node:assert/strict";
import { simulateTransactions } from "../data/simulate.ts";
import { writeFrame } from "../data/write.ts";
import { aliasLineage, promote, readRegistry, rollback } from "../registry/aliases.ts";
import { decideGate, resolveGateRules, runGate } from "./gate.ts";
import { trainRun } from "./train.ts";

/** A world, a strong run (gbdt) and a weak one (iforest, unsupervised) on its first weeks. */
async function world() {
  const dir = await Deno.makeTempDir({ prefix: "fraudlab_gate_" });
  const data = `${dir}/tx.parquet`;
  writeFrame(simulateTransactions({ customers: 400, days: 50, seed: 5, quiet: true }), data);
  const root = `${dir}/artifacts`;
  const split = {
    method: "time" as const,
    trainDays: 14,
    delayDays: 7,
    testDays: 7,
    validation: "random" as const,
  };
  const strong = await trainRun({ data, model: "gbdt", split, seed: 1 }, { root, quiet: true });
  const weak = await trainRun({ data, model: "iforest", split, seed: 1 }, { root, quiet: true });
  return { data, root, strong, weak, since: "2025-02-05" };
}

Deno.test("decideGate: promote, keep and reject at the rule boundaries", () => {
  const rules = resolveGateRules({ minGain: 0.01, maxLoss: 0.02 });
  const base = { averagePrecision: 0.5, entityPrecisionAtK: 0.3, recallAt1pctFpr: 0.4 };
  assert.equal(decideGate(base, { ...base, averagePrecision: 0.51 }, rules).decision, "promote");
  assert.equal(decideGate(base, { ...base, averagePrecision: 0.509 }, rules).decision, "keep");
  assert.equal(decideGate(base, { ...base, averagePrecision: 0.49 }, rules).decision, "keep");
  assert.equal(decideGate(base, { ...base, averagePrecision: 0.479 }, rules).decision, "reject");
  // A guarded metric losing too much rejects even a big primary gain.
  const d = decideGate(base, { ...base, averagePrecision: 0.6, entityPrecisionAtK: 0.27 }, rules);
  assert.equal(d.decision, "reject");
  assert.match(d.reason, /entityPrecisionAtK 0\.2700 vs 0\.3000/);
  // Relative gain: 2% of 0.5 = 0.01 needed even when the absolute floor is lower.
  const rel = resolveGateRules({ minGain: 0, minRelativeGain: 0.04 });
  assert.equal(decideGate(base, { ...base, averagePrecision: 0.519 }, rel).decision, "keep");
  assert.equal(decideGate(base, { ...base, averagePrecision: 0.52 }, rel).decision, "promote");
  assert.equal(decideGate(null, base, rules).decision, "promote");
  assert.throws(() => resolveGateRules({ metric: "accuracy" }), /unknown metric "accuracy"/);
  assert.throws(() => resolveGateRules({ maxLoss: -1 }), /maxLoss must be a number >= 0/);
});

Deno.test("gate: promotes a better challenger, rejects a worse one, keeps a too-small gain, with evidence", async () => {
  const w = await world();
  const { root, data, since } = w;
  await promote(w.weak.id, { root, model: "m" });
  await promote(w.strong.id, { root, model: "m", alias: "challenger" });
  const p = await runGate({ model: "m", data, since, root });
  assert.equal(p.decision, "promote", p.reason);
  let reg = await readRegistry(root);
  assert.equal(reg.models.m.aliases.champion, 2);
  assert.equal(reg.models.m.aliases.challenger, undefined);
  const event = reg.models.m.history.find((h) => h.decision === "promote")!;
  assert.equal(event.alias, "champion");
  assert.deepEqual([event.from, event.to], [1, 2]);
  const ev = event.evidence as {
    comparisons: { metric: string; change: number }[];
    window: { rows: number };
  };
  assert.ok(ev.comparisons.find((c) => c.metric === "averagePrecision")!.change > 0.005);
  assert.ok(ev.window.rows > 0);

  // The weak run back as challenger: worse by far more than the tolerated loss.
  await promote(w.weak.id, { root, model: "m", alias: "challenger" });
  const r = await runGate({ model: "m", data, since, root });
  assert.equal(r.decision, "reject", r.reason);
  reg = await readRegistry(root);
  assert.equal(reg.models.m.aliases.champion, 2, "the champion is untouched");
  assert.equal(reg.models.m.aliases.challenger, undefined, "a rejected challenger loses its alias");
  assert.equal(reg.models.m.history.at(-1)!.decision, "reject");

  // A gain that is real but below the rule keeps the challenger (as challenger).
  await promote(w.weak.id, { root, model: "m2" });
  await promote(w.strong.id, { root, model: "m2", alias: "challenger" });
  const k = await runGate({ model: "m2", data, since, root, rules: { minGain: 0.99 } });
  assert.equal(k.decision, "keep", k.reason);
  assert.match(k.reason, /gain too small/);
  reg = await readRegistry(root);
  assert.deepEqual({ ...reg.models.m2.aliases }, { champion: 1, challenger: 2 });
  assert.equal(reg.models.m2.history.at(-1)!.decision, "keep");

  // A dry run decides and changes nothing.
  const before = await Deno.readTextFile(`${root}/registry.json`);
  const dry = await runGate({ model: "m2", data, since, root, dryRun: true });
  assert.equal(dry.decision, "promote");
  assert.equal(dry.record, null);
  assert.equal(await Deno.readTextFile(`${root}/registry.json`), before);
});

Deno.test("rollback: restores the previous champion, and again the one before, then refuses", async () => {
  const w = await world();
  const { root } = w;
  await promote(w.weak.id, { root, model: "r" }); // v1
  await promote(w.strong.id, { root, model: "r" }); // v2
  const third = await trainRun({
    data: w.data,
    model: "logreg",
    split: { method: "time", trainDays: 14, delayDays: 7, testDays: 7, validation: "random" },
  }, { root, quiet: true });
  await promote(third.id, { root, model: "r" }); // v3
  assert.deepEqual(await rollback("r", { root }), {
    model: "r",
    alias: "champion",
    from: 3,
    to: 2,
  });
  assert.deepEqual(await rollback("r", { root }), {
    model: "r",
    alias: "champion",
    from: 2,
    to: 1,
  });
  await assert.rejects(() => rollback("r", { root }), /has no earlier version to roll back to/);
  const reg = await readRegistry(root);
  assert.equal(reg.models.r.aliases.champion, 1);
  assert.deepEqual(aliasLineage(reg.models.r, "champion"), [1]);
  assert.equal(reg.models.r.history.filter((h) => h.kind === "rollback").length, 2);
  // Promoting again after rollbacks starts a new lineage from the restored version.
  await promote(third.id, { root, model: "r" });
  assert.deepEqual(await rollback("r", { root }), {
    model: "r",
    alias: "champion",
    from: 3,
    to: 1,
  });
  await assert.rejects(() => rollback("nope", { root }), /no registered model "nope"/);
  await assert.rejects(() => runGate({ model: "r", data: w.data, root }), /has no challenger/);
});
