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
    "view shadow_predictions",
  ]);
  assert.equal((db.prepare("SELECT count(*) AS n FROM models").get() as { n: number }).n, 2);
  db.close();
});

for (const worker of [true, false]) {
  Deno.test(`prediction log (${worker ? "writer worker" : "inline"}): a row that fails alone is quarantined with its error, the rest of its batch written`, async () => {
    const dir = await Deno.makeTempDir();
    const path = join(dir, "p.sqlite");
    const log = PredictionLog.open(path, { worker, flushMs: 5 });
    for (let i = 0; i < 10; i++) log.append({ ...row(i, 1), score: i === 6 ? NaN : i / 100 });
    log.flush();
    await new Promise((r) => setTimeout(r, 20)); // the writer's reply
    assert.deepEqual(log.stats, { written: 9, quarantined: 1, dropped: 0, pending: 0 });
    assert.equal(log.count(), 9);
    log.close();
    const db = new DatabaseSync(path);
    const q = db.prepare("SELECT error, row FROM quarantine").all() as {
      error: string;
      row: string;
    }[];
    db.close();
    assert.equal(q.length, 1);
    assert.match(q[0].error, /NOT NULL constraint failed: scored.score/);
    assert.equal(JSON.parse(q[0].row).transaction_id, "t6");
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("prediction log: while another connection holds the write lock the log says it is unavailable, feedback waits without blocking the thread, and every row is written once the lock goes", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "p.sqlite");
  const log = PredictionLog.open(path, { flushMs: 5, busyTimeoutMs: 100 });
  const other = new DatabaseSync(path);
  other.exec("BEGIN EXCLUSIVE");
  for (let i = 0; i < 50; i++) log.append(row(i, 1));
  const until = Date.now() + 5000;
  while (log.status.available && Date.now() < until) await sleep(10);
  assert.equal(log.status.available, false);
  assert.match(log.status.reason ?? "", /locked|busy/i);
  assert.equal(log.stats.pending, 50);
  // A label waits for the writer; the thread keeps running timers meanwhile.
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 5);
  const t0 = performance.now();
  await assert.rejects(
    () =>
      log.addFeedbackAsync({ transaction_id: "t1", label: 1, labeled_at: 1 }, { timeoutMs: 300 }),
    /locked|busy|not written/i,
  );
  clearInterval(ticker);
  assert.ok(performance.now() - t0 < 2000);
  assert.ok(ticks >= 10, `the event loop ran ${ticks} ticks while the label waited`);
  other.exec("ROLLBACK");
  other.close();
  const until2 = Date.now() + 15_000;
  // Counts are shared memory, the writer's "done" a message: wait for both.
  while ((log.stats.pending > 0 || !log.status.available) && Date.now() < until2) await sleep(20);
  assert.equal(log.status.available, true);
  assert.deepEqual(log.stats, { written: 50, quarantined: 0, dropped: 0, pending: 0 });
  await log.addFeedbackAsync({ transaction_id: "t1", label: 1, labeled_at: 1 }, { source: "ops" });
  assert.equal(log.hasPrediction("t1"), true);
  assert.equal(log.hasPrediction("nope"), false);
  const st = await log.closeWithin(1000);
  assert.equal(st.written, 50);
  const db = new DatabaseSync(path);
  assert.deepEqual(
    { ...db.prepare("SELECT label, source FROM feedback").get() },
    { label: 1, source: "ops" },
  );
  db.close();
});

Deno.test("prediction log: closed while it cannot be written, it counts the rows it lost instead of claiming them", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "p.sqlite");
  const log = PredictionLog.open(path, { flushMs: 5, busyTimeoutMs: 50 });
  const other = new DatabaseSync(path);
  other.exec("BEGIN EXCLUSIVE");
  for (let i = 0; i < 20; i++) log.append(row(i, 1));
  const st = await log.closeWithin(400);
  other.exec("ROLLBACK");
  other.close();
  assert.deepEqual(st, { written: 0, quarantined: 0, dropped: 20, pending: 0 });
});

Deno.test("prediction log: a log that cannot be written is refused when opened", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "a-file");
  await Deno.writeTextFile(file, "x");
  assert.throws(() => PredictionLog.open(join(file, "log.sqlite")), /prediction log .*cannot open/);
  const path = join(dir, "p.sqlite");
  PredictionLog.open(path, { worker: false }).close();
  const other = new DatabaseSync(path);
  other.exec("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE");
  assert.throws(
    () => PredictionLog.open(path, { worker: false, busyTimeoutMs: 50 }),
    /cannot open for writing \(database is locked\)/,
  );
  other.exec("ROLLBACK");
  other.close();
});
