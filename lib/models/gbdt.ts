/**
 * Gradient-boosted trees for binary log-loss on histograms (the `gbdt`
 * kind), in XGBoost's terms: each round fits a tree (depth-wise to
 * `maxDepth`, or leaf-wise to `maxLeaves` leaves) to the gradients
 * g = p − y and hessians h = p(1 − p) of the current margins (positives
 * weighted by `scalePosWeight`), splits scored by
 * ½[G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)] − γ with at least
 * `minChildWeight` hessian on each side, leaf values −G/(H+λ) scaled by
 * the learning rate; rows and features sampled per tree (`subsample`,
 * `colsampleBytree`, seeded). The first margin is the training log-odds.
 * With validation rows, training stops after `earlyStoppingRounds` rounds
 * without improvement of the validation log-loss (or AP) and keeps the
 * best round.
 *
 * Score = the margin (log-odds). Explanation = exact TreeSHAP values of the
 * margin (tabled per leaf on the first explanation: treeshap_fast.ts); with
 * the expected value they sum to it.
 * @module
 */
import { join } from "node:path";
import type { Matrix } from "../features/pipeline.ts";
import { averagePrecision } from "../eval/curves.ts";
import { progress } from "../util/progress.ts";
import { Rng } from "../util/rng.ts";
import { UserError } from "../util/errors.ts";
import {
  checkParam,
  type Detector,
  type DetectorKind,
  type FitOptions,
  type FitReport,
  type Params,
} from "./detector.ts";
import {
  fitBins,
  growTree,
  leafAt,
  leafOf,
  MAX_BINS,
  sampleTree,
  type Tree,
  treeImportance,
} from "./trees.ts";
import { treeBuilder } from "./trees_parallel.ts";
import { scoreSplit } from "./split_score.ts";
import { type BatchWalk, planWalk, type WalkPlan, walkPlan } from "./trees_wasm.ts";
import { treeExpectation } from "./treeshap.ts";
import { RowExplainer } from "./treeshap_threads.ts";

export { PARALLEL_MIN_ROWS } from "./split_score.ts";

/** Validation log-loss of margins. */
function logLoss(y: Int8Array, margin: Float64Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const z = margin[i];
    // log(1 + e^z) − y z, stable for large |z|.
    s += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - y[i] * z;
  }
  return s / Math.max(y.length, 1);
}

/** A fitted ensemble: trees, the first margin, and the round kept. */
export interface Ensemble {
  trees: Tree[];
  base: number;
  cols: number;
  maxDepth: number;
}

/** The margin of one row. */
export function ensembleMargin(e: Ensemble, row: ArrayLike<number>): number {
  let m = e.base;
  for (const t of e.trees) m += t.value[leafOf(t, row)];
  return m;
}

class GradientBoosting implements Detector {
  readonly kind = "gbdt";
  ensemble: Ensemble | null = null;
  #shap: RowExplainer | null = null;
  #explainThreads = 1;
  #expected = 0;
  #phi: Float64Array = new Float64Array(0);
  #plan: WalkPlan | null = null;
  #walk: BatchWalk | null = null;
  readonly #one = new Float64Array(1);

  constructor(readonly params: Params) {
    const k = "gbdt";
    checkParam(params, "nEstimators", { kind: k, min: 1, max: 100000, integer: true });
    checkParam(params, "maxDepth", { kind: k, min: 1, max: 20, integer: true });
    // 0: depth-wise. Each open leaf holds a histogram (512 float64 per feature): 1024 bounds them.
    checkParam(params, "maxLeaves", { kind: k, min: 0, max: 1024, integer: true });
    checkParam(params, "learningRate", { kind: k, min: 1e-6, max: 1 });
    checkParam(params, "minChildWeight", { kind: k, min: 0 });
    checkParam(params, "lambda", { kind: k, min: 0 });
    checkParam(params, "gamma", { kind: k, min: 0 });
    checkParam(params, "subsample", { kind: k, min: 0.01, max: 1 });
    checkParam(params, "colsampleBytree", { kind: k, min: 0.01, max: 1 });
    checkParam(params, "scalePosWeight", { kind: k, min: 1e-6 });
    if (
      params.baseScore !== "prior" &&
      !(Number(params.baseScore) > 0 && Number(params.baseScore) < 1)
    ) {
      throw new UserError(
        `gbdt: parameter "baseScore" must be "prior" or a probability in (0, 1), got "${params.baseScore}"`,
      );
    }
    checkParam(params, "maxBins", { kind: k, min: 2, max: MAX_BINS, integer: true });
    checkParam(params, "earlyStoppingRounds", { kind: k, min: 0, max: 100000, integer: true });
    checkParam(params, "threads", { kind: k, min: 1, max: 2, integer: true });
    if (params.earlyStoppingMetric !== "logloss" && params.earlyStoppingMetric !== "ap") {
      throw new UserError(
        `gbdt: parameter "earlyStoppingMetric" must be "logloss" or "ap", got "${params.earlyStoppingMetric}"`,
      );
    }
  }

