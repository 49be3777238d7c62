import assert from "node:assert/strict";
import { join } from "node:path";
import { monitorLog, parseLogWindow } from "./monitor.ts";
import { PredictionLog, type PredictionRow } from "../serving/predlog.ts";
import { UserError } from "../util/errors.ts";

const DAY = 86_400_000;

Deno.test("log windows: relative spans and day or time ranges; bad ones named", () => {
  const now = Date.UTC(2026, 10, 22, 12);
  assert.deepEqual(parseLogWindow("log:24h", now), { from: now - DAY, to: now, label: "log:24h" });
  assert.equal(parseLogWindow("log:90m", now).from, now - 90 * 60_000);
  assert.equal(parseLogWindow("log:7d", now).from, now - 7 * DAY);
  const days = parseLogWindow("log:2026-11-01..2026-11-07", now);
  assert.equal(days.from, Date.UTC(2026, 10, 1));
  assert.equal(days.to, Date.UTC(2026, 10, 8), "the last day is included");
  const times = parseLogWindow("log:2026-11-01T06:00:00Z..2026-11-01T18:00:00Z", now);
  assert.equal(times.to - times.from, 12 * 3_600_000);
  assert.equal(parseLogWindow("log:2026-11-20..", now).to, now);
  for (
    const bad of [
      "24h",
      "log:",
      "log:24x",
      "log:0h",
      "log:2026-13-01..",
      "log:2026-11-07..2026-11-01",
    ]
  ) {
    assert.throws(() => parseLogWindow(bad, now), UserError, bad);
  }
});

Deno.test("monitor: alert rate, label coverage, precision and recall per day and version", async () => {
  const dir = await Deno.makeTempDir();
  const log = PredictionLog.open(join(dir, "p.sqlite"), { worker: false });
  const day0 = Date.UTC(2026, 10, 1);
  const rows: (PredictionRow & { label: 0 | 1 | null })[] = [];
  let seed = 7;
  const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (let i = 0; i < 600; i++) {
    const version = i < 400 ? 1 : 2;
    const score = rand();
    const threshold = version === 1 ? 0.8 : 0.7;
    const u = rand();
    rows.push({
      transaction_id: `t${i}`,
      scored_at: day0 + Math.floor(i / 200) * DAY + i * 1000,
      event_time: null,
      model: "m",
      version,
      run_id: `r${version}`,
      score,
      threshold,
      is_fraud: score >= threshold,
      input: "{}",
      label: u < 0.5 ? null : (rand() < score * 0.4 ? 1 : 0),
    });
  }
  for (const r of rows) {
    const { label: _l, ...row } = r;
    log.append(row);
  }
  for (const r of rows) {
    if (r.label !== null) {
      log.addFeedback({
        transaction_id: r.transaction_id,
        label: r.label,
        labeled_at: r.scored_at + DAY,
      });
    }
  }
  log.addFeedback({ transaction_id: "unknown", label: 1, labeled_at: day0 }, day0 + 5);
  const report = monitorLog(log, { from: day0, to: day0 + 3 * DAY, label: "test" });
  log.close();

  const expect = (sel: typeof rows) => {
    const labeled = sel.filter((r) => r.label !== null);
    const tp = labeled.filter((r) => r.is_fraud && r.label === 1).length;
    const fp = labeled.filter((r) => r.is_fraud && r.label === 0).length;
    const fn = labeled.filter((r) => !r.is_fraud && r.label === 1).length;
    return {
      predictions: sel.length,
      alerts: sel.filter((r) => r.is_fraud).length,
      labeled: labeled.length,
      tp,
      fp,
      fn,
      precision: tp / (tp + fp),
      recall: tp / (tp + fn),
    };
  };
  const check = (got: Record<string, number>, want: Record<string, number>, what: string) => {
    for (const [k, v] of Object.entries(want)) assert.equal(got[k], v, `${what} ${k}`);
  };
  check(report.total as unknown as Record<string, number>, expect(rows), "total");
  assert.equal(report.total.alertRate, expect(rows).alerts / 600);
  // Day 2 holds rows 400..599 (version 2); day 1 rows 200..399 (version 1).
  assert.equal(report.days.length, 3);
  check(report.days[1] as unknown as Record<string, number>, expect(rows.slice(200, 400)), "day 2");
  assert.equal(report.days[2].version, 2);
  assert.equal(report.versions.length, 2);
  check(report.versions[0] as unknown as Record<string, number>, expect(rows.slice(0, 400)), "v1");
  check(report.versions[1] as unknown as Record<string, number>, expect(rows.slice(400)), "v2");
  assert.equal(report.unmatchedFeedback, 1);
});
