/**
 * `deno task drift --ref (FILE | run:ID | champion | NAME@ALIAS) --cur FILE
 *   [--spec S] [--since YYYY-MM-DD] [--out reports/drift/NAME.html] [--json]
 *   [--test COLUMN=TEST[:THRESHOLD]]... [--drift-share X] [--config FILE]`
 *
 * Compares a current file with a reference: a run's stored profile (its fit
 * rows and validation scores, so prediction drift is included), a stored
 * profile JSON, or a reference data file (profiled on the fly; needs
 * --spec). Writes a static HTML report, its JSON beside it, and an entry in
 * reports/index.html.
 *
 * Exit codes: 0 no drift, 3 drift (dataset, prediction or target drift),
 * 2 user error. With --since, rows before that day only feed the velocity
 * features' entity history and are not monitored.
 */
import { basename, extname, join } from "node:path";
import { loadDataset } from "../lib/data/load.ts";
import { loadSpec } from "../lib/data/datasets.ts";
import { sha256Hex } from "../lib/data/fingerprint.ts";
import { parseDay } from "../lib/data/simulate.ts";
import { timesMs } from "../lib/features/velocity.ts";
import { loadProfile, loadRun, scoreWithRun } from "../lib/registry/runs.ts";
import type { LoadedRun } from "../lib/registry/runs.ts";
import { loadRunRef } from "../lib/registry/aliases.ts";
import { reportsRoot } from "../lib/registry/store.ts";
import { currentData, referenceProfile, schemaChanges } from "../lib/drift/dataset.ts";
import { profileFromJSON, type ReferenceProfile } from "../lib/drift/profile.ts";
import {
  type ColumnOverride,
  compareToProfile,
  describeResult,
  type DriftOptions,
} from "../lib/drift/compare.ts";
import { DRIFT_TESTS, type DriftTestName } from "../lib/drift/tests.ts";
import { driftVerdict, writeDriftReport } from "../lib/report/drift_report.ts";
import { table } from "../lib/data/profile.ts";
import { fmt } from "../lib/report/html.ts";
import { UserError } from "../lib/util/errors.ts";
import { parseFlags, runTask } from "../lib/util/cli.ts";

/** Exit code when drift is detected. */
const EXIT_DRIFT = 3;

/** A drift job as a JSON file (`--config`); flags override its fields. */
interface DriftConfig extends DriftOptions {
  ref?: string;
  cur?: string;
  spec?: string;
  since?: string;
  out?: string;
}

const CONFIG_KEYS = new Set([
  "ref",
  "cur",
  "spec",
  "since",
  "out",
  "columns",
  "driftShare",
  "prediction",
  "target",
  "alertRateFactor",
  "targetRateFactor",
  "missingShareTolerance",
]);