  // deno-lint-ignore require-await
  async fit(X: Matrix, y: Int8Array | undefined, options: FitOptions): Promise<FitReport> {
    if (!y) throw new UserError("gbdt is supervised: it needs labels");
    const p = this.params;
    const n = X.rows, d = X.cols;
    let pos = 0;
    for (let i = 0; i < n; i++) pos += y[i];
    if (pos === 0 || pos === n) {
      throw new UserError(`gbdt: training rows hold one class only (${pos} fraud of ${n})`);
    }
    const spw = p.scalePosWeight as number;
    // The first margin: the (weighted) fraud share's log-odds, or a given probability's
    // (XGBoost 1.x starts every row at 0.5).
    const prior = p.baseScore === "prior"
      ? (spw * pos) / (spw * pos + (n - pos))
      : Number(p.baseScore);
    const base = Math.log(prior / (1 - prior));
    const bins = fitBins(X, { maxBins: p.maxBins as number });
    const builder = treeBuilder(X, bins, p.threads as number);
    // Margins and labels live in the builder's memory: gradients are computed on its threads.
    const margin = builder.margin.fill(base);
    builder.labels.set(y);
    const rng = new Rng(options.seed);
    const rounds = p.nEstimators as number;
    const maxDepth = p.maxDepth as number;
    const val = options.validation;
    const patience = p.earlyStoppingRounds as number;
    const valMargin = val ? new Float64Array(val.X.rows).fill(base) : null;
    const valRow = val ? new Float32Array(val.X.cols) : null;
    const trees: Tree[] = [];
    const history: number[] = [];
    let best = Infinity, bestRound = -1;
    const bar = progress("gbdt", rounds, { unit: "trees", quiet: options.quiet });
    try {
      for (let t = 0; t < rounds; t++) {
        builder.gradients(spw);
        const sample = sampleTree(rng, {
          rows: n,
          cols: d,
          subsample: p.subsample as number,
          colsample: p.colsampleBytree as number,
        });
        const grown = growTree({ rows: n, bins }, {
          builder,
          rows: sample.rows ?? undefined,
          features: sample.features,
          maxDepth,
          maxLeaves: p.maxLeaves as number,
          minChildWeight: p.minChildWeight as number,
          lambda: p.lambda as number,
          gamma: p.gamma as number,
          shrinkage: p.learningRate as number,
        });
        const tree = grown.tree;
        trees.push(tree);
        if (sample.rows) {
          for (let i = 0; i < n; i++) {
            margin[i] += tree.value[leafAt(tree, { data: X.data, offset: i * d })];
          }
        } else {
          // Every row was grown on: its leaf is where the partition left it (or the last split sends it).
          builder.addLeaves(grown.leaves, grown.values);
        }
        if (val && valMargin && valRow) {
          for (let i = 0; i < val.X.rows; i++) {
            valMargin[i] += tree.value[leafAt(tree, { data: val.X.data, offset: i * d })];
          }
          const metric = p.earlyStoppingMetric === "ap"
            ? -averagePrecision(val.y, valMargin)
            : logLoss(val.y, valMargin);
          history.push(p.earlyStoppingMetric === "ap" ? -metric : metric);
          if (metric < best - 1e-12) {
            best = metric;
            bestRound = t;
          } else if (patience > 0 && t - bestRound >= patience) {
            bar.tick();
            break;
          }
        }
        bar.tick();
      }
    } finally {
      builder.close();
    }
    bar.done();
    const kept = val && patience > 0 && bestRound >= 0 ? trees.slice(0, bestRound + 1) : trees;
    this.useEnsemble({ trees: kept, base, cols: d, maxDepth });
    const nodes = kept.reduce((s, t) => s + t.feature.length, 0);
    return {
      trees: kept.length,
      roundsRun: trees.length,
      bestRound: val ? bestRound + 1 : kept.length,
      nodes,
      gainImportance: treeImportance(kept, d).gain,
      coverImportance: treeImportance(kept, d).cover,
      ...(val
        ? { validationMetric: p.earlyStoppingMetric as string, validationHistory: history }
        : {}),
    };
  }

