/**
 * What fraudlab's notebooks share: finding the repository root (so paths in
 * a notebook mean what they mean to `deno task`), the data a notebook runs
 * on (freshly simulated by default, shrunk by `FRAUDLAB_NOTEBOOK_SCALE=small`
 * for tests, or a real dataset), the next month of the simulated world (as
 * it was, or drifted), and promotion: saving the notebook's config where a
 * task can re-run it and showing the exact command.
 * @module
 */
import { dirname, join, resolve } from "node:path";
import pl from "nodejs-polars";
import {
  type DriftEvent,
  type DriftScenario,
  parseDay,
  simulateTransactions,
} from "../data/simulate.ts";
import { writeFrame } from "../data/write.ts";
import { artifactsRoot, writeAtomic } from "../registry/store.ts";
import { escapeHtml } from "../report/html.ts";
import { show, Shown } from "../report/display.ts";
import { UserError } from "../util/errors.ts";
import { DAY_MS } from "../util/time.ts";

/**
 * Makes the repository root (the folder with `deno.json` and `lib/mod.ts`)
 * the working directory, searching upwards from the current one, and
 * returns it. Jupyter starts kernels in the notebook's folder; tasks run
 * from the root.
 *
 * @returns the root
 *
 * @example
 * ```ts
 * import { enterRepoRoot } from "./mod.ts";
 * console.log(enterRepoRoot() === Deno.cwd()); // true
 * ```
 */
export function enterRepoRoot(): string {
  let dir = Deno.cwd();
  for (;;) {
    try {
      Deno.statSync(join(dir, "lib", "mod.ts"));
      Deno.statSync(join(dir, "deno.json"));
      Deno.chdir(dir);
      return dir;
    } catch {
      const up = dirname(dir);
      if (up === dir) {
        throw new UserError(
          `no fraudlab repository (deno.json and lib/mod.ts) at or above ${Deno.cwd()}`,
        );
      }
      dir = up;
    }
  }
}

/**
 * `small` when FRAUDLAB_NOTEBOOK_SCALE=small (tests), `full` otherwise.
 *
 * @returns the scale
 *
 * @example
 * ```ts
 * import { notebookScale } from "./mod.ts";
 * console.log(notebookScale());
 * ```
 */
export function notebookScale(): "small" | "full" {
  const v = Deno.env.get("FRAUDLAB_NOTEBOOK_SCALE") ?? "full";
  if (v !== "small" && v !== "full") {
    throw new UserError(`FRAUDLAB_NOTEBOOK_SCALE must be "small" or "full", got "${v}"`);
  }
  return v;
}

/** Where notebooks save configs and data: FRAUDLAB_NOTEBOOK_OUT, else `<artifacts>/notebooks`. */
export function notebookDir(): string {
  return Deno.env.get("FRAUDLAB_NOTEBOOK_OUT") ?? join(artifactsRoot(), "notebooks");
}

/** The simulated world notebooks share, by scale. */
export interface NotebookWorld {
  /** Customers simulated. */
  customers: number;
  /** Days simulated. */
  days: number;
  /** Seed of the simulation. */
  seed: number;
  /** First day (YYYY-MM-DD). */
  start: string;
  /** Drift events within the base period (a new fraud pattern halfway). */
  drift: DriftEvent[];
}

/**
 * The notebooks' simulated world: 2,000 customers over 60 days (small: 400 over 45).
 *
 * @returns its size, seed and first day
 *
 * @example
 * ```ts
 * import { notebookWorld } from "./mod.ts";
 * console.log(notebookWorld().start);
 * ```
 */
export function notebookWorld(): NotebookWorld {
  const small = notebookScale() === "small";
  const days = small ? 45 : 60;
  const start = "2025-01-01";
  const half = new Date(parseDay(start, "start") + Math.floor(days / 2) * DAY_MS)
    .toISOString().slice(0, 10);
  return {
    customers: small ? 400 : 2000,
    days,
    seed: 7,
    start,
    drift: [{ scenario: "new_fraud", from: half }],
  };
}

