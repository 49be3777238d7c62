/**
 * Scoring one transaction (or a batch) with a served model: validation
 * against the run's input schema, online velocity features from the entity
 * history, the pipeline, the model's score and per-field reasons.
 *
 * One file: the served model, the answer it builds and its log row share the
 * model's reason groups, buffers and encoder; split, they would export what
 * only scoring uses.
 * @module
 */
import { calibrate } from "../eval/calibrate.ts";
import type { VelocityOptions } from "../features/velocity.ts";
import { type HistoryLimits, OnlineVelocity } from "../features/online.ts";
import { featureLimit, outOfRangeInput, transformRecord } from "../features/pipeline.ts";
import type { Detector } from "../models/detector.ts";
import { resolveModelRef } from "../registry/aliases.ts";
import { type LoadedRun, loadProfile, loadRun } from "../registry/runs.ts";
import { artifactsRoot } from "../registry/store.ts";
import { type InputSchema, inputSchema, InvalidInput, type ParsedRecord } from "./schema.ts";
import { fourDecimals } from "../util/format.ts";
import type { PredictionRow } from "./predlog.ts";

/** Histogram bounds from a run's validation score quantiles (1001 of them), and its threshold. */
export function scoreBoundsOf(quantiles: number[] | null, threshold: number): number[] {
  const raw = [threshold];
  if (quantiles && quantiles.length > 1) {
    const at = (p: number) => quantiles[Math.round(p * (quantiles.length - 1))];
    for (let k = 1; k < 20; k++) raw.push(at(k / 20));
    raw.push(at(0.99), at(0.999));
  } else raw.push(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9);
  return [...new Set(raw.filter(Number.isFinite).map((v) => Number(v.toPrecision(6))))]
    .sort((a, b) => a - b);
}

/** One reason: an input field (or derived feature), its contribution and its value. */
export interface Reason {
  feature: string;
  contribution: number;
  value: number | string | null;
}

/** What `/v1/score` answers. */
export interface ScoreResult {
  transaction_id: string;
  score: number;
  /** The calibrated probability of fraud, when the run has a calibration. */
  probability?: number;
  is_fraud: boolean;
  threshold: number;
  reasons: Reason[];
  /** Present (true) when the reasons were not computed: a pass under `reasons: "flagged"`. */
  reasons_skipped?: true;
  model: { name: string; version: number; run_id: string };
}

async function validationQuantiles(run: LoadedRun): Promise<number[] | null> {
  try {
    return (await loadProfile(run)).prediction?.scores.quantiles ?? null;
  } catch {
    return null; // a run without a profile still serves; its score buckets are generic
  }
}

/**
 * Loads the run behind `NAME@ALIAS`, `NAME@VERSION`, a bare alias, or a run
 * id (`run:ID`), checksums verified.
 */
export async function loadServedModel(
  ref: string,
  root = artifactsRoot(),
  options: LoadOptions = {},
): Promise<ServedModel> {
  if (ref.startsWith("run:")) {
    const run = await loadRun(ref.slice(4), root);
    return new ServedModel(run, {
      name: run.spec.name,
      version: 0,
      alias: null,
      scoreQuantiles: await validationQuantiles(run),
      ...options,
    });
  }
  const r = await resolveModelRef(ref, root);
  const run = await loadRun(r.version.run_id, root);
  return new ServedModel(run, {
    name: r.model,
    version: r.version.version,
    alias: r.alias ?? null,
    scoreQuantiles: await validationQuantiles(run),
    ...options,
  });
}