  /** Serves a fitted (or loaded) ensemble. */
  useEnsemble(e: Ensemble): void {
    this.ensemble = e;
    this.#plan = this.#walk = null;
    if (this.#shap) this.#shap.threads = 1; // ends its worker
    this.#shap = new RowExplainer(e.trees, { maxDepth: e.maxDepth }); // tabled on the first explanation
    this.#shap.threads = this.#explainThreads;
    this.#expected = e.base + e.trees.reduce((s, t) => s + treeExpectation(t), 0);
    this.#phi = new Float64Array(e.cols);
  }

  #fitted(): Ensemble {
    if (!this.ensemble) throw new Error("gbdt: score or explain before fit");
    return this.ensemble;
  }

  /** The expected margin over the training cover (what the contributions add to). */
  get expectedValue(): number {
    this.#fitted();
    return this.#expected;
  }

  score(X: Matrix): Float32Array {
    const e = this.#fitted();
    if (X.cols !== e.cols) throw new UserError(`gbdt: expected ${e.cols} features, got ${X.cols}`);
    const out = new Float32Array(X.rows);
    const margin = new Float64Array(X.rows).fill(e.base);
    this.#plan ??= walkPlan(e.trees, e.cols);
    this.#walk ??= planWalk(this.#plan);
    this.#walk(X, margin);
    for (let i = 0; i < X.rows; i++) out[i] = margin[i];
    return out;
  }

