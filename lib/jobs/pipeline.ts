/**
 * Pipelines of stages with declared inputs and outputs, rerun only where
 * something changed, after DVC's `dvc.yaml` and `dvc repro`.
 *
 * A pipeline file (JSON, `fraudlab.pipeline/1`) holds `params` and
 * `stages`. A stage has a `kind` (one of {@linkcode STAGE_KINDS}: each
 * composes one lib job) and `with`, its settings; `${params.NAME}` in a
 * setting is replaced by that parameter (a setting that is only a reference
 * keeps the parameter's type). A kind names which settings are input files
 * and which one is the output (`out`); a stage may list more inputs in
 * `deps`. Stages run in the order their inputs and outputs impose.
 *
 * `pipeline.lock` (next to the pipeline file) keeps, per stage, the
 * settings it ran with and the sha256 of every input and of its output.
 * A stage runs when it never ran, when its kind or a setting changed, when
 * an input's content changed (an upstream stage that reran and wrote the
 * same bytes changes nothing downstream), when its output is missing or was
 * changed by hand, or when forced; it says why it runs or skips. The lock is
 * rewritten (atomically) after each stage, so a failed stage keeps what ran
 * before it, and the failure is the error, naming the stage.
 *
 * A pipeline with a cycle, an unknown kind, an output written by two stages,
 * a missing setting, or an input that is neither a file nor another
 * stage's output is refused before anything runs, naming the stage.
 * @module
 */
import pl from "nodejs-polars";
import { createHash } from "node:crypto";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { loadSpec } from "../data/datasets.ts";
import { loadDataset } from "../data/load.ts";
import { parseDrift, simulateTransactions } from "../data/simulate.ts";
import { writeFrame } from "../data/write.ts";
import { velocityFeatures } from "../features/velocity.ts";
import { promote } from "../registry/aliases.ts";
import { headline } from "../registry/runs.ts";
import { artifactsRoot, jsonText, runsDir, writeAtomic } from "../registry/store.ts";
import { UserError } from "../util/errors.ts";
import { runDriftJob } from "./drift.ts";
import { runEvaluateJob } from "./evaluate.ts";
import { type GateRules, runGate } from "./gate.ts";
import { runScoreJob } from "./score.ts";
import { trainRun } from "./train.ts";

/** Settings of a stage, after parameters are substituted. */
export type StageSettings = Record<string, unknown>;

/** One stage as written in a pipeline file. */
export interface StageSpec {
  kind: string;
  with?: StageSettings;
  /** More input files than the kind's own. */
  deps?: string[];
}

/** A pipeline file. */
export interface PipelineSpec {
  format: "fraudlab.pipeline/1";
  params?: Record<string, unknown>;
  stages: Record<string, StageSpec>;
}

/** What a stage kind runs with. */
export interface StageContext {
  /** Artifacts root (runs, registry). */
  root: string;
  quiet: boolean;
  /** A path as the pipeline names it, resolved against the pipeline's folder. */
  path(p: string): string;
}

/** A stage kind: its input and output settings and what it runs. */
export interface StageKind {
  /** One line, for `--help` and docs. */
  about: string;
  /** Settings it needs. */
  required: string[];
  /** Settings naming input files. */
  inputs: string[];
  /** Runs it; returns a one-line summary. Writes the file `with.out`. */
  run(settings: StageSettings, ctx: StageContext): Promise<string>;
}

const str = (v: unknown) => String(v);

/** A stage output naming a run (train writes one): its run id. */
async function runIdFrom(file: string): Promise<string> {
  const v = JSON.parse(await Deno.readTextFile(file));
  if (typeof v?.run_id !== "string") {
    throw new UserError(`${file}: not a train stage's output (no run_id)`);
  }
  return v.run_id;
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  await writeAtomic(path, jsonText(value));
}