/** A dataset a notebook can load: its file and spec. */
export interface NotebookDataset {
  /** Built-in name of the dataset. */
  name: string;
  /** Its data file. */
  path: string;
  /** Its spec (built-in name or file). */
  spec: string;
}

/** Real datasets a notebook can switch to, where `data/README.md` says to put them. */
export const REAL_DATASETS: Record<string, NotebookDataset> = {
  creditcard: { name: "creditcard", path: "data/creditcard.csv", spec: "creditcard" },
  payment_fraud: { name: "payment_fraud", path: "data/payment_fraud.csv", spec: "payment_fraud" },
};

/**
 * The data a notebook runs on: `txsim` simulates the notebooks' world (once
 * per scale; the file is reused when present) into the notebook folder;
 * `creditcard` and `payment_fraud` name the real files under data/.
 *
 * @param name `txsim` (default), `creditcard` or `payment_fraud`
 * @returns its name, file and spec
 *
 * @example
 * ```ts
 * import { notebookDataset } from "./mod.ts";
 * // The real datasets are downloaded by hand (data/README.md): a missing file is a UserError.
 * try {
 *   console.log(notebookDataset("creditcard").spec); // creditcard
 * } catch (e) {
 *   console.log((e as Error).message);
 * }
 * ```
 */
export function notebookDataset(name = "txsim"): NotebookDataset {
  if (name !== "txsim") {
    const real = REAL_DATASETS[name];
    if (!real) {
      throw new UserError(
        `unknown notebook dataset "${name}" (known: txsim, ${
          Object.keys(REAL_DATASETS).join(", ")
        })`,
      );
    }
    try {
      Deno.statSync(real.path);
    } catch {
      throw new UserError(
        `${real.path} is missing: see data/README.md for where to get the ${name} dataset`,
      );
    }
    return real;
  }
  const w = notebookWorld();
  const path = join(notebookDir(), `txsim_${notebookScale()}.parquet`);
  try {
    Deno.statSync(path);
  } catch {
    Deno.mkdirSync(dirname(path), { recursive: true });
    writeFrame(
      simulateTransactions({
        customers: w.customers,
        days: w.days,
        seed: w.seed,
        start: w.start,
        drift: w.drift,
        quiet: true,
      }),
      path,
    );
  }
  return { name: "txsim", path, spec: "txsim" };
}

/** The month after the notebooks' world, and the history before it. */
export interface NextPeriod {
  /** The data file: `historyDays` of history, then the period. */
  path: string;
  /** First day of the period (YYYY-MM-DD): rows before it are velocity history only. */
  since: string;
  /** Rows written (history and period). */
  rows: number;
}

/**
 * Simulates the `days` after the notebooks' world (the same customers,
 * terminals and seed, so the base period is identical), with `drift`
 * scenarios starting on its first day, and writes the period with
 * `historyDays` of history before it (the entity velocity features need it).
 *
 * @param options days, drift scenarios, history days and the file name
 * @returns the file, the period's first day and the rows written
 *
 * @example
 * ```ts ignore
 * // In a notebook (writes into the notebook folder):
 * const next = simulateNextPeriod({ days: 30, drift: ["new_fraud"] });
 * ```
 */
export function simulateNextPeriod(
  options: { days?: number; historyDays?: number; drift?: DriftScenario[]; name?: string } = {},
): NextPeriod {
  const w = notebookWorld();
  const days = options.days ?? 30;
  const history = options.historyDays ?? 30;
  const startMs = parseDay(w.start, "start");
  const since = new Date(startMs + w.days * DAY_MS).toISOString().slice(0, 10);
  const frame = simulateTransactions({
    customers: w.customers,
    days: w.days + days,
    seed: w.seed,
    start: w.start,
    quiet: true,
    drift: [...w.drift, ...(options.drift ?? []).map((scenario) => ({ scenario, from: since }))],
  });
  const from = startMs + (w.days - history) * DAY_MS;
  const period = frame.filter(pl.col("tx_time").cast(pl.Float64).gtEq(from));
  const name = options.name ??
    `next_${days}d${options.drift?.length ? `_${options.drift.join("+")}` : ""}`;
  const path = join(notebookDir(), `${name}_${notebookScale()}.parquet`);
  Deno.mkdirSync(dirname(path), { recursive: true });
  writeFrame(period, path);
  return { path, since, rows: period.height };
}

