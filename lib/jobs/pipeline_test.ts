import assert from "node:assert/strict";
import { jsonText } from "../registry/store.ts";
import { type PipelineSpec, runPipeline, type StageOutcome } from "./pipeline.ts";

const split = { method: "time", trainDays: 14, delayDays: 7, testDays: 7, validation: "random" };

/** A world, two runs trained on it and each evaluated on the days after. */
function spec(over: { seed?: number; C?: number } = {}): PipelineSpec {
  return {
    format: "fraudlab.pipeline/1",
    params: { seed: over.seed ?? 3, data: "data/tx.parquet", since: "2025-02-01" },
    stages: {
      generate: {
        kind: "generate",
        with: { customers: 250, days: 42, seed: "${params.seed}", out: "${params.data}" },
      },
      train_a: {
        kind: "train",
        with: {
          data: "${params.data}",
          model: "logreg",
          params: { C: over.C ?? 1 },
          split,
          out: "out/train_a.json",
        },
      },
      train_b: {
        kind: "train",
        with: { data: "${params.data}", model: "iforest", split, seed: 1, out: "out/train_b.json" },
      },
      evaluate_a: {
        kind: "evaluate",
        with: {
          run: "out/train_a.json",
          data: "${params.data}",
          since: "${params.since}",
          out: "out/eval_a.json",
        },
      },
      evaluate_b: {
        kind: "evaluate",
        with: {
          run: "out/train_b.json",
          data: "${params.data}",
          since: "${params.since}",
          out: "out/eval_b.json",
        },
      },
    },
  };
}

async function setup(s: PipelineSpec) {
  const dir = await Deno.makeTempDir({ prefix: "fraudlab_pipeline_" });
  const file = `${dir}/pipeline.json`;
  await Deno.writeTextFile(file, jsonText(s));
  const run = (o: { dryRun?: boolean; force?: string[] } = {}) =>
    runPipeline({ file, root: `${dir}/artifacts`, quiet: true, ...o });
  return { dir, file, run };
}

const ran = (outcomes: StageOutcome[]) =>
  outcomes.filter((o) => o.action === "ran").map((o) => o.name).sort();

Deno.test("pipeline: a second run skips every stage; a changed setting reruns only what is downstream of it", async () => {
  const { file, run } = await setup(spec());
  assert.deepEqual(ran(await run()), [
    "evaluate_a",
    "evaluate_b",
    "generate",
    "train_a",
    "train_b",
  ]);
  const again = await run();
  assert.deepEqual(ran(again), []);
  assert.ok(again.every((o) => o.action === "skipped" && o.reason === "up to date"));

  // One model's setting: that model's training and evaluation, nothing else.
  await Deno.writeTextFile(file, jsonText(spec({ C: 0.1 })));
  const dry = await run({ dryRun: true });
  assert.deepEqual(dry.filter((o) => o.action === "would run").map((o) => o.name), [
    "train_a",
    "evaluate_a",
  ]);
  assert.match(dry.find((o) => o.name === "train_a")!.reason, /settings changed: params/);
  const changed = await run();
  assert.deepEqual(ran(changed), ["evaluate_a", "train_a"]);
  assert.match(
    changed.find((o) => o.name === "evaluate_a")!.reason,
    /input out\/train_a\.json changed/,
  );

  // Regenerating the same world writes the same bytes: nothing downstream reruns.
  assert.deepEqual(ran(await run({ force: ["generate"] })), ["generate"]);

  // A parameter every stage rests on: all of them.
  await Deno.writeTextFile(file, jsonText(spec({ seed: 4, C: 0.1 })));
  assert.deepEqual(ran(await run()), [
    "evaluate_a",
    "evaluate_b",
    "generate",
    "train_a",
    "train_b",
  ]);
});

Deno.test("pipeline: an output changed or removed by hand reruns its stage", async () => {
  const { dir, run } = await setup(spec());
  await run();
  await Deno.writeTextFile(`${dir}/out/eval_b.json`, "{}");
  await Deno.remove(`${dir}/out/eval_a.json`);
  const o = await run();
  assert.deepEqual(ran(o), ["evaluate_a", "evaluate_b"]);
  assert.match(
    o.find((x) => x.name === "evaluate_a")!.reason,
    /output out\/eval_a\.json is missing/,
  );
  assert.match(o.find((x) => x.name === "evaluate_b")!.reason, /changed since it was written/);
});

Deno.test("pipeline: a failed stage is named, keeps the stages before it, and the fixed rerun starts there", async () => {
  const bad = spec();
  (bad.stages.train_a.with!.params as Record<string, unknown>).C = -1;
  const { dir, file, run } = await setup(bad);
  await assert.rejects(() => run(), /stage "train_a" \(train\) failed: .*"C"/);
  const lock = JSON.parse(await Deno.readTextFile(`${dir}/pipeline.lock`));
  assert.ok("generate" in lock.stages && !("train_a" in lock.stages));
  await Deno.writeTextFile(file, jsonText(spec()));
  const o = await run();
  assert.ok(!ran(o).includes("generate"));
  assert.ok(ran(o).includes("train_a"));
});

Deno.test("pipeline: a bad pipeline is refused before anything runs, naming the stage", async () => {
  const cases: [(s: PipelineSpec) => void, RegExp][] = [
    [(s) => (s.stages.generate.kind = "bake"), /stage "generate": unknown kind "bake"/],
    [
      (s) => (s.stages.train_b.with!.out = "out/train_a.json"),
      /stage "train_b": its output out\/train_a\.json is also written by stage "train_a"/,
    ],
    [
      (s) => (s.stages.train_a.with!.data = "data/none.parquet"),
      /stage "train_a": input data\/none\.parquet is neither a file nor another stage's output/,
    ],
    [
      (s) => delete s.stages.evaluate_a.with!.run,
      /stage "evaluate_a" \(evaluate\): setting "run" is required/,
    ],
    [
      (s) => (s.stages.generate.with!.seed = "${params.nope}"),
      /stage "generate": unknown parameter "nope"/,
    ],
    [
      (s) => (s.stages.generate.deps = ["out/eval_a.json"]),
      /its inputs form a cycle \(.*generate.*\)/,
    ],
  ];
  for (const [mutate, error] of cases) {
    const s = spec();
    mutate(s);
    const { dir, run } = await setup(s);
    await assert.rejects(() => run(), error);
    // Nothing ran: no lock, no output.
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["pipeline.json"]);
  }
  const { run } = await setup(spec());
  await assert.rejects(() => run({ force: ["nope"] }), /--force nope: no such stage/);
});