/** A stage's frame written to `out` (Parquet or CSV by extension), its folder made first. */
async function writeOut(out: string, frame: pl.DataFrame): Promise<void> {
  await Deno.mkdir(dirname(out), { recursive: true });
  writeFrame(frame, out);
}

/** The stage kinds, each composing one lib job. */
export const STAGE_KINDS: Record<string, StageKind> = {
  generate: {
    about: "simulated transactions (customers, days, seed, start, drift events) to `out`",
    required: ["out"],
    inputs: [],
    async run(w, ctx) {
      const start = w.start === undefined ? "2025-01-01" : str(w.start);
      const days = w.days === undefined ? 90 : Number(w.days);
      const drift = ((w.drift ?? []) as unknown[]).map((d) => parseDrift(str(d), { start, days }));
      const frame = simulateTransactions({
        customers: w.customers === undefined ? undefined : Number(w.customers),
        terminals: w.terminals === undefined ? undefined : Number(w.terminals),
        days,
        start,
        seed: w.seed === undefined ? 0 : Number(w.seed),
        drift,
        quiet: true,
      });
      await writeOut(ctx.path(str(w.out)), frame);
      return `${frame.height} transactions`;
    },
  },
  ingest: {
    about: "a data file validated with a spec and written as `out` (Parquet or CSV)",
    required: ["data", "spec", "out"],
    inputs: ["data"],
    async run(w, ctx) {
      const ds = await loadDataset(ctx.path(str(w.data)), await loadSpec(str(w.spec)));
      await writeOut(ctx.path(str(w.out)), ds.frame);
      return `${ds.frame.height} rows validated`;
    },
  },
  features: {
    about: "the data plus its velocity, risk and calendar features, to `out`",
    required: ["data", "spec", "out"],
    inputs: ["data"],
    async run(w, ctx) {
      const ds = await loadDataset(ctx.path(str(w.data)), await loadSpec(str(w.spec)));
      const feats = velocityFeatures(ds, {
        windowsDays: w.windowsDays as number[] | undefined,
        delayDays: w.delayDays === undefined ? undefined : Number(w.delayDays),
      });
      await writeOut(ctx.path(str(w.out)), pl.concat([ds.frame, feats], { how: "horizontal" }));
      return `${feats.width} features on ${ds.frame.height} rows`;
    },
  },
  train: {
    about:
      "a run (the train config's keys: data, spec, model, params, split, seed, …); `register` " +
      "{model, alias} promotes it; `out` gets its id and test metrics",
    required: ["data", "model", "out"],
    inputs: ["data"],
    async run(w, ctx) {
      const { out, register, ...config } = w;
      const run = await trainRun(
        { ...config, data: ctx.path(str(config.data)) } as Parameters<typeof trainRun>[0],
        { root: ctx.root, quiet: true },
      );
      let registered = null;
      if (register) {
        const r = register as { model?: string; alias?: string };
        const p = await promote(run.id, {
          root: ctx.root,
          model: r.model,
          alias: r.alias ?? "challenger",
          reason: "pipeline retrain",
        });
        registered = { model: p.model, version: p.version.version, alias: p.alias };
      }
      const test = headline(run.test);
      await writeJson(ctx.path(str(out)), {
        run_id: run.id,
        kind: run.config.model,
        test,
        registered,
      });
      return `run ${run.id}: test AP ${test.averagePrecision?.toFixed(4)}${
        registered ? `, ${registered.model} v${registered.version} ${registered.alias}` : ""
      }`;
    },
  },
  evaluate: {
    about:
      "the run of a train stage's output (`run`) evaluated on `data` from `since`; metrics to `out`",
    required: ["run", "data", "out"],
    inputs: ["run", "data"],
    async run(w, ctx) {
      const r = await runEvaluateJob({
        run: await runIdFrom(ctx.path(str(w.run))),
        data: ctx.path(str(w.data)),
        since: w.since === undefined ? undefined : str(w.since),
        root: ctx.root,
      });
      await writeJson(ctx.path(str(w.out)), {
        run_id: r.run.id,
        data: r.data,
        metrics: r.headline,
      });
      return `AP ${r.headline.averagePrecision?.toFixed(4)} on ${r.metrics.rows} rows`;
    },
  },
  drift: {
    about:
      "drift of `data` (from `since`) against the reference of a train stage's run; report to `out`",
    required: ["run", "data", "out"],
    inputs: ["run", "data"],
    async run(w, ctx) {
      const out = ctx.path(str(w.out));
      if (!out.endsWith(".json")) {
        throw new UserError(`drift: "out" must be a .json file (the HTML report goes beside it)`);
      }
      const r = await runDriftJob({
        ref: `run:${join(runsDir(ctx.root), await runIdFrom(ctx.path(str(w.run))))}`,
        cur: ctx.path(str(w.data)),
        since: w.since === undefined ? undefined : str(w.since),
        out: out.replace(/\.json$/, ".report.html"),
      });
      const d = r.result;
      await writeJson(out, {
        drift: d.drift,
        reasons: d.reasons,
        columns: d.columns.filter((c) => c.drifted).map((c) => c.column),
        report: r.report.html,
      });
      return d.drift ? `DRIFT: ${d.reasons.join("; ")}` : "no drift";
    },
  },
  gate: {
    about:
      "champion against challenger of `model` on `data` from `since` (`rules`); decision to `out`",
    required: ["model", "data", "out"],
    inputs: ["data"],
    async run(w, ctx) {
      const g = await runGate({
        model: str(w.model),
        data: ctx.path(str(w.data)),
        since: w.since === undefined ? undefined : str(w.since),
        rules: w.rules as GateRules | undefined,
        root: ctx.root,
      });
      await writeJson(ctx.path(str(w.out)), {
        decision: g.decision,
        reason: g.reason,
        challenger: g.challenger,
        champion: g.champion,
        comparisons: g.comparisons,
      });
      return `${g.decision}: ${g.reason}`;
    },
  },
  score: {
    about:
      "batch scoring of `data` (a file, or a prediction-log window `log:24h` of `log`) with `model` (NAME@ALIAS) or a train stage's `run`, to `out`",
    required: ["data", "out"],
    inputs: ["data", "run", "history"],
    async run(w, ctx) {
      const model = w.run !== undefined
        ? `run:${await runIdFrom(ctx.path(str(w.run)))}`
        : str(w.model ?? "champion");
      const data = str(w.data);
      const r = await runScoreJob({
        model,
        data: data.startsWith("log:") ? data : ctx.path(data),
        log: w.log === undefined ? undefined : ctx.path(str(w.log)),
        out: ctx.path(str(w.out)),
        history: w.history === undefined ? undefined : ctx.path(str(w.history)),
        reasons: w.reasons === undefined ? undefined : Number(w.reasons),
        root: ctx.root,
        quiet: true,
      });
      return `${r.scored} scored, ${r.alerts} alerts, ${r.refused} refused`;
    },
  },
};

