/**
 * The champion/challenger gate: both models scored on the same
 * out-of-time window, compared metric by metric under configured rules,
 * and the decision (promote, keep or reject) written into the registry
 * history with its evidence.
 *
 * Rules, after MLflow's validation thresholds: the challenger must beat
 * the champion on the primary metric by at least `minGain` (absolute) and,
 * when `minRelativeGain` is set, by that share of the champion's figure;
 * no compared metric may be worse by more than `maxLoss`. A metric worse
 * by more than `maxLoss` rejects the challenger (its alias is removed); a
 * gain too small to promote keeps it as the challenger (it can keep
 * shadowing live traffic); otherwise it is promoted. With no champion, the
 * challenger is promoted.
 * @module
 */
import { type EvaluateJobResult, runEvaluateJob } from "./evaluate.ts";
import {
  type GateDecision,
  type GateRecord,
  PROMOTION_METRICS,
  readRegistry,
  recordGateDecision,
} from "../registry/aliases.ts";
import { artifactsRoot } from "../registry/store.ts";
import { runCompareJob } from "./monitor.ts";
import { UserError } from "../util/errors.ts";

/** The rules a gate applies. */
export interface GateRules {
  /** The metric that must improve. Default averagePrecision. */
  metric?: string;
  /** The metrics none of which may get worse by more than `maxLoss`. Default AP, card precision@k, recall at 1% FPR. */
  guard?: string[];
  /** Smallest absolute gain on `metric` that promotes. Default 0.005. */
  minGain?: number;
  /** Smallest gain relative to the champion's figure that promotes (0.02 = 2%). Default 0. */
  minRelativeGain?: number;
  /** Largest loss on any guarded metric that is tolerated. Default 0.02. */
  maxLoss?: number;
}

/** Defaults of {@linkcode GateRules}. */
export const GATE_DEFAULTS: Required<GateRules> = {
  metric: "averagePrecision",
  guard: ["averagePrecision", "entityPrecisionAtK", "recallAt1pctFpr"],
  minGain: 0.005,
  minRelativeGain: 0,
  maxLoss: 0.02,
};

/** What {@linkcode runGate} compares. */
export interface GateJob {
  /** The registered model. */
  model: string;
  /** The window: a data file with labels, and its first day (earlier rows only feed the history). */
  data?: string;
  since?: string;
  /**
   * Or decide from live traffic: a prediction-log window (`log:30d`) in which
   * the server answered with the champion and scored the challenger as its
   * shadow (`serve --shadow NAME@challenger`), on the labels fed back so far.
   */
  live?: string;
  /** The prediction log for `live` (default `$FRAUDLAB_LOG` or `<root>/predictions.sqlite`). */
  log?: string;
  /** The rules (defaults {@linkcode GATE_DEFAULTS}). */
  rules?: GateRules;
  /** Decide, but write nothing into the registry. */
  dryRun?: boolean;
  /** Artifacts root. */
  root?: string;
}

/** One compared metric. */
export interface GateComparison {
  metric: string;
  champion: number | null;
  challenger: number | null;
  /** challenger − champion (null when either is missing). */
  change: number | null;
}

/** The outcome of {@linkcode runGate}. */
export interface GateResult {
  model: string;
  decision: GateDecision;
  reason: string;
  challenger: { version: number; run_id: string };
  champion: { version: number; run_id: string } | null;
  comparisons: GateComparison[];
  rules: Required<GateRules>;
  /** The window compared on. */
  window: { data: string; sha256: string; since: string | null; rows: number; frauds: number };
  /** The registry change (null on a dry run). */
  record: GateRecord | null;
}

function metricKey(name: string): string {
  const key = PROMOTION_METRICS[name];
  if (!key) {
    throw new UserError(
      `gate: unknown metric "${name}" (known: ${Object.keys(PROMOTION_METRICS).join(", ")})`,
    );
  }
  return key;
}

/** Rules with defaults filled in, checked. */
export function resolveGateRules(rules: GateRules = {}): Required<GateRules> {
  const r = { ...GATE_DEFAULTS, ...rules };
  if (!Array.isArray(r.guard) || !r.guard.every((g) => typeof g === "string")) {
    throw new UserError(
      `gate: guard must be a list of metric names, got ${JSON.stringify(r.guard)}`,
    );
  }
  if (typeof r.metric !== "string") {
    throw new UserError(`gate: metric must be a metric name, got ${JSON.stringify(r.metric)}`);
  }
  r.metric = metricKey(r.metric);
  r.guard = r.guard.map(metricKey);
  for (const k of ["minGain", "minRelativeGain", "maxLoss"] as const) {
    if (!(Number.isFinite(r[k]) && r[k] >= 0)) {
      throw new UserError(`gate: ${k} must be a number >= 0, got ${r[k]}`);
    }
  }
  return r;
}

/**
 * Decides from two sets of figures (see the module doc): pure, so a live
 * comparison (shadow traffic) is decided by the same rules.
 *
 * @param champion the champion's figures (null: there is none)
 * @param challenger the challenger's figures
 * @param rules the rules
 * @returns the decision, its reason and the compared metrics
 *
 * @example
 * ```ts
 * import { decideGate, resolveGateRules } from "./gate.ts";
 * const d = decideGate(
 *   { averagePrecision: 0.60, entityPrecisionAtK: 0.30, recallAt1pctFpr: 0.50 },
 *   { averagePrecision: 0.64, entityPrecisionAtK: 0.31, recallAt1pctFpr: 0.49 },
 *   resolveGateRules(),
 * );
 * console.log(d.decision, d.reason); // promote …
 * ```
 */
