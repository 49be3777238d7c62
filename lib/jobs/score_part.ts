/**
 * One part of the batch scoring job on the scoring thread: the matrix from
 * the part's rows and velocity features, the model's scores, decisions,
 * reasons and the output rows. The job's own thread reads and features the
 * parts (it holds the entity history); this one, a worker
 * (`score_worker.ts`), scores and writes them meanwhile.
 * @module
 */
import pl from "nodejs-polars";
import { numericColumn } from "../data/frame.ts";
import { calibrate } from "../eval/calibrate.ts";
import { type Matrix, transformFrame } from "../features/pipeline.ts";
import { fourDigits, type ServedModel, shortestFloat32, topGroups } from "../serving/scorer.ts";
import { fourDecimals } from "../util/format.ts";

/** Which rows get reasons: alerts only (default), every row, or none. */
export const EXPLAIN_MODES = ["alerts", "all", "none"] as const;
/** One of {@linkcode EXPLAIN_MODES}. */
export type ExplainMode = typeof EXPLAIN_MODES[number];

/** What scoring parts needs, kept from part to part. */
export interface ScorerState {
  model: ServedModel;
  /** Reasons per explained row (0: none). */
  reasons: number;
  explain: ExplainMode;
  /** The output's id column. */
  idName: string;
  /** The velocity features' names, in the order of `PartInput.derived`. */
  names: string[];
  /** Refusals by kind, added to. */
  refusedBy: Record<string, number>;
  contrib: Float32Array;
  sums: Float64Array;
  /** The last part's matrix, reused by the next. */
  matrix?: Float32Array;
  /** Adds the time since the last lap to stage `name` (no name: only restarts). */
  lap(name?: string): void;
}

/** A featured part: its rows, refusals so far and velocity features. */
export interface PartInput {
  frame: pl.DataFrame;
  n: number;
  /** Data rows of the file before this part. */
  firstRow: number;
  /** Why each row is refused, null when it is not (the non-finite scores are added). */
  refused: (string | null)[];
  /** The velocity features, in the order of `ScorerState.names` (null: none). */
  derived: Float64Array[] | null;
}

/** One part's output rows and counts. */
export interface PartOut {
  frame: pl.DataFrame;
  scored: number;
  alerts: number;
  explained: number;
}

/** A scorer's state for a model (reasons and explanation as given). */
export function scorerState(
  model: ServedModel,
  o: { reasons: number; explain: ExplainMode; names: string[]; lap: (name?: string) => void },
): ScorerState {
  const spec = model.run.spec;
  return {
    model,
    reasons: o.explain === "none" ? 0 : o.reasons,
    explain: o.explain,
    idName: spec.id ?? "row",
    names: o.names,
    refusedBy: {},
    contrib: new Float32Array(model.run.pipeline.columns.length),
    sums: new Float64Array(model.groups.length),
    lap: o.lap,
  };
}

/**
 * Scores a featured part on this thread: the matrix (as the server builds
 * a record's), the model's scores, decisions, reasons and output rows.
 */
export function scorePart(state: ScorerState, p: PartInput): PartOut {
  const lap = state.lap, fp = state.model.run.pipeline;
  lap();
  const given = new Map<string, Float64Array>();
  if (p.derived) state.names.forEach((name, k) => given.set(name, p.derived![k]));
  // The matrix of the part before is written over (a new one each part costs collections).
  const X = transformFrame(fp, { frame: p.frame }, { columns: given, into: state.matrix });
  state.matrix = X.data;
  lap("pipeline_s");
  const scores = state.model.run.detector.score(X);
  lap("model_s");
  return finishPart(state, p, X, scores);
}

