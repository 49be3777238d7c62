import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
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

Deno.test("prediction log: a log in the one-table layout is moved into the models/scored layout, nothing lost", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "wide.sqlite");
  const rows: PredictionRow[] = [];
  for (let i = 0; i < 30; i++) rows.push(row(i, i < 10 || i >= 20 ? 1 : 2));
  {
    // The layout of logs written before the models table existed.
    const db = new DatabaseSync(path);
    db.exec(`
      PRAGMA journal_mode = WAL;
      CREATE TABLE predictions (seq INTEGER PRIMARY KEY, transaction_id TEXT NOT NULL,
        scored_at INTEGER NOT NULL, event_time INTEGER, model TEXT NOT NULL,
        version INTEGER NOT NULL, run_id TEXT NOT NULL, score REAL NOT NULL,
        threshold REAL NOT NULL, is_fraud INTEGER NOT NULL, input TEXT NOT NULL);
      CREATE INDEX predictions_scored_at ON predictions (scored_at);
      CREATE INDEX predictions_transaction ON predictions (transaction_id);
      CREATE TABLE feedback (transaction_id TEXT PRIMARY KEY, label INTEGER NOT NULL,
        labeled_at INTEGER NOT NULL, received_at INTEGER NOT NULL);`);
    const insert = db.prepare(
      `INSERT INTO predictions (transaction_id, scored_at, event_time, model, version, run_id,
        score, threshold, is_fraud, input) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // Written in reverse scoring order: the log's own order (seq) must survive.
    for (const r of [...rows].reverse()) {
      insert.run(
        r.transaction_id,
        r.scored_at,
        r.event_time,
        r.model,
        r.version,
        r.run_id,
        r.score,
        r.threshold,
        r.is_fraud ? 1 : 0,
        r.input,
      );
    }
    db.prepare("INSERT INTO feedback VALUES (?, ?, ?, ?)").run("t7", 1, 8_000, 8_001);
    db.close();
  }
  const log = PredictionLog.open(path, { worker: false });
  const back = log.predictions(0, 10_000);
  assert.equal(back.length, 30);
  const expected = [...rows].reverse();
  back.forEach((b, i) => {
    const { label, labeled_at, ...rest } = b;
    assert.deepEqual(rest, expected[i], `row ${i}`);
    assert.equal(label, expected[i].transaction_id === "t7" ? 1 : null);
    assert.equal(labeled_at, expected[i].transaction_id === "t7" ? 8_000 : null);
  });
  log.append(row(30, 2));
  assert.equal(log.count(), 31);
  assert.deepEqual(
    log.summary(0, 10_000).map((s) => [s.version, s.predictions]),
    [[1, 20], [2, 11]],
  );
  log.close();
  const db = new DatabaseSync(path);
  const tables = db.prepare(
    "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name",
  ).all().map((r) => `${r.type} ${r.name}`);
  assert.deepEqual(tables, [
    "table feedback",
    "table models",
    "view predictions",
    "table quarantine",
    "table scored",
  ]);
  assert.equal((db.prepare("SELECT count(*) AS n FROM models").get() as { n: number }).n, 2);
  db.close();
});
