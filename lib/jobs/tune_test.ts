import assert from "node:assert/strict";
import { simulateHandbook } from "../data/handbook.ts";
import { writeFrame } from "../data/write.ts";
import { configurations, parseParamSpace, tuneRun } from "./tune.ts";
import { UserError } from "../util/errors.ts";

Deno.test("tune: the run refits the configuration it reports as best, and holds the search", async () => {
  const root = await Deno.makeTempDir();
  const data = `${root}/hb.parquet`;
  writeFrame(simulateHandbook({ customers: 800, terminals: 1600, days: 75, seed: 5 }), data);
  const input = {
    config: {
      data,
      spec: "handbook",
      model: "dt",
      split: {
        method: "time" as const,
        trainDays: 7,
        delayDays: 7,
        testDays: 7,
        validation: "random" as const,
      },
      features: { velocity: { rules: "handbook" as const } },
    },
    spaces: [parseParamSpace("maxDepth=1,3,6")],
    folds: 3,
    metric: "ap" as const,
  };
  const { report, run } = await tuneRun({ ...input, workers: 2 }, { root, quiet: true });
  // On two worker threads, the figures of this thread alone.
  const alone = await tuneRun({ ...input, workers: 1 }, { root, quiet: true });
  assert.deepEqual(
    report.results.map((r) => r.folds),
    alone.report.results.map((r) => r.folds),
  );
  assert.equal(report.results.length, 3);
  const means = report.results.map((r) => r.mean.ap);
  assert.equal(report.best, means.indexOf(Math.max(...means)));
  assert.equal(run.config.params.maxDepth, report.results[report.best].params.maxDepth);
  assert.deepEqual(JSON.parse(await Deno.readTextFile(`${run.dir}/tune.json`)), report);
  // No fold reaches the run's test window; each trains before the delay and its own week.
  const testStart = /test (\d{4}-\d{2}-\d{2})/.exec(run.split)![1];
  for (const f of report.folds) {
    assert.ok(f.assess[1] <= testStart, JSON.stringify(f));
    assert.ok(f.train[1] < f.assess[0], JSON.stringify(f));
  }
  assert.equal(new Set(report.folds.map((f) => f.assess[0])).size, 3);
  for (const r of report.results) assert.equal(r.folds.length, 3);
  await Deno.remove(root, { recursive: true });
});

Deno.test("tune: search spaces, grids and seeded random draws; bad spaces are one-line errors", () => {
  assert.deepEqual(parseParamSpace("maxDepth=2,5"), ["maxDepth", { values: [2, 5] }]);
  assert.deepEqual(parseParamSpace("C=0.01..100"), [
    "C",
    { lo: 0.01, hi: 100, integer: false, log: true },
  ]);
  assert.deepEqual(parseParamSpace("maxDepth=2..8")[1], {
    lo: 2,
    hi: 8,
    integer: true,
    log: false,
  });
  const grid = configurations(
    [parseParamSpace("a=1,2"), parseParamSpace("b=x,y,z")],
    { seed: 0 },
  );
  assert.equal(grid.length, 6);
  const spaces = [parseParamSpace("C=0.01..100"), parseParamSpace("maxDepth=2..8")];
  const r1 = configurations(spaces, { random: 20, seed: 3 });
  assert.deepEqual(r1, configurations(spaces, { random: 20, seed: 3 }));
  for (const p of r1) {
    assert.ok((p.C as number) >= 0.01 && (p.C as number) <= 100);
    assert.ok(
      Number.isInteger(p.maxDepth) && (p.maxDepth as number) >= 2 && (p.maxDepth as number) <= 8,
    );
  }
  for (const bad of ["maxDepth", "=3", "x=5..1", "x=1,,2"]) {
    assert.throws(() => parseParamSpace(bad), UserError, bad);
  }
  assert.throws(() => configurations([parseParamSpace("C=1..10")], { seed: 0 }), /random/);
});
