/**
 * Shadow traffic end to end, for `monitor --compare`: a simulated world,
 * an iforest champion and a gbdt challenger trained on its first 30 days,
 * the next days replayed through the scoring app with the challenger as
 * the shadow and every label fed back, into a prediction log file.
 *
 *   deno run -A bench/shadow_replay.ts [--dir DIR]
 *   deno task monitor --compare served,shadow --log DIR/predictions.sqlite --window log:2025-01-01..2026-01-01
 *   FRAUDLAB_ARTIFACTS=DIR/artifacts deno task gate --model txsim --live log:2025-01-01..2026-01-01 \
 *     --log DIR/predictions.sqlite --dry-run
 */
import pl from "nodejs-polars";
import { parseArgs } from "node:util";
import { simulateTransactions } from "../lib/data/simulate.ts";
import { writeFrame } from "../lib/data/write.ts";
import { loadDataset } from "../lib/data/load.ts";
import { trainRun } from "../lib/jobs/train.ts";
import { promote } from "../lib/registry/aliases.ts";
import { ModelHolder } from "../lib/serving/holder.ts";
import { PredictionLog } from "../lib/serving/predlog.ts";
import { loadServedModel } from "../lib/serving/scorer.ts";
import { datasetRecords } from "../lib/serving/records.ts";
import { warmFromFile } from "../lib/serving/warm.ts";
import { createApp } from "../server/app.ts";

const { values } = parseArgs({ args: Deno.args, options: { dir: { type: "string" } } });
const dir = values.dir ?? await Deno.makeTempDir({ prefix: "fraudlab_shadow_" });
const root = `${dir}/artifacts`;
const all = simulateTransactions({ customers: 1000, days: 45, seed: 4, quiet: true });
const cut = new Date(Date.UTC(2025, 0, 31));
const train = `${dir}/train.parquet`, next = `${dir}/next.parquet`;
writeFrame(all.filter(pl.col("tx_time").lt(pl.lit(cut))), train);
writeFrame(all.filter(pl.col("tx_time").gtEq(pl.lit(cut))), next);
const split = {
  method: "time" as const,
  trainDays: 14,
  delayDays: 7,
  testDays: 7,
  validation: "random" as const,
};
const champion = await trainRun({ data: train, model: "iforest", split, seed: 1 }, {
  root,
  quiet: true,
});
const challenger = await trainRun({ data: train, model: "gbdt", split, seed: 1 }, {
  root,
  quiet: true,
});
await promote(champion.id, { root });
await promote(challenger.id, { root, alias: "challenger" });
const served = await loadServedModel("champion", root);
const ds = await loadDataset(next, served.run.spec);
const records = datasetRecords(ds, served.schema);
const labels = ds.frame.getColumn("is_fraud").cast(pl.Int8).toArray() as number[];
const last = Date.parse(String(records[records.length - 1].tx_time)) + 60_000;
const holder = async (ref: string) => {
  const h = new ModelHolder({ clock: () => last });
  h.warm = async (m, history) => {
    await warmFromFile(history, { model: m, path: train });
  };
  await h.swap(await loadServedModel(ref, root));
  return h;
};
const log = PredictionLog.open(`${dir}/predictions.sqlite`);
const app = createApp({
  models: await holder("champion"),
  shadow: await holder("txsim@challenger"),
  log,
  now: () => last,
  feedbackRate: null,
});
const post = (path: string, body: unknown) =>
  app.request(path, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
for (let i = 0; i < records.length; i++) {
  const r = await (await post("/v1/score", records[i])).json();
  await post("/v1/feedback", { transaction_id: r.transaction_id, label: labels[i] });
}
await log.closeWithin(30_000);
console.log(
  `${records.length} requests scored by txsim v1 (iforest) with txsim v2 (gbdt) as the shadow`,
);
console.log(`log: ${dir}/predictions.sqlite   artifacts: ${root}`);