/** Decides and explains a scored part, and builds its output rows. */
function finishPart(
  state: ScorerState,
  p: PartInput,
  X: Matrix,
  scores: Float32Array,
): PartOut {
  const { model, names } = state;
  const { frame, n, firstRow, refused, derived } = p;
  const spec = model.run.spec, detector = model.run.detector;
  const lap = state.lap;
  const refuse = (i: number, kind: string, why: string) => {
    refused[i] = why;
    state.refusedBy[kind] = (state.refusedBy[kind] ?? 0) + 1;
  };
  const calibration = model.run.calibration;
  const probOut = calibration ? new Float64Array(n) : null;
  // 0 pass, 1 alert, 2 refused
  const decision = new Int8Array(n);
  const k = state.reasons;
  /** The explained rows and their reasons (few: alerts by default), joined on after. */
  const explainedRows: number[] = [];
  const reasonCols = Array.from({ length: k }, () => ({
    feature: [] as (string | null)[],
    contribution: [] as (number | null)[],
    value: [] as (string | null)[],
  }));
  let scored = 0, alerts = 0;
  const cols = X.cols;
  const derivedAt = new Map(names.map((nm, j) => [nm, j]));
  const inputs = new Map<string, Float64Array | pl.Series | null>();
  /** A reason's value: a derived value to four decimals, an input value as read. */
  const valueOf = (field: string, i: number): string | null => {
    const d = derivedAt.get(field);
    if (d !== undefined && derived) {
      const v = derived[d][i];
      return v === v ? String(fourDecimals(v)) : null;
    }
    let col = inputs.get(field);
    if (col === undefined) {
      // Text read value by value: few rows are explained (all of a text column: 46 ms a part).
      col = !frame.columns.includes(field)
        ? null
        : frame.getColumn(field).isNumeric()
        ? numericColumn(frame, field)
        : frame.getColumn(field).cast(pl.Utf8);
      inputs.set(field, col);
    }
    if (col === null) return null;
    if (col instanceof Float64Array) {
      const v = col[i];
      return v === v ? String(v) : null;
    }
    return col.get(i) as string | null;
  };
  for (let i = 0; i < n; i++) {
    if (refused[i] !== null) {
      decision[i] = 2;
      continue;
    }
    const s = scores[i];
    if (!Number.isFinite(s)) {
      refuse(i, "non_finite", "the model produced a non-finite score");
      decision[i] = 2;
      continue;
    }
    scored++;
    if (probOut) probOut[i] = calibrate(calibration!, s);
    const alert = s >= model.threshold;
    if (alert) {
      alerts++;
      decision[i] = 1;
    }
    if (k > 0 && (alert || state.explain === "all")) {
      const row = X.data.subarray(i * cols, (i + 1) * cols);
      if (detector.scoreOne) detector.scoreOne(row, state.contrib);
      else state.contrib.set(detector.explain(row));
      const top = topGroups(model.groupOf, state.contrib, { sums: state.sums, n: k });
      explainedRows.push(i);
      for (let r = 0; r < k; r++) {
        const g = top[r];
        const field = g === -1 ? null : model.groups[g];
        reasonCols[r].feature.push(field);
        reasonCols[r].contribution.push(g === -1 ? null : fourDigits(state.sums[g]));
        reasonCols[r].value.push(field === null ? null : valueOf(field, i));
      }
    }
  }
  // Scores and probabilities written as the server answers them (shortestFloat32):
  // the shortest decimal that reads back as the same float32 (ties as the server breaks them).
  const scoreOut = new Float64Array(n);
  for (let i = 0; i < n; i++) scoreOut[i] = shortestFloat32(scores[i]);
  if (probOut) {
    for (let i = 0; i < n; i++) {
      probOut[i] = shortestFloat32(Math.fround(probOut[i]));
    }
  }
  lap("decide_s");
  const refusedAt = refused.flatMap((why, i) => (why === null ? [] : [i]));
  const isRefused = pl.col("decision").eq(2);
  let table = pl.DataFrame([
    spec.id
      ? frame.getColumn(spec.id).rename(state.idName)
      : pl.Series(state.idName, Float64Array.from({ length: n }, (_, i) => firstRow + i + 1))
        .cast(pl.Int64),
    pl.Series("score", scoreOut, pl.Float64),
    ...(probOut ? [pl.Series("probability", probOut, pl.Float64)] : []),
    pl.Series("decision", decision, pl.Int8),
  ]).withRowIndex("__row").withColumns(
    pl.when(isRefused).then(pl.lit(null)).otherwise(pl.col("score")).alias("score"),
    ...(probOut
      ? [
        pl.when(isRefused).then(pl.lit(null)).otherwise(pl.col("probability")).alias("probability"),
      ]
      : []),
    pl.when(pl.col("decision").eq(1)).then(pl.lit("alert")).when(isRefused).then(pl.lit("refused"))
      .otherwise(pl.lit("pass")).alias("decision"),
  );
  if (k > 0) {
    const reasonFrame = pl.DataFrame([
      pl.Series("__row", explainedRows, pl.UInt32),
      ...reasonCols.flatMap((c, r) => [
        pl.Series(`reason_${r + 1}`, c.feature, pl.Utf8),
        pl.Series(`contribution_${r + 1}`, c.contribution, pl.Float64),
        pl.Series(`value_${r + 1}`, c.value, pl.Utf8),
      ]),
    ]);
    table = table.join(reasonFrame, { on: "__row", how: "left" });
  }
  const errors = pl.DataFrame([
    pl.Series("__row", refusedAt, pl.UInt32),
    pl.Series("error", refusedAt.map((i) => refused[i]), pl.Utf8),
  ]);
  table = table.join(errors, { on: "__row", how: "left" }).sort("__row").drop("__row");
  lap("output_s");
  return { frame: table, scored, alerts, explained: explainedRows.length };
}
