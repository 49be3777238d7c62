/**
 * One drift job, as `deno task drift`, the demo and notebooks run it:
 * resolve the reference (a run's stored profile, a profile JSON, or a data
 * file profiled on the fly), load the current file with the reference's
 * spec, score it with the run's model when there is one, compare, and write
 * the HTML report, its JSON and the reports index entry.
 * @module
 */
import { basename, extname, join } from "node:path";
import { loadDataset } from "../data/load.ts";
import { loadSpec } from "../data/datasets.ts";
import { sha256Hex } from "../data/fingerprint.ts";
import { parseDay } from "../data/simulate.ts";
import { timesMs } from "../features/velocity.ts";
import { type LoadedRun, loadProfile, loadRun } from "../registry/runs.ts";
import { scoreWithRun } from "./evaluate.ts";
import { loadRunRef } from "../registry/aliases.ts";
import { artifactsRoot, reportsRoot } from "../registry/store.ts";
import { defaultLogPath, openExistingLog } from "../serving/predlog.ts";
import { logCurrentData, parseLogWindow } from "./monitor.ts";
import { writeDriftReport } from "../report/drift_report.ts";
import { UserError } from "../util/errors.ts";
import { currentData, referenceProfile, schemaChanges } from "../drift/dataset.ts";
import { profileFromJSON, type ReferenceProfile } from "../drift/profile.ts";
import { compareToProfile, type DriftOptions, type DriftResult } from "../drift/compare.ts";
import { DRIFT_TESTS, type DriftTestName } from "../drift/tests.ts";
import { type ConfigFlag, parseConfig } from "../util/config.ts";
import { z } from "zod";

/** A drift job (also the JSON of `deno task drift --config`). */
export interface DriftJob extends DriftOptions {
  /** run:ID, champion, NAME@ALIAS, a run id, a profile .json, or a data file (needs spec). */
  ref: string;
  /**
   * The data file to monitor, or a window of the scoring server's
   * prediction log: `log:24h` (m, h or d before now) or `log:FROM..TO`.
   */
  cur: string;
  /** Prediction log read by `log:` windows; default $FRAUDLAB_LOG or artifacts/predictions.sqlite. */
  log?: string;
  /** Spec for data files; a run reference brings its own. */
  spec?: string;
  /** YYYY-MM-DD: earlier rows only feed velocity history and are not monitored. */
  since?: string;
  /** Report path; default reports/drift/<current file name>[_since_DAY].html. */
  out?: string;
  /** Fewest current rows a verdict is drawn from (fewer is a user error). Default 200. */
  minRows?: number;
}

/** Default {@linkcode DriftJob.minRows}. */
export const MIN_DRIFT_ROWS = 200;

const OVERRIDE = z.strictObject({
  test: z.enum(DRIFT_TESTS as unknown as [DriftTestName, ...DriftTestName[]]).optional(),
  threshold: z.number().gt(0).optional(),
});

/**
 * The drift job's schema (the JSON of `deno task drift --config`): every
 * key, its type, range, default and description. {@linkcode resolveDriftJob}
 * validates with it; the drift task's flags and their `--help` come from it
 * ({@linkcode DRIFT_JOB_FLAGS}).
 */
export const DRIFT_JOB_SCHEMA = z.strictObject({
  ref: z.string({ error: (i) => (i.input === undefined ? "required" : "expected text") })
    .min(1, "required")
    .describe("reference: run:ID, NAME@ALIAS, an alias, a profile .json or a data file"),
  cur: z.string({ error: (i) => (i.input === undefined ? "required" : "expected text") })
    .min(1, "required")
    .describe("current data: a file, or a prediction log window (log:24h, log:FROM..TO)"),
  log: z.string().optional().describe(
    "prediction log for log: windows (default $FRAUDLAB_LOG or artifacts/predictions.sqlite)",
  ),
  spec: z.string().optional().describe("spec for data files (a run brings its own)"),
  since: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "expected a day YYYY-MM-DD").optional()
    .describe("YYYY-MM-DD: earlier rows only feed the velocity history"),
  out: z.string().optional().describe("report path (default reports/drift/<name>.html)"),
  minRows: z.int().min(1).default(MIN_DRIFT_ROWS).describe("fewest current rows for a verdict"),
  columns: z.record(z.string(), OVERRIDE).default({}).describe("per-column test overrides"),
  driftShare: z.number().gt(0).max(1).default(0.5).describe(
    "share of drifted columns that makes dataset drift",
  ),
  prediction: OVERRIDE.optional().describe("test and threshold for the score distribution"),
  target: OVERRIDE.optional().describe("test and threshold for the fraud rate"),
  alertRateFactor: z.number().gt(1).default(2).describe("alert-rate change that drifts"),
  targetRateFactor: z.number().gt(1).default(2).describe("fraud-rate change that drifts"),
  missingShareTolerance: z.number().min(0).max(1).default(0.05).describe(
    "missing-share change that is flagged",
  ),
});

