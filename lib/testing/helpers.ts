/**
 * Helpers shared by fraudlab's tests: temporary files, small data and runs,
 * and running a task as a user would.
 * @module
 */
import type { Matrix } from "../features/pipeline.ts";
import { Rng } from "../util/rng.ts";
import { simulateTransactions } from "../data/simulate.ts";
import { writeFrame } from "../data/write.ts";
import type { TrainResult } from "../registry/runs.ts";
import { trainRun } from "../jobs/train.ts";

/** This process's folder of temporary test files, removed when the process ends. */
let tempDir: string | null = null;

/** Writes `text` to a new temporary file with the given extension; returns its path. */
export async function tempFile(text: string | Uint8Array, ext = ".csv"): Promise<string> {
  if (!tempDir) {
    const dir = tempDir = Deno.makeTempDirSync({ prefix: "fraudlab_test_" });
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* already gone */ }
    });
  }
  const path = await Deno.makeTempFile({ dir: tempDir, prefix: "t_", suffix: ext });
  if (typeof text === "string") await Deno.writeTextFile(path, text);
  else await Deno.writeFile(path, text);
  return path;
}

/** What a task printed and how it exited. */
export interface TaskResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno run -A tasks/<name>.ts ...args` from the repository root. */
export function runTaskFile(
  name: string,
  args: string[],
  options: { env?: Record<string, string> } = {},
): Promise<TaskResult> {
  return runScript(`tasks/${name}.ts`, args, options);
}

/** Runs `deno run -A <script> ...args` (a path from the repository root) to its end. */
export async function runScript(
  script: string,
  args: string[],
  options: { env?: Record<string, string> } = {},
): Promise<TaskResult> {
  const env = options.env ?? {};
  const root = new URL("../../", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Asserts |actual − expected| ≤ tolerance, naming both in the failure. */
export function assertClose(
  actual: number,
  expected: number,
  options: { tolerance: number; what?: string },
): void {
  const { tolerance } = options, what = options.what ?? "value";
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new Error(`${what}: expected ${expected} ± ${tolerance}, got ${actual}`);
  }
}

/** A time split of 7 training days (a random share of them validates), 7 days of label delay and 7 test days. */
export const TIME_SPLIT = {
  method: "time",
  trainDays: 7,
  delayDays: 7,
  testDays: 7,
  validation: "random",
} as const;

/**
 * Model test data: Gaussian legitimate rows and about 5% fraud rows shifted
 * by 3 on the first three features.
 */
export function blobs(shape: { rows: number; cols: number; seed: number }): {
  X: Matrix;
  y: Int8Array;
} {
  const { rows: n, cols: d, seed } = shape;
  const rng = new Rng(seed);
  const data = new Float32Array(n * d), y = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.random() < 0.05 ? 1 : 0;
    for (let j = 0; j < d; j++) data[i * d + j] = rng.normal() + (y[i] && j < 3 ? 3 : 0);
  }
  return {
    X: { data, rows: n, cols: d, columns: Array.from({ length: d }, (_, j) => `f${j}`) },
    y,
  };
}

/** A simulated Parquet file in a temporary place (800 customers over 35 days, seed 2). */
export async function simFile(): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "fraudlab_sim_", suffix: ".parquet" });
  writeFrame(simulateTransactions({ customers: 800, days: 35, seed: 2, quiet: true }), path);
  return path;
}

/** A logistic-regression run on a small simulated file, in a fresh artifacts root. */
export async function oneRun(): Promise<{ data: string; root: string; run: TrainResult }> {
  const data = await Deno.makeTempFile({ prefix: "fraudlab_sim_", suffix: ".parquet" });
  writeFrame(simulateTransactions({ customers: 200, days: 30, seed: 5, quiet: true }), data);
  const root = await Deno.makeTempDir();
  const run = await trainRun({ data, model: "logreg", split: TIME_SPLIT }, { root, quiet: true });
  return { data, root, run };
}

/** Labels (20% fraud) and integer scores with many ties, fraud scored 3 higher on average. */
export function randomCase(options: { rows: number; seed: number; levels?: number }): {
  y: number[];
  s: number[];
} {
  const r = new Rng(options.seed), levels = options.levels ?? 20;
  const y: number[] = [], s: number[] = [];
  for (let i = 0; i < options.rows; i++) {
    y.push(r.random() < 0.2 ? 1 : 0);
    s.push(Math.floor(r.random() * levels) + (y[i] ? 3 : 0)); // many ties
  }
  return { y, s };
}

/**
 * Data only trees catch: fraud where f0 > 1 and f1 is missing (20% of rows)
 * or positive, 2% of labels flipped; Gaussian features.
 */
export function tricky(shape: { rows: number; cols: number; seed: number }): {
  X: Matrix;
  y: Int8Array;
} {
  const { rows: n, cols: d, seed } = shape;
  const rng = new Rng(seed);
  const data = new Float32Array(n * d), y = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) data[i * d + j] = rng.normal();
    if (rng.random() < 0.2) data[i * d + 1] = NaN;
    const f1 = data[i * d + 1];
    y[i] = data[i * d] > 1 && (f1 !== f1 || f1 > 0) ? 1 : 0;
    if (rng.random() < 0.02) y[i] = 1 - y[i];
  }
  return {
    X: { data, rows: n, cols: d, columns: Array.from({ length: d }, (_, j) => `f${j}`) },
    y,
  };
}
