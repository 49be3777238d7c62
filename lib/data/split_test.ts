import assert from "node:assert/strict";
import {
  requireBothClasses,
  splitCounts,
  splitMod5,
  splitPrefix,
  splitStratified,
  splitTimeWindows,
} from "./split.ts";
import { UserError } from "../util/errors.ts";

const DAY = 86_400_000;

Deno.test("splitMod5: row i is test iff i % 5 == 4", () => {
  const s = splitMod5(12);
  assert.deepEqual([...s.test], [4, 9]);
  assert.equal(s.train.length, 10);
  assert.deepEqual([...splitMod5(5).test], [4]);
  assert.equal(splitMod5(4).test.length, 0);
});

Deno.test("splitPrefix: 0.8 is (4n) div 5 like the protocol's time80", () => {
  const s = splitPrefix(7972);
  assert.equal(s.train.length, 6377);
  assert.equal(s.test[0], 6377);
});

Deno.test("splitStratified: keeps the fraud rate, is seeded, covers every row once", () => {
  const y = Array.from({ length: 1000 }, (_, i) => (i % 50 === 0 ? 1 : 0));
  const a = splitStratified(y, { testFraction: 0.2, seed: 3 });
  const b = splitStratified(y, { testFraction: 0.2, seed: 3 });
  const c = splitStratified(y, { testFraction: 0.2, seed: 4 });
  assert.deepEqual(a.test, b.test);
  assert.notDeepEqual(a.test, c.test);
  const counts = splitCounts(a, y);
  assert.deepEqual(counts.test, { rows: 200, positives: 4 });
  assert.deepEqual(counts.train, { rows: 800, positives: 16 });
  const all = new Set([...a.train, ...a.test]);
  assert.equal(all.size, 1000);
});

Deno.test("splitStratified: a single fraud row lands on one side and the other side is single-class", () => {
  const y = [1, ...Array(9).fill(0)];
  const s = splitStratified(y, { testFraction: 0.3, seed: 1 });
  const counts = splitCounts(s, y);
  assert.equal(counts.train.positives + counts.test.positives, 1);
  assert.throws(
    () => requireBothClasses(s, y),
    (e) => e instanceof UserError && /single class/.test(e.message),
  );
});

Deno.test("splitTimeWindows: train, gap and test windows by event time", () => {
  const t0 = Date.UTC(2025, 0, 1);
  const times = Array.from({ length: 30 }, (_, d) => t0 + d * DAY + 3600_000);
  const s = splitTimeWindows(times, { trainDays: 10, gapDays: 5, testDays: 7 });
  assert.deepEqual([...s.train], Array.from({ length: 10 }, (_, i) => i));
  assert.deepEqual([...s.test], Array.from({ length: 7 }, (_, i) => 15 + i));
});

Deno.test("splitTimeWindows: an empty window is a UserError naming it and the data's range", () => {
  const t0 = Date.UTC(2025, 0, 1);
  const times = Array.from({ length: 10 }, (_, d) => t0 + d * DAY);
  assert.throws(
    () => splitTimeWindows(times, { trainDays: 8, gapDays: 5, testDays: 3 }),
    (e) =>
      e instanceof UserError &&
      /test window 2025-01-14T00:00:00 .* holds no rows \(data spans 2025-01-01T00:00:00 to 2025-01-10/
        .test(e.message),
  );
  assert.throws(
    () => splitTimeWindows(times, { trainDays: 2, testDays: 2, startMs: t0 - 100 * DAY }),
    (e) => e instanceof UserError && /train window/.test(e.message),
  );
});

Deno.test("requireBothClasses: accepts a split with fraud on both sides", () => {
  const y = [0, 1, 0, 0, 1, 0, 1, 0, 0, 0];
  requireBothClasses(splitMod5(10), y);
  assert.throws(
    () => requireBothClasses(splitMod5(10), [1, 0, 0, 0, 0, 1, 0, 0, 0, 0]),
    /test side/,
  );
});
