import assert from "node:assert/strict";
import { resolveRunConfig, RUN_CONFIG_FLAGS, RUN_CONFIG_SCHEMA } from "./config.ts";
import { configFlagSpecs } from "../util/config.ts";

Deno.test("run config: bad values are user errors naming the flag", () => {
  assert.throws(() => resolveRunConfig({}), /data \(--data\): required/);
  assert.throws(
    () => resolveRunConfig({ data: "x", split: { method: "weekly" } as never }),
    /\(--split\): expected time, random, mod5 or prefix/,
  );
  assert.throws(
    () => resolveRunConfig({ data: "x", split: { method: "time", trainDays: 0 } }),
    /--train-days/,
  );
  assert.throws(
    () => resolveRunConfig({ data: "x", threshold: "f1" }),
    /unknown threshold strategy/,
  );
  assert.throws(() => resolveRunConfig({ data: "x", model: "svm" }), /unknown model kind "svm"/);
  assert.throws(
    () => resolveRunConfig({ data: "x", split: { trainDays: 21 } as never }),
    /split\.method \(--split\): expected time, random, mod5 or prefix, got nothing/,
  );
  assert.throws(() => resolveRunConfig({ data: "x", sed: 1 } as never), /unknown key "sed"/);
  // The features key is the pipeline config's own schema.
  assert.throws(
    () => resolveRunConfig({ data: "x", features: { velocity: { windowsDays: [0] } } } as never),
    /features\.velocity\.windowsDays\.0: must be more than 0, got 0/,
  );
  assert.throws(
    () => resolveRunConfig({ data: "x", features: { velocity: { windows: [1] } } } as never),
    /unknown key "windows" in features\.velocity/,
  );
  // The train task's --help reads each default from the same schema.
  const help = configFlagSpecs(RUN_CONFIG_SCHEMA, RUN_CONFIG_FLAGS);
  assert.match(help["train-days"].help!, /\(default 7\)$/);
  assert.match(help.split.help!, /\(default random\)$/);
  assert.match(help.threshold.help!, /\(default max-f1\)$/);
  const c = resolveRunConfig({ data: "x", model: "logreg", split: { method: "time" } });
  assert.equal(c.features.standardize, true);
  assert.deepEqual(c.split, {
    method: "time",
    trainDays: 7,
    delayDays: 7,
    testDays: 7,
    // The Handbook's protocol by default: out-of-time validation, known-compromised cards
    // left out, detected cards not counted again.
    validation: "time",
    validationDays: 7,
    compromised: "drop",
    detectedCards: "remove",
  });
});