/**
 * The pipeline `deno task pipeline --init` writes: a simulated world with
 * amount inflation from mid-March, its features, a logistic regression and
 * a gbdt registered as the challenger of model `pipeline`, both evaluated
 * on the weeks after their test window, drift of those weeks, and the gate.
 */
export const BUILTIN_PIPELINE: PipelineSpec = {
  format: "fraudlab.pipeline/1",
  params: {
    customers: 1500,
    days: 120,
    seed: 7,
    start: "2025-01-01",
    drift: "amount_inflation@2025-03-15",
    since: "2025-03-15",
    data: "data/pipeline/tx.parquet",
  },
  stages: {
    generate: {
      kind: "generate",
      with: {
        customers: "${params.customers}",
        days: "${params.days}",
        seed: "${params.seed}",
        start: "${params.start}",
        drift: ["${params.drift}"],
        out: "${params.data}",
      },
    },
    features: {
      kind: "features",
      with: { data: "${params.data}", spec: "txsim", out: "data/pipeline/features.parquet" },
    },
    train_logreg: {
      kind: "train",
      with: {
        data: "${params.data}",
        spec: "txsim",
        model: "logreg",
        split: { method: "time", trainDays: 42, delayDays: 7, testDays: 14 },
        out: "artifacts/pipeline/train_logreg.json",
      },
    },
    train_gbdt: {
      kind: "train",
      with: {
        data: "${params.data}",
        spec: "txsim",
        model: "gbdt",
        split: { method: "time", trainDays: 42, delayDays: 7, testDays: 14 },
        register: { model: "pipeline", alias: "challenger" },
        out: "artifacts/pipeline/train_gbdt.json",
      },
    },
    evaluate_logreg: {
      kind: "evaluate",
      with: {
        run: "artifacts/pipeline/train_logreg.json",
        data: "${params.data}",
        since: "${params.since}",
        out: "artifacts/pipeline/evaluate_logreg.json",
      },
    },
    evaluate_gbdt: {
      kind: "evaluate",
      with: {
        run: "artifacts/pipeline/train_gbdt.json",
        data: "${params.data}",
        since: "${params.since}",
        out: "artifacts/pipeline/evaluate_gbdt.json",
      },
    },
    drift: {
      kind: "drift",
      with: {
        run: "artifacts/pipeline/train_gbdt.json",
        data: "${params.data}",
        since: "${params.since}",
        out: "reports/pipeline/drift.json",
      },
    },
    gate: {
      kind: "gate",
      with: {
        model: "pipeline",
        data: "${params.data}",
        since: "${params.since}",
        out: "artifacts/pipeline/gate.json",
      },
      deps: ["artifacts/pipeline/train_gbdt.json"],
    },
  },
};