/** The drift task's flags that set drift job keys (`--help` reads the schema). */
export const DRIFT_JOB_FLAGS: readonly ConfigFlag[] = [
  { flag: "ref", path: ["ref"] },
  { flag: "cur", path: ["cur"] },
  { flag: "log", path: ["log"] },
  { flag: "spec", path: ["spec"] },
  { flag: "since", path: ["since"] },
  { flag: "out", path: ["out"] },
  { flag: "drift-share", path: ["driftShare"], type: "number" },
  { flag: "min-rows", path: ["minRows"], type: "number" },
];

/**
 * Validates a drift job and fills in its defaults; a UserError names the
 * bad key (and its flag).
 *
 * @param input a job as written (a `--config` file, flags applied)
 * @returns the job
 *
 * @example
 * ```ts
 * import { resolveDriftJob } from "./drift.ts";
 * console.log(resolveDriftJob({ ref: "champion", cur: "log:24h" }).driftShare); // 0.5
 * ```
 */
export function resolveDriftJob(input: unknown): DriftJob {
  return parseConfig(DRIFT_JOB_SCHEMA, input, { what: "drift job", flags: DRIFT_JOB_FLAGS });
}

/** Refuses a verdict drawn from too few current rows: tests on a handful of rows flag noise. */
function enoughRows(rows: number, job: DriftJob, what: string): void {
  const min = job.minRows ?? MIN_DRIFT_ROWS;
  if (rows < min) {
    throw new UserError(
      `${what} has ${rows} rows to monitor, fewer than --min-rows ${min}: too few for a drift verdict (a longer window, or --min-rows to accept fewer)`,
    );
  }
}