  /**
   * Scores like {@linkcode GradientBoosting.score}, splitting a large batch
   * between this thread and a worker; each row's margin sums the same
   * leaves in the same order, so the scores are identical.
   */
  scoreMany(X: Matrix): Promise<Float32Array> {
    const e = this.#fitted();
    this.#plan ??= walkPlan(e.trees, e.cols);
    return scoreSplit(X, {
      worker: new URL("./gbdt_worker.ts", import.meta.url),
      job: { plan: this.#plan, base: e.base, divide: 1 },
      local: (part) => this.score(part),
      name: "gbdt",
    });
  }

  explain(row: Float32Array): Float32Array {
    const out = new Float32Array(row.length);
    this.scoreOne(row, out);
    return out;
  }

  explainThreads(threads: number): void {
    this.#explainThreads = threads;
    if (this.#shap) this.#shap.threads = threads;
  }

  /** One row's margin through the batch walk (WebAssembly): the same sum as a plain walk, faster. */
  scoreRow(row: Float32Array): number {
    const e = this.#fitted();
    this.#plan ??= walkPlan(e.trees, e.cols);
    this.#walk ??= planWalk(this.#plan);
    const one = this.#one;
    one[0] = e.base;
    this.#walk({ data: row, rows: 1, cols: row.length, columns: [] }, one);
    return Math.fround(one[0]);
  }

  scoreOne(row: Float32Array, contributions: Float32Array): number {
    this.#fitted();
    const phi = this.#phi;
    phi.fill(0);
    this.#shap!.explain(row, phi);
    for (let j = 0; j < phi.length; j++) contributions[j] = phi[j];
    return this.scoreRow(row); // the same margin a plain walk sums (tested)
  }

  async save(dir: string): Promise<string[]> {
    const e = this.#fitted();
    const meta = {
      format: "fraudlab.gbdt/1",
      base: e.base,
      cols: e.cols,
      maxDepth: e.maxDepth,
      nodes: e.trees.map((t) => t.feature.length),
    };
    await Deno.writeTextFile(join(dir, "gbdt.json"), JSON.stringify(meta) + "\n");
    await Deno.writeFile(join(dir, "gbdt.bin"), packTrees(e.trees));
    return ["gbdt.json", "gbdt.bin"];
  }
}

/** The trees' arrays back to back, tree by tree, in a fixed field order. */
export function packTrees(trees: Tree[]): Uint8Array {
  const parts: ArrayBufferView[] = [];
  for (const t of trees) {
    parts.push(t.feature, t.left, t.right, t.threshold, t.value, t.cover, t.gain, t.defaultLeft);
  }
  const bytes = parts.reduce((s, p) => s + p.byteLength, 0);
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
    at += p.byteLength;
  }
  return out;
}

export function unpackTrees(
  bytes: Uint8Array,
  layout: { nodes: number[]; what: string },
): Tree[] {
  const { nodes, what } = layout;
  const expected = nodes.reduce((s, m) => s + m * (4 * 4 + 8 * 3 + 1), 0);
  if (bytes.byteLength !== expected) {
    throw new UserError(`${what}: expected ${expected} bytes, found ${bytes.byteLength}`);
  }
  let at = 0;
  const take = <T>(make: (b: ArrayBuffer) => T, size: number, m: number): T => {
    const b = bytes.slice(at, at + size * m).buffer;
    at += size * m;
    return make(b);
  };
  return nodes.map((m) => ({
    feature: take((b) => new Int32Array(b), 4, m),
    left: take((b) => new Int32Array(b), 4, m),
    right: take((b) => new Int32Array(b), 4, m),
    threshold: take((b) => new Float32Array(b), 4, m),
    value: take((b) => new Float64Array(b), 8, m),
    cover: take((b) => new Float64Array(b), 8, m),
    gain: take((b) => new Float64Array(b), 8, m),
    defaultLeft: take((b) => new Uint8Array(b), 1, m),
  }));
}

async function loadGradientBoosting(dir: string, params: Params): Promise<Detector> {
  const meta = JSON.parse(await Deno.readTextFile(join(dir, "gbdt.json")));
  if (meta.format !== "fraudlab.gbdt/1") throw new UserError(`${dir}: not a gbdt model`);
  const path = join(dir, "gbdt.bin");
  const trees = unpackTrees(await Deno.readFile(path), { nodes: meta.nodes, what: path });
  const d = new GradientBoosting(params);
  d.useEnsemble({ trees, base: meta.base, cols: meta.cols, maxDepth: meta.maxDepth });
  return d;
}

/**
 * A gbdt detector serving an ensemble made elsewhere (e.g. read from an
 * XGBoost model by `parseXgboostModel`), with the kind's default parameters.
 */
export function gbdtFromEnsemble(e: Ensemble): Detector {
  const d = new GradientBoosting({ ...gbdtKind.defaults });
  d.useEnsemble(e);
  return d;
}

/** The gbdt kind: its facts, defaults, and how to create and load one. */
export const gbdtKind: DetectorKind = {
  name: "gbdt",
  description: "gradient-boosted trees on histograms (supervised; log-loss, XGBoost-style)",
  supervised: true,
  limits: "learns the fraud patterns its training labels show; new patterns need new labels",
  standardize: false,
  missingValues: true,
  fitOn: "all",
  defaults: {
    nEstimators: 300,
    maxDepth: 6,
    maxLeaves: 0,
    learningRate: 0.1,
    minChildWeight: 1,
    lambda: 1,
    gamma: 0,
    subsample: 1,
    colsampleBytree: 1,
    scalePosWeight: 1,
    baseScore: "prior",
    maxBins: 255,
    earlyStoppingRounds: 0,
    earlyStoppingMetric: "logloss",
    threads: 2,
  },
  explains: "exact TreeSHAP value of the margin (log-odds); with the expected value they sum to it",
  create: (params) => new GradientBoosting(params),
  load: loadGradientBoosting,
};