/** One stage, resolved: settings substituted, inputs and output known. */
export interface ResolvedStage {
  name: string;
  kind: string;
  settings: StageSettings;
  /** Input files as named, and the output. */
  inputs: string[];
  out: string;
}

/** A pipeline, checked and in run order. */
export interface ResolvedPipeline {
  /** The folder its paths are relative to. */
  dir: string;
  stages: ResolvedStage[];
}

const REF = /\$\{params\.([A-Za-z0-9_.-]+)\}/g;

function substitute(v: unknown, params: Record<string, unknown>, where: string): unknown {
  if (typeof v === "string") {
    const whole = /^\$\{params\.([A-Za-z0-9_.-]+)\}$/.exec(v);
    const get = (name: string) => {
      if (!Object.hasOwn(params, name)) {
        throw new UserError(
          `${where}: unknown parameter "${name}" (params: ${
            Object.keys(params).join(", ") || "none"
          })`,
        );
      }
      return params[name];
    };
    if (whole) return get(whole[1]);
    return v.replace(REF, (_m, name) => String(get(name)));
  }
  if (Array.isArray(v)) return v.map((x) => substitute(x, params, where));
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).map((
        [k, x],
      ) => [k, substitute(x, params, where)]),
    );
  }
  return v;
}

/**
 * Checks a pipeline and puts its stages in run order (see the module doc
 * for what is refused).
 *
 * @param spec the parsed pipeline file
 * @param options the folder its paths are relative to; whether a file exists
 * @returns the stages in run order
 *
 * @example
 * ```ts
 * import { resolvePipeline } from "./pipeline.ts";
 * const p = resolvePipeline({
 *   format: "fraudlab.pipeline/1",
 *   params: { seed: 7 },
 *   stages: {
 *     train: { kind: "train", with: { data: "tx.parquet", model: "logreg", out: "train.json" } },
 *     data: { kind: "generate", with: { seed: "${params.seed}", out: "tx.parquet" } },
 *   },
 * }, { dir: "." });
 * console.log(p.stages.map((s) => s.name)); // ["data", "train"]
 * ```
 */