/** Whether two models can share one entity history (same velocity options). */
export function sameVelocity(a: VelocityOptions | null, b: VelocityOptions | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A new, empty entity history for a model (null when it uses no velocity features). */
export function newHistory(model: ServedModel, limits: HistoryLimits = {}): OnlineVelocity | null {
  const v = model.run.pipeline.velocity;
  return v ? new OnlineVelocity(v, limits) : null;
}

/**
 * The shortest decimal that reads back as the same float32, when `x` is a
 * float32 value (as every model's score is): 0.40487396717071533 answers as
 * 0.40487397, which loses nothing. Other numbers come back unchanged.
 */
export function shortestFloat32(x: number): number {
  if (!Number.isFinite(x) || Math.fround(x) !== x || x === 0) return x;
  // Nine significant digits always read back. A float32 of normal size lies
  // within 6e-8 (relative) of every decimal that reads back as it, closer
  // than half a unit of the sixth digit, so rounding to six digits already
  // gives any form of six digits or fewer. Subnormal values are coarser: try
  // every length. A p-digit candidate is an integer divided by a power of
  // ten, both exact, so the division gives the double nearest that decimal,
  // the one that prints as it (no string is built while searching).
  const e = Math.floor(Math.log10(Math.abs(x)));
  for (let p = Math.abs(x) < 2 ** -126 ? 1 : 6; p <= 9; p++) {
    const y = roundDigits(x, p, e);
    if (Math.fround(y) === x) return y;
  }
  return Number(x.toPrecision(9));
}

/** `x` rounded to `p` significant digits, `e` being floor(log10 |x|). */
function roundDigits(x: number, p: number, e: number): number {
  const k = p - 1 - e;
  // 10^k is exact up to 10^22, and the scaled value must stay an exact integer.
  if (k >= 0 && k <= 22 && Math.abs(x) * 10 ** k < 2 ** 53) {
    const s = 10 ** k;
    return Math.round(x * s) / s;
  }
  return Number(x.toPrecision(p));
}

/** `x` to four significant digits: how a reason's contribution is answered. */
export function fourDigits(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  return roundDigits(x, 4, Math.floor(Math.log10(Math.abs(x))));
}

function scoreRow(detector: Detector, row: Float32Array, contrib: Float32Array, columns: string[]) {
  if (detector.scoreOne) return detector.scoreOne(row, contrib);
  const score = detector.score({ data: row, rows: 1, cols: row.length, columns })[0];
  contrib.set(detector.explain(row));
  return score;
}

/**
 * The `n` reason groups contributing most to a score, descending (ties by
 * column order), -1 where there are fewer groups: `contrib` holds the
 * matrix columns' contributions, `groupOf` each column's group, and `sums`
 * (one slot per group) is scratch space the group totals are left in.
 */
export function topGroups(
  groupOf: Int32Array,
  contrib: Float32Array,
  options: { sums: Float64Array; n: number },
): number[] {
  const { sums, n } = options;
  sums.fill(0);
  for (let j = 0; j < groupOf.length; j++) sums[groupOf[j]] += contrib[j];
  const top = new Array<number>(n).fill(-1);
  for (let g = 0; g < sums.length; g++) {
    for (let k = 0; k < n; k++) {
      if (top[k] === -1 || sums[g] > sums[top[k]]) {
        for (let m = n - 1; m > k; m--) top[m] = top[m - 1];
        top[k] = g;
        break;
      }
    }
  }
  return top;
}

/**
 * The answer for one scored record: the decision at the run's threshold and
 * the three fields contributing most, from `contrib` (its column contributions).
 */
function resultOf(
  model: ServedModel,
  parsed: ParsedRecord,
  derived: Record<string, number | null> | undefined,
  id: string,
  score: number,
  contrib: Float32Array,
  sums: Float64Array,
  probability: { probability?: number } = {},
): ScoreResult {
  const top = topGroups(model.groupOf, contrib, { sums, n: 3 });
  const reasons: Reason[] = [];
  for (const g of top) {
    if (g === -1) continue;
    const field = model.groups[g];
    // A derived (velocity) value is answered to four decimals; an input value as sent.
    const raw = derived && field in derived ? fourDecimals(derived[field]) : parsed.values[field];
    reasons.push({
      feature: field,
      contribution: fourDigits(sums[g]),
      value: raw === undefined ? null : raw as number | string | null,
    });
  }
  return {
    transaction_id: id,
    // Decided on the exact score; both numbers are answered at their shortest
    // float32 form, which decides the same way (rounding float32 values to
    // their shortest forms keeps their order).
    score: shortestFloat32(score),
    ...probability,
    is_fraud: score >= model.threshold, // the alert rule of evaluation
    threshold: model.thresholdShown,
    reasons,
    model: { name: model.name, version: model.version, run_id: model.run.id },
  };
}

/** An uncalibrated run's answers: no probability (one object, not one a request). */
const NO_PROBABILITY: { probability?: number } = Object.freeze({});

/** A number as JSON writes it (`null` for NaN and ±Infinity). */
function numberJson(x: number): string {
  return Number.isFinite(x) ? "" + x : "null";
}

/** What an {@linkcode AnswerEncoder} needs of its model. */
export interface AnswerModel {
  name: string;
  version: number;
  run: { id: string };
  /** The threshold as answered. */
  thresholdShown: number;
  /** Reason groups (their names are encoded once). */
  groups: readonly string[];
}

/**
 * Encodes a model's answers as JSON: what `JSON.stringify(result)` gives,
 * character for character, built from pieces of the model's answer encoded
 * once (threshold, feature names, model block) so only the per-request
 * values are encoded per request.
 */
export class AnswerEncoder {
  readonly #model: AnswerModel;
  /** `,"threshold":…,"reasons":[` */
  readonly #threshold: string;
  /** `,"model":{…}}` (after the reasons' closing bracket) */
  readonly #tail: string;
  /** Reason group → `{"feature":"…","contribution":` */
  readonly #feature: Map<string, string>;

  constructor(model: AnswerModel) {
    this.#model = model;
    this.#threshold = `,"threshold":${numberJson(model.thresholdShown)},"reasons":[`;
    this.#tail = `,"model":${
      JSON.stringify({ name: model.name, version: model.version, run_id: model.run.id })
    }}`;
    this.#feature = new Map(
      model.groups.map((g) => [g, `{"feature":${JSON.stringify(g)},"contribution":`]),
    );
  }

  /** The JSON text of `result`. */
  encode(result: ScoreResult): string {
    const model = this.#model;
    // Another model's result (never the case when serving) is encoded in full.
    const m = result.model;
    if (
      result.threshold !== model.thresholdShown || m.name !== model.name ||
      m.version !== model.version || m.run_id !== model.run.id
    ) return JSON.stringify(result);
    let out = `{"transaction_id":${JSON.stringify(result.transaction_id)},"score":${
      numberJson(result.score)
    }${
      result.probability === undefined ? "" : `,"probability":${numberJson(result.probability)}`
    },"is_fraud":${result.is_fraud}${this.#threshold}`;
    const reasons = result.reasons;
    for (let i = 0; i < reasons.length; i++) {
      const r = reasons[i];
      const v = r.value;
      out += `${i > 0 ? "," : ""}${
        this.#feature.get(r.feature) ?? `{"feature":${JSON.stringify(r.feature)},"contribution":`
      }${numberJson(r.contribution)},"value":${
        typeof v === "number" ? numberJson(v) : JSON.stringify(v ?? null)
      }}`;
    }
    return out + (result.reasons_skipped ? '],"reasons_skipped":true' : "]") + this.#tail;
  }
}

/** A model produced a non-finite score: a bug, never served or logged (the server answers 500). */
export class NonFiniteScore extends Error {}

/** How a {@linkcode ServedModel} is registered, and its validation score quantiles. */
export interface ServedAs {
  /** Registered name. */
  name: string;
  /** Registered version (0 for a bare run). */
  version: number;
  /** The alias it was loaded through (null for a bare run or a version). */
  alias: string | null;
  /** The run's validation score quantiles (histogram bounds); null: generic buckets. */
  scoreQuantiles?: number[] | null;
  /** Threads one row's explanation runs on, for kinds that can split it (tree ensembles); default 1. */
  explainThreads?: number;
}

/** How a model is loaded for serving. */
export interface LoadOptions {
  /** See {@linkcode ServedAs.explainThreads}. */
  explainThreads?: number;
}

/** Options of {@linkcode ServedModel.score}. */
export interface ScoreOptions {
  /** The transaction id to answer with (the record's, or one the caller generated). */
  id: string;
  /** The entity history velocity features come from (then remembering it); null: none. */
  history: OnlineVelocity | null;
  /**
   * Reasons on every answer ("all", the default), only on alerts
   * ("flagged"; a pass then answers no reasons and says they were skipped),
   * or never ("none": a shadow model's score, which nobody reads reasons of).
   */
  reasons?: "all" | "flagged" | "none";
  /**
   * Whether the history remembers the transaction (default true). False for
   * a shadow model reading the served model's history: the served model
   * already added it, and a history's windows end before the transaction's
   * own time, so the shadow sees the same features.
   */
  remember?: boolean;
}

/**
 * A model ready to serve, built once when it is loaded: its input schema,
 * the reason groups, its answer encoder and the scratch buffers one score
 * uses. Scoring is synchronous, so one model serves one request at a time
 * on its thread and the buffers are never shared between two scores.
 */
export class ServedModel {
  /** Registered name. */
  readonly name: string;
  /** Registered version (0 for a bare run). */
  readonly version: number;
  /** The alias it was loaded through (null for a bare run). */
  readonly alias: string | null;
  /** The run it serves. */
  readonly run: LoadedRun;
  /** What a record must look like. */
  readonly schema: InputSchema;
  /** The run's threshold. */
  readonly threshold: number;
  /** The threshold as answered ({@linkcode shortestFloat32}). */
  readonly thresholdShown: number;
  /** When this process loaded it (ISO). */
  readonly loadedAt: string;
  /** Matrix column → reason group (one group per input field or velocity feature). */
  readonly groupOf: Int32Array;
  /** Reason groups: the field of each numeric column and of each categorical field. */
  readonly groups: string[];
  /** Score histogram bounds: validation score quantiles (5%, 10%, …, 95%, 99%, 99.9%) and the threshold. */
  readonly scoreBounds: number[];
  readonly #row: Float32Array;
  readonly #contrib: Float32Array;
  readonly #sums: Float64Array;
  readonly #answer: AnswerEncoder;

  constructor(run: LoadedRun, as: ServedAs) {
    const fp = run.pipeline;
    const groups: string[] = [];
    const groupOf = new Int32Array(fp.columns.length);
    let j = 0;
    for (const step of fp.numeric) {
      groupOf[j++] = groups.length;
      groups.push(step.name);
    }
    for (const step of fp.categorical) {
      for (let c = 0; c < step.categories.length; c++) groupOf[j++] = groups.length;
      groups.push(step.name);
    }
    this.name = as.name;
    this.version = as.version;
    this.alias = as.alias;
    this.run = run;
    this.schema = inputSchema(run.spec, fp);
    this.threshold = run.threshold.threshold;
    this.thresholdShown = shortestFloat32(run.threshold.threshold);
    this.loadedAt = new Date().toISOString();
    this.groupOf = groupOf;
    this.groups = groups;
    this.scoreBounds = scoreBoundsOf(as.scoreQuantiles ?? null, run.threshold.threshold);
    this.#row = new Float32Array(fp.columns.length);
    this.#contrib = new Float32Array(fp.columns.length);
    this.#sums = new Float64Array(groups.length);
    this.#answer = new AnswerEncoder(this);
    run.detector.explainThreads?.(as.explainThreads ?? 1);
  }

  /** Releases what serving it holds beyond memory (an explanation worker); it still scores after. */
  close(): void {
    this.run.detector.explainThreads?.(1);
  }

  /**
   * Refuses (422, naming the field) a record with a numeric value too large
   * for the model to represent: its transformed value would lie beyond
   * ±{@linkcode featureLimit}. Part of validation: a batch is checked whole
   * before any of it is scored.
   */
  refuseOutOfRange(parsed: ParsedRecord, where = ""): void {
    const fp = this.run.pipeline;
    const bad = outOfRangeInput(fp, parsed.values);
    if (!bad) return;
    throw new InvalidInput(
      "out_of_range",
      where ? `${where}.${bad.field}` : bad.field,
      this.outOfRangeMessage(bad.field, bad.value),
    );
  }

  /** Why a value of `field` too large for the model is refused (one line). */
  outOfRangeMessage(field: string, value: number): string {
    const fp = this.run.pipeline;
    return `"${field}" is too large in magnitude for this model (${value}; its ${
      fp.standardize ? "standardized " : ""
    }value must stay within ±${featureLimit(fp.standardize)})`;
  }

  /**
   * Scores one validated record: velocity features from the history (which
   * then remembers the transaction), the model's score, the decision at the
   * run's threshold, and the three fields contributing most.
   *
   * A record with a numeric value too large for the model to represent (its
   * transformed value beyond ±{@linkcode featureLimit}) is refused with a 422
   * naming the field before the history sees it. Every score is finite: the
   * pipeline clamps what it transforms, so a non-finite score would be a
   * bug, answered as a 500 and counted, never served or logged.
   */
  score(parsed: ParsedRecord, options: ScoreOptions): ScoreResult {
    const fp = this.run.pipeline;
    const { history, id } = options;
    this.refuseOutOfRange(parsed);
    const row = this.#row, contrib = this.#contrib;
    const t = parsed.timeMs;
    const derived = history && t !== null
      ? history.features(t, parsed.entities, parsed.amount)
      : undefined;
    transformRecord(fp, parsed.values, { derived, out: row });
    const detector = this.run.detector;
    // Under "flagged", a pass is scored alone and answered without reasons.
    const reasons = options.reasons ?? "all";
    const alone = reasons !== "all"
      ? (detector.scoreRow
        ? detector.scoreRow(row)
        : detector.score({ data: row, rows: 1, cols: row.length, columns: fp.columns })[0])
      : NaN;
    const skip = alone === alone && (reasons === "none" || alone < this.threshold);
    const score = skip ? alone : scoreRow(detector, row, contrib, fp.columns);
    if (!Number.isFinite(score)) {
      throw new NonFiniteScore("the model produced a non-finite score");
    }
    if (history && t !== null && options.remember !== false) {
      history.add(t, parsed.entities, parsed.amount, id);
    }
    const calibration = this.run.calibration;
    const probability = calibration
      ? { probability: shortestFloat32(Math.fround(calibrate(calibration, score))) }
      : NO_PROBABILITY;
    if (skip) {
      return {
        transaction_id: id,
        score: shortestFloat32(score),
        ...probability,
        is_fraud: score >= this.threshold,
        threshold: this.thresholdShown,
        reasons: [],
        reasons_skipped: true,
        model: { name: this.name, version: this.version, run_id: this.run.id },
      };
    }
    return resultOf(this, parsed, derived, id, score, contrib, this.#sums, probability);
  }

  /** The JSON text of one of this model's answers (what `JSON.stringify` gives). */
  answerJson(result: ScoreResult): string {
    return this.#answer.encode(result);
  }

  /** The prediction log's row of an answer: when it was scored and what was sent. */
  logRow(
    parsed: ParsedRecord,
    result: ScoreResult,
    scoredAt: number,
    role: "served" | "shadow" = "served",
  ): PredictionRow {
    return {
      ...(role === "shadow" ? { role } : {}),
      transaction_id: result.transaction_id,
      scored_at: scoredAt,
      event_time: parsed.timeMs,
      model: this.name,
      version: this.version,
      run_id: this.run.id,
      score: result.score,
      threshold: this.threshold,
      is_fraud: result.is_fraud,
      input: JSON.stringify(parsed.values),
    };
  }
}
