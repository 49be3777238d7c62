import assert from "node:assert/strict";
import { join } from "node:path";
import { PredictionLog, type PredictionRow } from "./predlog.ts";

function row(i: number, version: number): PredictionRow {
  return {
    transaction_id: `t${i}`,
    scored_at: 1_000 + i,
    event_time: i % 3 === 0 ? null : 5_000 + i,
    model: "m",
    version,
    run_id: `run${version}`,
    score: i / 100,
    threshold: version === 1 ? 0.5 : 0.25,
    is_fraud: i % 2 === 0,
    input: JSON.stringify({ i, s: 'a"b\\n' }),
  };
}

for (const worker of [true, false]) {
  Deno.test(`prediction log (${worker ? "writer worker" : "inline"}): rows come back as appended, across model versions and batches`, async () => {
    const dir = await Deno.makeTempDir();
    const log = PredictionLog.open(join(dir, "p.sqlite"), { worker, maxBatch: 7, flushMs: 5 });
    const rows: PredictionRow[] = [];
    for (let i = 0; i < 40; i++) rows.push(row(i, i < 15 || i >= 30 ? 1 : 2));
    for (const r of rows.slice(0, 20)) log.append(r);
    await new Promise((r) => setTimeout(r, 30)); // some batches written by the timer
    for (const r of rows.slice(20)) log.append(r);
    log.addFeedback({ transaction_id: "t4", label: 1, labeled_at: 9_000 }, 9_001);
    const back = log.predictions(0, 10_000);
    assert.equal(back.length, 40);
    back.forEach((b, i) => {
      const { label, labeled_at, ...rest } = b;
      assert.deepEqual(rest, rows[i], `row ${i}`);
      assert.equal(label, i === 4 ? 1 : null);
      assert.equal(labeled_at, i === 4 ? 9_000 : null);
    });
    assert.equal(log.count(), 40);
    assert.equal(log.pending, 0);
    log.close();
    const again = PredictionLog.open(join(dir, "p.sqlite"), { worker });
    assert.equal(again.count(), 40, "rows persist across opens");
    again.close();
  });
}