export function decideGate(
  champion: Record<string, number | null> | null,
  challenger: Record<string, number | null>,
  rules: Required<GateRules>,
): { decision: GateDecision; reason: string; comparisons: GateComparison[] } {
  const names = [...new Set([rules.metric, ...rules.guard])];
  const comparisons = names.map((metric) => {
    const a = champion ? champion[metric] ?? null : null;
    const b = challenger[metric] ?? null;
    const ok = (v: number | null) => v !== null && Number.isFinite(v);
    return { metric, champion: a, challenger: b, change: ok(a) && ok(b) ? b! - a! : null };
  });
  const f4 = (v: number | null) => (v === null ? "n/a" : v.toFixed(4));
  const signed = (v: number) => `${v >= 0 ? "+" : ""}${v.toFixed(4)}`;
  if (!champion) {
    return {
      decision: "promote",
      reason: `no champion: the challenger is promoted (${rules.metric} ${
        f4(challenger[rules.metric] ?? null)
      })`,
      comparisons,
    };
  }
  const losses = comparisons.filter((c) =>
    rules.guard.includes(c.metric) && c.change !== null && c.change < -rules.maxLoss
  );
  if (losses.length > 0) {
    return {
      decision: "reject",
      reason: losses.map((c) =>
        `${c.metric} ${f4(c.challenger)} vs ${f4(c.champion)} (${
          signed(c.change!)
        }, worse than -${rules.maxLoss})`
      ).join("; "),
      comparisons,
    };
  }
  const primary = comparisons.find((c) => c.metric === rules.metric)!;
  if (primary.change === null) {
    return {
      decision: "keep",
      reason: `${rules.metric} cannot be compared (champion ${f4(primary.champion)}, challenger ${
        f4(primary.challenger)
      })`,
      comparisons,
    };
  }
  const need = Math.max(rules.minGain, rules.minRelativeGain * Math.abs(primary.champion!));
  const summary = `${rules.metric} ${f4(primary.challenger)} vs ${f4(primary.champion)} (${
    signed(primary.change)
  }, needs +${need.toFixed(4)})`;
  if (primary.change >= need) return { decision: "promote", reason: summary, comparisons };
  return { decision: "keep", reason: `gain too small: ${summary}`, comparisons };
}

/**
 * Scores champion and challenger on the same window, decides and records
 * the decision (see the module doc).
 *
 * @param job the model, the window, the rules
 * @returns the decision with its evidence
 */
export async function runGate(job: GateJob): Promise<GateResult> {
  const root = job.root ?? artifactsRoot();
  const rules = resolveGateRules(job.rules);
  const reg = await readRegistry(root);
  const m = reg.models[job.model];
  if (!m) {
    throw new UserError(
      `no registered model "${job.model}" (known: ${Object.keys(reg.models).join(", ") || "none"})`,
    );
  }
  const cv = m.aliases.challenger;
  if (cv === undefined) {
    throw new UserError(
      `model "${job.model}" has no challenger (deno task promote RUN --alias challenger)`,
    );
  }
  const chv = m.aliases.champion;
  if (chv === cv) {
    throw new UserError(
      `${job.model}@challenger is v${cv}, already the champion: nothing to decide`,
    );
  }
  const versionOf = (v: number) => m.versions.find((x) => x.version === v)!;
  const evalOn = (v: number): Promise<EvaluateJobResult> =>
    runEvaluateJob({
      run: `${job.model}@${v}`,
      data: job.data!,
      since: job.since,
      root,
    });
  let figures: {
    champion: Record<string, number | null> | null;
    challenger: Record<string, number | null>;
  };
  let window: GateResult["window"];
  if (job.live) {
    if (chv === undefined) {
      throw new UserError(`model "${job.model}" has no champion to compare live`);
    }
    const { comparison: c, path } = runCompareJob({ window: job.live, log: job.log, root });
    const want = (v: number) => `${job.model}@${v}`;
    if (c.served.model !== want(chv) || c.shadow.model !== want(cv)) {
      throw new UserError(
        `${job.live} of ${path} compares ${c.served.model} (served) with ${c.shadow.model} (shadow), not champion ${
          want(chv)
        } with challenger ${want(cv)}`,
      );
    }
    const numbers = (side: typeof c.served) => {
      const { model: _m, role: _r, ...rest } = side;
      return rest;
    };
    figures = { champion: numbers(c.served), challenger: numbers(c.shadow) };
    window = { data: path, sha256: "", since: job.live, rows: c.labeled, frauds: c.frauds };
  } else {
    if (!job.data) {
      throw new UserError("gate: give --data FILE (with --since DAY) or --live log:WINDOW");
    }
    const challenger = await evalOn(cv);
    const champion = chv !== undefined ? await evalOn(chv) : null;
    figures = { champion: champion?.headline ?? null, challenger: challenger.headline };
    window = {
      data: job.data,
      sha256: challenger.data.sha256,
      since: job.since ?? null,
      rows: challenger.metrics.rows,
      frauds: challenger.metrics.positives,
    };
  }
  const d = decideGate(figures.champion, figures.challenger, rules);
  const evidence = {
    source: job.live ? "live" : "offline",
    window,
    rules,
    comparisons: d.comparisons,
    challenger: { version: cv, run_id: versionOf(cv).run_id },
    champion: chv === undefined ? null : { version: chv, run_id: versionOf(chv).run_id },
  };
  const record = job.dryRun ? null : await recordGateDecision(job.model, {
    decision: d.decision,
    reason: d.reason,
    evidence,
    expect: cv,
  }, { root });
  return {
    model: job.model,
    decision: d.decision,
    reason: d.reason,
    challenger: evidence.challenger,
    champion: evidence.champion,
    comparisons: d.comparisons,
    rules,
    window,
    record,
  };
}
