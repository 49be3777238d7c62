import assert from "node:assert/strict";
import { oneRun } from "../testing/helpers.ts";
import { join } from "node:path";
import { trainRun } from "../jobs/train.ts";
import { removeStaleTemps, runsDir } from "./store.ts";

Deno.test("runs: half-written run folders older than an hour are removed when the next run starts", async () => {
  const { root, data } = await oneRun();
  const dir = runsDir(root);
  const old = join(dir, ".tmp-old-run-1234");
  const fresh = join(dir, ".tmp-fresh-run-5678");
  await Deno.mkdir(old);
  await Deno.mkdir(fresh);
  const hourAgo = new Date(Date.now() - 3_700_000);
  await Deno.utime(old, hourAgo, hourAgo);
  assert.deepEqual(await removeStaleTemps(dir, 3_600_000), [".tmp-old-run-1234"]);
  await Deno.utime(fresh, hourAgo, hourAgo);
  await trainRun({
    data,
    model: "iforest",
    params: { trees: 10 },
    split: { method: "time", trainDays: 7, delayDays: 7, testDays: 7, validation: "random" },
  }, { root, quiet: true });
  const left = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith(".tmp-"));
  assert.deepEqual(left, []);
});