/** What a drift job produced. */
export interface DriftJobResult {
  /** The comparison. */
  result: DriftResult;
  /** Paths of the HTML and JSON reports and of the reports index. */
  report: { html: string; json: string; index: string };
  /** Seconds the job took. */
  seconds: number;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** Resolves a reference to a profile (and the run, when it names one). */
export async function resolveReference(
  ref: string,
  specName: string | undefined,
): Promise<{ profile: ReferenceProfile; run: LoadedRun | null; label: string }> {
  if (ref.startsWith("run:")) {
    const run = await loadRun(ref.slice(4));
    return { profile: await loadProfile(run), run, label: `run ${run.id}` };
  }
  if (await isFile(ref)) {
    if (extname(ref).toLowerCase() === ".json") {
      let value: unknown;
      try {
        value = JSON.parse(await Deno.readTextFile(ref));
      } catch (e) {
        throw new UserError(`--ref ${ref}: not valid JSON (${(e as Error).message})`);
      }
      return { profile: profileFromJSON(value, ref), run: null, label: basename(ref) };
    }
    if (!specName) {
      throw new UserError(
        `--ref ${ref} is a data file: --spec (a built-in name or a JSON file) is required`,
      );
    }
    const ds = await loadDataset(ref, await loadSpec(specName));
    return { profile: referenceProfile(ds), run: null, label: basename(ref) };
  }
  const run = await loadRunRef(ref);
  return { profile: await loadProfile(run), run, label: `${ref} (run ${run.id})` };
}

/**
 * Runs a drift job (see the module doc): compares current data (a file or a
 * window of the prediction log) against a reference and writes the report.
 *
 * @param job the reference, the current data, tests and thresholds, the report path
 * @returns the comparison and where its reports went
 *
 * @example
 * ```ts
 * import { exampleData, exampleRun } from "../testing/examples.ts";
 * import { runDriftJob } from "./drift.ts";
 * const { path } = await exampleData();
 * const out = `${await Deno.makeTempDir()}/drift.html`;
 * const r = await runDriftJob({ ref: `run:${(await exampleRun()).dir}`, cur: path, out });
 * console.log(r.result.drift, r.result.reasons);
 * ```
 */
export async function runDriftJob(input: DriftJob): Promise<DriftJobResult> {
  const t0 = performance.now();
  const job = resolveDriftJob(input);
  const reference = await resolveReference(job.ref, job.spec);
  if (job.cur.startsWith("log:")) return await logDriftJob(job, reference, t0);
  const spec = job.spec ? await loadSpec(job.spec) : reference.run?.spec;
  if (!spec) {
    throw new UserError(`--spec is required to read --cur ${job.cur} against a profile file`);
  }
  const ds = await loadDataset(job.cur, spec, { labels: "optional", missingFeatures: "drop" });
  const warnings: string[] = [];
  let rows: Uint32Array | undefined;
  if (job.since) {
    if (!ds.spec.time) throw new UserError(`--since: spec "${ds.spec.name}" has no time column`);
    const from = parseDay(job.since, "--since");
    const t = timesMs(ds.frame, ds.spec.time);
    const picked: number[] = [];
    for (let i = 0; i < t.length; i++) if (t[i] >= from) picked.push(i);
    if (picked.length === 0) {
      throw new UserError(`--since ${job.since}: no rows of ${job.cur} on or after that day`);
    }
    rows = Uint32Array.from(picked);
  }
  const current = currentData(ds, rows);
  enoughRows(current.rows, job, job.since ? `${job.cur} since ${job.since}` : job.cur);
  const run = reference.run;
  if (run && ds.missingFeatures.length === 0) {
    const all = rows ?? Uint32Array.from({ length: ds.frame.height }, (_, i) => i);
    current.scores = (await scoreWithRun(run, ds, { rows: all })).scores;
    if (run.pipeline.velocity && !rows) {
      warnings.push(
        "the model uses velocity features but --since was not given: the first days of the file " +
          "have no entity history, which biases their scores (pass a file with history and --since)",
      );
    }
  } else if (run) {
    warnings.push(
      `prediction drift not computed: the current file lacks ${ds.missingFeatures.join(", ")}`,
    );
  }
  const result = compareToProfile(reference.profile, current, {
    ...job,
    referenceLabel: reference.label,
    currentLabel: basename(job.cur) + (job.since ? ` since ${job.since}` : ""),
    schema: schemaChanges(reference.profile, ds),
    warnings,
  });
  const report = await writeDriftReport(result, {
    out: reportPath(job),
    data: { reference: reference.profile.source.sha256, current: sha256Hex(ds.bytes) },
  });
  return { result, report, seconds: (performance.now() - t0) / 1000 };
}

function reportPath(job: DriftJob): string {
  const stem = (job.cur.startsWith("log:") ? job.cur : basename(job.cur, extname(job.cur)))
    .replace(/[^A-Za-z0-9_.-]+/g, "_");
  return job.out ??
    join(reportsRoot(), "drift", `${stem}${job.since ? `_since_${job.since}` : ""}.html`);
}

/**
 * Drift of live traffic: the requests the scoring server logged in a
 * window, against the reference; prediction drift uses the scores the
 * reference's run gave (rows other versions scored count for the columns
 * only), target drift the labels fed back so far.
 */
async function logDriftJob(
  job: DriftJob,
  reference: Awaited<ReturnType<typeof resolveReference>>,
  t0: number,
): Promise<DriftJobResult> {
  if (job.since) {
    throw new UserError("--since applies to data files; a log: window sets its own range");
  }
  const window = parseLogWindow(job.cur);
  const path = job.log ?? defaultLogPath(artifactsRoot());
  const log = openExistingLog(path);
  let live;
  try {
    live = logCurrentData(log, {
      window,
      columns: reference.profile.schema,
      runId: reference.run?.id ?? null,
    });
  } finally {
    log.close();
  }
  const warnings: string[] = [];
  const others = live.versions.filter((v) => v.run_id !== reference.run?.id);
  if (reference.run && others.length > 0) {
    warnings.push(
      `${
        live.current.rows - live.scoredByRun
      } of ${live.current.rows} logged rows were scored by ` +
        `other runs (${others.map((v) => `${v.model} v${v.version}`).join(", ")}): ` +
        "prediction drift uses the reference run's rows only",
    );
  }
  enoughRows(live.current.rows, job, job.cur);
  const labeled = live.current.labels?.length ?? 0;
  if (labeled < live.current.rows) {
    warnings.push(
      `labels: ${labeled} of ${live.current.rows} logged rows have feedback so far; ` +
        "target drift rests on those and labels arrive late (frauds often sooner)",
    );
  }
  if (labeled === 0) live.current.labels = null;
  const result = compareToProfile(reference.profile, live.current, {
    ...job,
    referenceLabel: reference.label,
    currentLabel: `${job.cur} (${new Date(window.from).toISOString().slice(0, 16)}Z .. ${
      new Date(window.to).toISOString().slice(0, 16)
    }Z, ${path})`,
    schema: { missing: [], extra: [], typeChanged: [] },
    warnings,
  });
  const report = await writeDriftReport(result, {
    out: reportPath(job),
    data: { reference: reference.profile.source.sha256, current: live.sha256 },
  });
  return { result, report, seconds: (performance.now() - t0) / 1000 };
}
