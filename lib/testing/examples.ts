/**
 * Small worlds the API's examples run on (`deno test --doc`): a simulated
 * dataset written to a temporary folder, and a logistic-regression run
 * trained on it into a temporary artifacts root. Each is made once per
 * process and shared by the examples that need it.
 * @module
 */
import { join } from "node:path";
import { loadSpec } from "../data/datasets.ts";
import { type Dataset, loadDataset } from "../data/load.ts";
import { simulateTransactions } from "../data/simulate.ts";
import { writeFrame } from "../data/write.ts";
import type { TrainResult } from "../registry/runs.ts";
import { trainRun } from "../jobs/train.ts";

/** A simulated dataset on disk. */
export interface ExampleData {
  /** Its Parquet file. */
  path: string;
  /** A temporary artifacts root for runs trained on it. */
  root: string;
  /** The file loaded with the `txsim` spec. */
  ds: Dataset;
}

let data: Promise<ExampleData> | null = null;
let run: Promise<TrainResult> | null = null;

/**
 * 300 simulated customers over 40 days (seed 3), written and loaded once.
 *
 * @returns the file, a fresh artifacts root and the loaded dataset
 *
 * @example
 * ```ts
 * import { exampleData } from "./examples.ts";
 * const { ds } = await exampleData();
 * console.log(ds.frame.height > 1000);
 * ```
 */
export function exampleData(): Promise<ExampleData> {
  return data ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "fraudlab_example_" });
    const path = join(dir, "transactions.parquet");
    writeFrame(simulateTransactions({ customers: 300, days: 40, seed: 3, quiet: true }), path);
    const ds = await loadDataset(path, await loadSpec("txsim"));
    return { path, root: join(dir, "artifacts"), ds };
  })();
}

/**
 * A logistic-regression run on {@linkcode exampleData} (time split: 14
 * training days, 7 days of label delay, 7 test days), trained once.
 *
 * @returns the trained run
 *
 * @example
 * ```ts
 * import { exampleRun } from "./examples.ts";
 * const run = await exampleRun();
 * console.log(run.config.model); // logreg
 * ```
 */
export function exampleRun(): Promise<TrainResult> {
  return run ??= (async () => {
    const { path, root } = await exampleData();
    return await trainRun({
      data: path,
      spec: "txsim",
      model: "logreg",
      split: { method: "time", trainDays: 14, delayDays: 7, testDays: 7, validation: "random" },
    }, { root, quiet: true });
  })();
}