async function readConfig(path: string): Promise<DriftConfig> {
  let value: unknown;
  try {
    value = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UserError(`--config ${path}: no such file`);
    throw new UserError(`--config ${path}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UserError(`--config ${path}: expected a JSON object`);
  }
  for (const k of Object.keys(value)) {
    if (!CONFIG_KEYS.has(k)) {
      throw new UserError(
        `--config ${path}: unknown key "${k}" (known: ${[...CONFIG_KEYS].join(", ")})`,
      );
    }
  }
  return value as DriftConfig;
}

/** Parses `COLUMN=TEST[:THRESHOLD]`. */
function parseTestFlag(value: string): [string, ColumnOverride] {
  const m = /^([^=]+)=([a-z]+)(?::(.+))?$/.exec(value);
  if (!m) {
    throw new UserError(`--test ${value}: expected COLUMN=TEST[:THRESHOLD], e.g. amount=psi:0.2`);
  }
  const [, column, test, threshold] = m;
  if (!DRIFT_TESTS.includes(test as DriftTestName)) {
    throw new UserError(
      `--test ${value}: unknown test "${test}" (known: ${DRIFT_TESTS.join(", ")})`,
    );
  }
  const override: ColumnOverride = { test: test as DriftTestName };
  if (threshold !== undefined) {
    const t = Number(threshold);
    if (!(Number.isFinite(t) && t > 0)) {
      throw new UserError(`--test ${value}: threshold must be a positive number`);
    }
    override.threshold = t;
  }
  return [column, override];
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** Resolves --ref to a profile (and the run, when it names one). */
async function resolveReference(
  ref: string,
  specFlag: string | undefined,
): Promise<{ profile: ReferenceProfile; run: LoadedRun | null; label: string }> {
  if (ref.startsWith("run:")) {
    const run = await loadRun(ref.slice(4));
    return { profile: await loadProfile(run), run, label: `run ${run.id}` };
  }
  if (await exists(ref)) {
    if (extname(ref).toLowerCase() === ".json") {
      let value: unknown;
      try {
        value = JSON.parse(await Deno.readTextFile(ref));
      } catch (e) {
        throw new UserError(`--ref ${ref}: not valid JSON (${(e as Error).message})`);
      }
      return { profile: profileFromJSON(value, ref), run: null, label: basename(ref) };
    }
    if (!specFlag) {
      throw new UserError(
        `--ref ${ref} is a data file: --spec (a built-in name or a JSON file) is required`,
      );
    }
    const ds = await loadDataset(ref, await loadSpec(specFlag));
    return { profile: referenceProfile(ds), run: null, label: basename(ref) };
  }
  const run = await loadRunRef(ref);
  return { profile: await loadProfile(run), run, label: `${ref} (run ${run.id})` };
}

await runTask(async (args) => {
  const flags = parseFlags(args, {
    ref: { type: "string" },
    cur: { type: "string" },
    spec: { type: "string" },
    since: { type: "string" },
    out: { type: "string" },
    json: { type: "boolean", default: false },
    test: { type: "string", multiple: true, default: [] },
    "drift-share": { type: "string" },
    config: { type: "string" },
  });
  const config: DriftConfig = flags.config ? await readConfig(flags.config) : {};
  const ref = flags.ref ?? config.ref, cur = flags.cur ?? config.cur;
  const specName = flags.spec ?? config.spec, since = flags.since ?? config.since;
  if (!ref) {
    throw new UserError(
      "--ref (a run: run:ID, champion, NAME@ALIAS; a profile .json; or a data file) is required",
    );
  }
  if (!cur) throw new UserError("--cur FILE (the data to monitor) is required");
  const options: DriftOptions = {
    columns: { ...(config.columns ?? {}) },
    driftShare: config.driftShare,
    prediction: config.prediction,
    target: config.target,
    alertRateFactor: config.alertRateFactor,
    targetRateFactor: config.targetRateFactor,
    missingShareTolerance: config.missingShareTolerance,
  };
  for (const t of flags.test as string[]) {
    const [column, override] = parseTestFlag(t);
    options.columns![column] = override;
  }
  if (flags["drift-share"] !== undefined) {
    const s = Number(flags["drift-share"]);
    if (!(s > 0 && s <= 1)) {
      throw new UserError(
        `--drift-share: expected a number in (0, 1], got "${flags["drift-share"]}"`,
      );
    }
    options.driftShare = s;
  }

  const t0 = performance.now();
  const reference = await resolveReference(ref, specName);
  const spec = specName ? await loadSpec(specName) : reference.run?.spec;
  if (!spec) throw new UserError(`--spec is required to read --cur ${cur} against a profile file`);
  const ds = await loadDataset(cur, spec, { labels: "optional", missingFeatures: "drop" });
  const warnings: string[] = [];
  let rows: Uint32Array | undefined;
  if (since) {
    if (!ds.spec.time) throw new UserError(`--since: spec "${ds.spec.name}" has no time column`);
    const from = parseDay(since, "--since");
    const t = timesMs(ds.frame, ds.spec.time);
    const picked: number[] = [];
    for (let i = 0; i < t.length; i++) if (t[i] >= from) picked.push(i);
    if (picked.length === 0) {
      throw new UserError(`--since ${since}: no rows of ${cur} on or after that day`);
    }
    rows = Uint32Array.from(picked);
  }
  const current = currentData(ds, rows);
  const run = reference.run;
  if (run && ds.missingFeatures.length === 0) {
    current.scores = (await scoreWithRun(
      run,
      ds,
      rows ?? Uint32Array.from({ length: ds.frame.height }, (_, i) => i),
    )).scores;
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
  const curSha = sha256Hex(ds.bytes);
  const result = compareToProfile(reference.profile, current, options, {
    referenceLabel: reference.label,
    currentLabel: basename(cur) + (since ? ` since ${since}` : ""),
    schema: schemaChanges(reference.profile, ds),
    warnings,
  });
  const seconds = (performance.now() - t0) / 1000;
  const stem = basename(cur, extname(cur)).replace(/[^A-Za-z0-9_.-]+/g, "_");
  const out = flags.out ?? config.out ??
    join(reportsRoot(), "drift", `${stem}${since ? `_since_${since}` : ""}.html`);
  const written = await writeDriftReport(result, out, {
    reference: reference.profile.source.sha256,
    current: curSha,
  });
  if (flags.json) {
    const { columns, ...rest } = result;
    console.log(JSON.stringify({
      ...rest,
      columns: columns.map(({ plot: _plot, ...c }) => c),
      report: written.html,
      seconds,
      exitCode: result.drift ? EXIT_DRIFT : 0,
    }));
  } else {
    console.log(`${driftVerdict(result)}`);
    for (const reason of result.reasons) console.log(`  - ${reason}`);
    for (const w of result.warnings) console.log(`  warning: ${w}`);
    console.log(table(
      ["column", "test", "statistic", "drift", "quality"],
      result.columns.map((c) => [
        c.column,
        c.result ? c.result.test : "–",
        c.result ? describeResult(c.result) : (c.note ?? "–"),
        c.drifted ? "DRIFT" : "no",
        c.quality.flags.join("; ") || "–",
      ]),
    ));
    console.log(
      `report: ${written.html} (${
        fmt(seconds, 2)
      } s; JSON ${written.json}; index ${written.index})`,
    );
  }
  if (result.drift) Deno.exit(EXIT_DRIFT);
});