export function resolvePipeline(
  spec: PipelineSpec,
  options: { dir: string; exists?: (path: string) => boolean },
): ResolvedPipeline {
  if (!spec || spec.format !== "fraudlab.pipeline/1" || typeof spec.stages !== "object") {
    throw new UserError(
      `not a pipeline file (expected "format": "fraudlab.pipeline/1" and "stages")`,
    );
  }
  const params = spec.params ?? {};
  const exists = options.exists ?? ((p: string) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  const stages: ResolvedStage[] = [];
  const writer = new Map<string, string>();
  const norm = (p: string) => (isAbsolute(p) ? p : resolve(options.dir, p));
  for (const [name, s] of Object.entries(spec.stages)) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
      throw new UserError(
        `stage "${name.slice(0, 80)}": names are letters, digits, _ . - (at most 64)`,
      );
    }
    const kind = STAGE_KINDS[s?.kind];
    if (!kind) {
      throw new UserError(
        `stage "${name}": unknown kind "${s?.kind}" (known: ${
          Object.keys(STAGE_KINDS).join(", ")
        })`,
      );
    }
    const settings = substitute(s.with ?? {}, params, `stage "${name}"`) as StageSettings;
    for (const key of kind.required) {
      if (settings[key] === undefined) {
        throw new UserError(`stage "${name}" (${s.kind}): setting "${key}" is required`);
      }
    }
    const out = String(settings.out);
    const prev = writer.get(norm(out));
    if (prev !== undefined) {
      throw new UserError(`stage "${name}": its output ${out} is also written by stage "${prev}"`);
    }
    writer.set(norm(out), name);
    const inputs = [
      ...kind.inputs.filter((k) =>
        settings[k] !== undefined && !(k === "run" && s.kind === "score" && settings.model)
      ).map((k) => String(settings[k])),
      ...(s.deps ?? []).map(String),
    ];
    stages.push({ name, kind: s.kind, settings, inputs, out });
  }
  // Every input is a file or another stage's output.
  for (const st of stages) {
    for (const input of st.inputs) {
      if (input.startsWith("log:")) continue; // a prediction-log window (score), not a file
      if (!writer.has(norm(input)) && !exists(norm(input))) {
        throw new UserError(
          `stage "${st.name}": input ${input} is neither a file nor another stage's output`,
        );
      }
    }
  }
  // Run order: depth-first, refusing cycles.
  const byName = new Map(stages.map((s) => [s.name, s]));
  const state = new Map<string, "visiting" | "done">();
  const order: ResolvedStage[] = [];
  const visit = (st: ResolvedStage, path: string[]) => {
    if (state.get(st.name) === "done") return;
    if (state.get(st.name) === "visiting") {
      const cycle = [...path.slice(path.indexOf(st.name)), st.name];
      throw new UserError(`stage "${st.name}": its inputs form a cycle (${cycle.join(" → ")})`);
    }
    state.set(st.name, "visiting");
    for (const input of st.inputs) {
      const up = writer.get(norm(input));
      if (up !== undefined) visit(byName.get(up)!, [...path, st.name]);
    }
    state.set(st.name, "done");
    order.push(st);
  };
  for (const st of stages) visit(st, []);
  return { dir: options.dir, stages: order };
}

/** One stage's entry in `pipeline.lock`. */
export interface LockEntry {
  kind: string;
  settings: StageSettings;
  /** sha256 of each input, and of the output, with the size and mtime they were hashed at. */
  inputs: Record<string, FileHash>;
  out: FileHash & { path: string };
  ran_at: string;
  seconds: number;
  summary: string;
}

/** A file's content hash, and what it was hashed at (a file unchanged since is not read again). */
export interface FileHash {
  sha256: string;
  size: number;
  mtime: number;
}

/** `pipeline.lock`. */
export interface PipelineLock {
  format: "fraudlab.pipeline-lock/1";
  stages: Record<string, LockEntry>;
}

