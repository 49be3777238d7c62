import assert from "node:assert/strict";
import { readRegistry } from "../registry/aliases.ts";
import { runSimulateOps } from "./simulate_ops.ts";

Deno.test("simulate-ops: month after month the loop scores, checks drift, retrains and gates; the report shows both models", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fraudlab_ops_" });
  const seen: number[] = [];
  const r = await runSimulateOps({
    months: 2,
    customers: 300,
    model: "logreg",
    events: [{ month: 2, scenario: "new_fraud", intensity: 2 }],
    dir,
    onMonth: (m) => seen.push(m.month),
  });
  assert.deepEqual(seen, [1, 2]);
  const [m1, m2] = r.months;
  // Month 1: the champion is still the first model, the frozen one.
  assert.deepEqual(m1.loop, m1.frozen);
  assert.equal(m1.champion.version, 1);
  assert.deepEqual(m2.events, ["new_fraud"]);
  for (const m of r.months) {
    assert.ok(m.rows > 0 && m.scored.rows > 0 && m.scored.refused === 0);
    assert.ok(["promote", "keep", "reject"].includes(m.gate.decision));
  }
  // Every gate decision is in the registry history, with its evidence.
  const reg = await readRegistry(`${dir}/artifacts`);
  const decisions = reg.models.ops.history.filter((h) => h.decision);
  assert.equal(decisions.length, 2);
  assert.ok(decisions.every((h) => h.evidence));
  // The champion of month 2 is what the first gate left.
  assert.equal(m2.champion.version, m1.gate.decision === "promote" ? m1.gate.challenger : 1);
  assert.equal(r.afterEvents.length, 1);
  assert.deepEqual(r.afterEvents[0].months, [2]);
  const html = await Deno.readTextFile(r.report);
  assert.match(html, /Average precision by month/);
  assert.equal((html.match(/<svg/g) ?? []).length >= 3, true);
  assert.match(html, /Gate decisions/);
});
