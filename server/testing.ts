/**
 * A scoring-server fixture for tests: a small simulated world, an iforest
 * run promoted to champion in a temporary artifacts root, and the test
 * part's rows as request records. Built once per test process.
 * @module
 */
import { simulateTransactions } from "../lib/data/simulate.ts";
import { writeFrame } from "../lib/data/write.ts";
import { loadDataset } from "../lib/data/load.ts";
import type { Dataset } from "../lib/data/load.ts";
import type { TrainResult } from "../lib/registry/runs.ts";
import { promote } from "../lib/registry/aliases.ts";
import { loadServedModel, type ServedModel } from "../lib/serving/scorer.ts";
import { datasetRecords } from "../lib/serving/records.ts";
import { ModelHolder } from "../lib/serving/holder.ts";
import { warmFromFile } from "../lib/serving/warm.ts";
import type { HistoryLimits } from "../lib/features/online.ts";
import { trainRun } from "../lib/jobs/train.ts";
import { type RunningServer, startServer } from "./serve.ts";

/** What {@linkcode servingFixture} builds. */
export interface ServingFixture {
  root: string;
  /** Training data (the first 30 days) and the next days as requests. */
  data: string;
  run: TrainResult;
  model: ServedModel;
  ds: Dataset;
  /** Records of the days after the training data, in time order. */
  records: Record<string, unknown>[];
  /**
   * A server clock one minute after the last record: every record's own
   * time lies within the history's retention before it.
   */
  now: () => number;
}

let fixture: Promise<ServingFixture> | null = null;

/** The shared fixture (see the module doc). */
export function servingFixture(): Promise<ServingFixture> {
  return fixture ??= (async () => {
    const root = await Deno.makeTempDir({ prefix: "fraudlab_serve_" });
    const all = simulateTransactions({ customers: 400, days: 36, seed: 3, quiet: true });
    const data = `${root}/train.parquet`, next = `${root}/next.parquet`;
    const cut = new Date(Date.UTC(2025, 0, 31));
    const { default: pl } = await import("nodejs-polars");
    writeFrame(all.filter(pl.col("tx_time").lt(pl.lit(cut))), data);
    writeFrame(all.filter(pl.col("tx_time").gtEq(pl.lit(cut))), next);
    const run = await trainRun({
      data,
      model: "iforest",
      split: { method: "time", trainDays: 14, delayDays: 7, testDays: 7, validation: "random" },
      seed: 1,
    }, { root, quiet: true });
    await promote(run.id, { root });
    const model = await loadServedModel("champion", root);
    const ds = await loadDataset(next, model.run.spec);
    const records = datasetRecords(ds, model.schema);
    const last = Date.parse(String(records[records.length - 1].tx_time)) + 60_000;
    return { root, data, run, model, ds, records, now: () => last };
  })();
}

/** A holder serving the fixture's champion, its history seeded from the training data. */
export async function fixtureHolder(
  f: ServingFixture,
  limits: HistoryLimits = {},
): Promise<ModelHolder> {
  const holder = new ModelHolder({ clock: f.now, ...limits });
  holder.warm = async (m, history) => {
    await warmFromFile(history, { model: m, path: f.data });
  };
  await holder.swap(await loadServedModel("champion", f.root));
  return holder;
}

/**
 * The fixture's records with their times moved so the last is a minute
 * before `nowMs` (the real clock by default), for servers on the real clock.
 */
export function recordsNow(f: ServingFixture, nowMs = Date.now()): Record<string, unknown>[] {
  const shift = nowMs - f.now();
  return f.records.map((r) => ({
    ...r,
    tx_time: new Date(Date.parse(String(r.tx_time)) + shift).toISOString(),
  }));
}

/**
 * A running server (port chosen by the system, log in memory, no polling,
 * quiet) serving the fixture's champion on the fixture's clock.
 */
export async function fixtureServer(f: ServingFixture): Promise<RunningServer> {
  return await startServer({
    root: f.root,
    port: 0,
    logPath: ":memory:",
    pollSeconds: 0,
    log: () => {},
    now: f.now,
    feedbackRate: null,
  });
}