/** A file's hash, reusing `known` when its size and mtime are unchanged; null when it does not exist. */
async function hashFile(path: string, known?: FileHash): Promise<FileHash | null> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch {
    return null;
  }
  const mtime = info.mtime?.getTime() ?? 0;
  if (known && known.size === info.size && known.mtime === mtime) return known;
  const hash = createHash("sha256");
  const file = await Deno.open(path);
  try {
    for await (const chunk of file.readable) hash.update(chunk);
  } catch (e) {
    throw new UserError(`${path}: cannot read (${(e as Error).message})`);
  }
  return { sha256: hash.digest("hex"), size: info.size, mtime };
}

/** What happened to a stage. */
export interface StageOutcome {
  name: string;
  kind: string;
  action: "ran" | "skipped" | "would run";
  /** Why it ran or skipped. */
  reason: string;
  summary?: string;
  seconds?: number;
}

/** What {@linkcode runPipeline} runs. */
export interface PipelineJob {
  /** The pipeline file; its lock sits beside it (`pipeline.lock`). */
  file: string;
  /** Say what would run, run nothing. */
  dryRun?: boolean;
  /** Stages run whatever the lock says. */
  force?: string[];
  /** Artifacts root (default `artifacts/`). */
  root?: string;
  quiet?: boolean;
  /** Called with each stage's outcome as it is known. */
  onStage?: (o: StageOutcome) => void;
}

/** Why a stage must run, or null when the lock says it is up to date. */
async function whyRun(
  st: ResolvedStage,
  entry: LockEntry | undefined,
  ctx: {
    path(p: string): string;
    ranUpstream: Set<string>;
    dry: boolean;
    writer: Map<string, string>;
  },
): Promise<string | null> {
  if (!entry) return "never ran";
  if (
    typeof entry.settings !== "object" || entry.settings === null ||
    typeof entry.inputs !== "object" || entry.inputs === null ||
    typeof entry.out?.sha256 !== "string"
  ) return "its lock entry is unreadable";
  if (entry.kind !== st.kind) return `kind changed (${entry.kind} → ${st.kind})`;
  const before = JSON.stringify(entry.settings), now = JSON.stringify(st.settings);
  if (before !== now) {
    const keys = new Set([...Object.keys(entry.settings), ...Object.keys(st.settings)]);
    const changed = [...keys].filter((k) =>
      JSON.stringify(entry.settings[k]) !== JSON.stringify(st.settings[k])
    );
    return `settings changed: ${changed.join(", ")}`;
  }
  for (const input of st.inputs) {
    if (input.startsWith("log:")) {
      return `input ${input} is a prediction-log window, read anew each run`;
    }
    const up = ctx.writer.get(ctx.path(input));
    if (ctx.dry && up !== undefined && ctx.ranUpstream.has(up)) {
      return `input ${input} comes from stage "${up}", which would run`;
    }
    const h = await hashFile(ctx.path(input), entry.inputs[input]);
    if (!h) return `input ${input} is missing`;
    if (!entry.inputs[input] || h.sha256 !== entry.inputs[input].sha256) {
      return `input ${input} changed`;
    }
  }
  const out = await hashFile(ctx.path(st.out), entry.out);
  if (!out) return `output ${st.out} is missing`;
  if (out.sha256 !== entry.out.sha256) return `output ${st.out} changed since it was written`;
  return null;
}

async function readLock(path: string): Promise<PipelineLock> {
  try {
    const v = JSON.parse(await Deno.readTextFile(path));
    if (v?.format !== "fraudlab.pipeline-lock/1") throw new Error("wrong format");
    return v;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return { format: "fraudlab.pipeline-lock/1", stages: {} };
    }
    throw new UserError(
      `${path}: unreadable lock file (${(e as Error).message}); delete it to rerun everything`,
    );
  }
}