/** What {@linkcode promoteToTask} saved. */
export interface Promotion {
  /** The task the config is for. */
  task: "train" | "drift";
  /** The saved config (relative to the repository root). */
  config: string;
  /** The command that reproduces the notebook's result. */
  command: string;
  /** The figures the notebook measured, saved beside the config (`.expected.json`). */
  expected: string | null;
}

/**
 * Saves a notebook's config as `<notebook dir>/<name>.json` (and the
 * figures it measured as `<name>.expected.json`) and returns a display of
 * the `deno task train|drift --config …` command that reproduces it.
 *
 * @param name the config's name (letters, digits, `_ . -`)
 * @param options the task, the config and the figures measured
 * @returns a display of the command, and what was saved
 *
 * @example
 * ```ts ignore
 * // In a notebook: saves notebooks/02_baselines.json beside it.
 * await display(await promoteToTask("02_baselines", { task: "train", config: run.config }));
 * ```
 */
export async function promoteToTask(
  name: string,
  options: { task: "train" | "drift"; config: unknown; expected?: unknown },
): Promise<Shown & { promotion: Promotion }> {
  const { task, config } = options;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new UserError(`notebook config name "${name}": use letters, digits, _ . - only`);
  }
  const path = join(notebookDir(), `${name}.json`);
  await writeAtomic(path, JSON.stringify(config, null, 2) + "\n");
  let expected: string | null = null;
  if (options.expected !== undefined) {
    expected = join(notebookDir(), `${name}.expected.json`);
    await writeAtomic(expected, JSON.stringify(options.expected, null, 2) + "\n");
  }
  const shown = resolve(path) === resolve(Deno.cwd(), path) ? path : resolve(path);
  const command = `deno task ${task} --config ${shown}`;
  const promotion: Promotion = { task, config: path, command, expected };
  const text = `saved ${path}\nreproduce with:\n  ${command}`;
  const display = new Shown({
    text,
    html: `<p>Saved <code>${escapeHtml(path)}</code>. Reproduce this notebook's result with:</p>` +
      `<pre>${escapeHtml(command)}</pre>`,
  });
  return Object.assign(display, { promotion });
}

/** The part of `Deno.jupyter` that {@linkcode notebookDisplay} uses. */
export interface JupyterDisplay {
  /** Shows a value in the notebook. */
  display(value: unknown): Promise<void>;
}

/**
 * A notebook's `display`: shows any value through {@linkcode show}, then
 * pauses 10 ms so the kernel sends the output before the cell reports idle.
 * Headless runs of 150-cell notebooks lost about 3% of awaited displays
 * without a pause (they arrived after the idle status), 1 in 1,200 with a
 * zero-delay yield, and none in 1,200 with 10 ms. A notebook passes
 * `Deno.jupyter`, which exists only inside the kernel:
 *
 * @param jupyter `Deno.jupyter`
 * @returns the notebook's `display`
 *
 * @example
 * ```ts ignore
 * // In a notebook cell (Deno.jupyter exists only inside the kernel):
 * const display = notebookDisplay(Deno.jupyter);
 * await display(showProfile(profile));
 * ```
 */
export function notebookDisplay(jupyter: JupyterDisplay): (value: unknown) => Promise<void> {
  return async (value: unknown) => {
    await jupyter.display(show(value));
    await new Promise((resolve) => setTimeout(resolve, 10));
  };
}