/**
 * Reads a JSON definition file (a pipeline, a schedule) and checks it with
 * `check`; every error is one line naming the file.
 */
export async function readDefinition<T>(file: string, check: (value: unknown) => T): Promise<T> {
  let value: unknown;
  try {
    value = JSON.parse(await Deno.readTextFile(file));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UserError(`${file}: no such file`);
    throw new UserError(`${file}: not JSON (${(e as Error).message.split("\n")[0]})`);
  }
  try {
    return check(value);
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`${file}: ${e.message}`);
    throw e;
  }
}

/** Reads and checks a pipeline file. */
export function loadPipeline(file: string): Promise<ResolvedPipeline> {
  return readDefinition(
    file,
    (v) => resolvePipeline(v as PipelineSpec, { dir: dirname(resolve(file)) }),
  );
}

/**
 * Runs the stages of a pipeline file that need to run (see the module
 * doc), in order, keeping `pipeline.lock` beside it.
 *
 * @param job the file, dry run, forced stages
 * @returns each stage's outcome, in run order
 */
export async function runPipeline(job: PipelineJob): Promise<StageOutcome[]> {
  const pipeline = await loadPipeline(job.file);
  const lockPath = join(pipeline.dir, "pipeline.lock");
  const lock = await readLock(lockPath);
  const force = new Set(job.force ?? []);
  for (const f of force) {
    if (!pipeline.stages.some((s) => s.name === f)) {
      throw new UserError(
        `--force ${f}: no such stage (stages: ${pipeline.stages.map((s) => s.name).join(", ")})`,
      );
    }
  }
  const path = (p: string) => (isAbsolute(p) ? p : resolve(pipeline.dir, p));
  const writer = new Map(pipeline.stages.map((s) => [path(s.out), s.name]));
  const ctx: StageContext = { root: job.root ?? artifactsRoot(), quiet: job.quiet ?? false, path };
  const ranUpstream = new Set<string>();
  const outcomes: StageOutcome[] = [];
  const report = (o: StageOutcome) => {
    outcomes.push(o);
    job.onStage?.(o);
  };
  for (const st of pipeline.stages) {
    const entry = lock.stages[st.name];
    const reason = force.has(st.name)
      ? "forced"
      : await whyRun(st, entry, { path, ranUpstream, dry: job.dryRun ?? false, writer });
    if (reason === null) {
      report({ name: st.name, kind: st.kind, action: "skipped", reason: "up to date" });
      continue;
    }
    ranUpstream.add(st.name);
    if (job.dryRun) {
      report({ name: st.name, kind: st.kind, action: "would run", reason });
      continue;
    }
    const t0 = performance.now();
    let summary: string;
    try {
      summary = await STAGE_KINDS[st.kind].run(st.settings, ctx);
    } catch (e) {
      const msg = (e as Error).message.split("\n")[0];
      if (e instanceof UserError) {
        throw new UserError(`stage "${st.name}" (${st.kind}) failed: ${msg}`);
      }
      throw new Error(`stage "${st.name}" (${st.kind}) failed: ${msg}`, { cause: e });
    }
    const seconds = (performance.now() - t0) / 1000;
    const inputs: Record<string, FileHash> = {};
    for (const input of st.inputs) {
      if (input.startsWith("log:")) continue;
      const h = await hashFile(path(input));
      if (h) inputs[input] = h;
    }
    const out = await hashFile(path(st.out));
    if (!out) throw new Error(`stage "${st.name}" (${st.kind}) did not write its output ${st.out}`);
    lock.stages[st.name] = {
      kind: st.kind,
      settings: st.settings,
      inputs,
      out: { ...out, path: st.out },
      ran_at: new Date().toISOString(),
      seconds: Number(seconds.toFixed(3)),
      summary,
    };
    await writeAtomic(lockPath, jsonText(lock));
    report({ name: st.name, kind: st.kind, action: "ran", reason, summary, seconds });
  }
  return outcomes;
}
