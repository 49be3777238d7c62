/**
 * Random forests (`rf`) and single decision trees (`dt`) on the trees'
 * histogram builder. A tree minimizes the weighted Gini impurity: with
 * per-row gradient −y·w and hessian w, the builder's split gain (λ = 0)
 * is half the Gini decrease, ½[G_L²/H_L + G_R²/H_R − G²/H], and a leaf's
 * value −G/H is its weighted fraud share. A forest grows each tree on a
 * bootstrap sample (row weights = draw counts), each split choosing among
 * `maxFeatures` features drawn anew (sqrt of the features by default),
 * with balanced class weights as an option; its score is the mean of the
 * trees' fraud shares. With `undersample: r` (0 < r ≤ 1) each tree first
 * keeps every fraud row and ⌊fraud / r⌋ legitimate rows drawn without
 * replacement, then bootstraps from those (imbalanced-learn's
 * BalancedRandomForestClassifier with `sampling_strategy` r; with
 * `maxFeatures: "all"`, its BalancedBaggingClassifier of decision trees;
 * with `undersample: 0`, the default, and all features, a
 * BaggingClassifier). A decision tree is one tree on every row and
 * feature. `minSamplesLeaf` counts row weight (bootstrap draws).
 *
 * Explanation: exact TreeSHAP values of the score (the trees' mean); with
 * the expected value they sum to it.
 * @module
 */
import { join } from "node:path";
import type { Matrix } from "../features/pipeline.ts";
import { progress } from "../util/progress.ts";
import { Rng } from "../util/rng.ts";
import { UserError } from "../util/errors.ts";
import {
  checkParam,
  classWeights,
  type Detector,
  type DetectorKind,
  type FitOptions,
  type FitReport,
  type Params,
} from "./detector.ts";
import { packTrees, unpackTrees } from "./gbdt.ts";
import { fitBins, growTree, leafOf, MAX_BINS, type Tree, treeImportance } from "./trees.ts";
import { treeBuilder } from "./trees_parallel.ts";
import { type BatchWalk, planWalk, type WalkPlan, walkPlan } from "./trees_wasm.ts";
import { scoreSplit } from "./split_score.ts";
import { treeExpectation } from "./treeshap.ts";
import { RowExplainer } from "./treeshap_threads.ts";

/** Features each split of a forest considers: "sqrt", "all", or a share (0, 1]. */
function featuresPerSplit(spec: string | number, d: number): number {
  if (spec === "sqrt") return Math.max(1, Math.floor(Math.sqrt(d)));
  if (spec === "all") return d;
  const share = Number(spec);
  return Math.max(1, Math.min(d, Math.round(share * d)));
}

/** Bytes of TreeSHAP tables a forest may hold. */
const FOREST_SHAP_BUDGET = 32 * 1024 * 1024;

/** A forest or a tree: trees whose leaf values (fraud shares) are averaged. */
class TreeAverage implements Detector {
  trees: Tree[] = [];
  cols = 0;
  maxDepth = 1;
  #shap: RowExplainer | null = null;
  #explainThreads = 1;
  #expected = 0;
  #phi = new Float64Array(0);
  #plan: WalkPlan | null = null;
  #walk: BatchWalk | null = null;

  constructor(readonly kind: "rf" | "dt", readonly params: Params) {
    const k = kind;
    checkParam(params, "maxDepth", { kind: k, min: 1, max: 20, integer: true });
    checkParam(params, "minSamplesLeaf", { kind: k, min: 1, integer: true });
    checkParam(params, "maxBins", { kind: k, min: 2, max: MAX_BINS, integer: true });
    checkParam(params, "threads", { kind: k, min: 1, max: 2, integer: true });
    classWeights(k, params.classWeight);
    if (kind === "rf") {
      checkParam(params, "nEstimators", { kind: k, min: 1, max: 10000, integer: true });
      checkParam(params, "undersample", { kind: k, min: 0, max: 1 });
      const mf = params.maxFeatures;
      if (mf !== "sqrt" && mf !== "all" && !(Number(mf) > 0 && Number(mf) <= 1)) {
        throw new UserError(
          `rf: parameter "maxFeatures" must be "sqrt", "all" or a share in (0, 1], got "${mf}"`,
        );
      }
    }
  }

  // deno-lint-ignore require-await
  async fit(X: Matrix, y: Int8Array | undefined, options: FitOptions): Promise<FitReport> {
    const k = this.kind, p = this.params;
    if (!y) throw new UserError(`${k} is supervised: it needs labels`);
    const n = X.rows, d = X.cols;
    let pos = 0;
    for (let i = 0; i < n; i++) pos += y[i];
    if (pos === 0 || pos === n) {
      throw new UserError(`${k}: training rows hold one class only (${pos} fraud of ${n})`);
    }
    const { w0, w1 } = classWeights(k, p.classWeight, { n, pos });
    const bins = fitBins(X, { maxBins: p.maxBins as number });
    const builder = treeBuilder(X, bins, p.threads as number);
    const rng = new Rng(options.seed);
    const forest = k === "rf";
    const count = forest ? p.nEstimators as number : 1;
    const bootstrap = forest && p.bootstrap === true;
    const perSplit = forest
      ? { count: featuresPerSplit(p.maxFeatures as string, d), rng }
      : undefined;
    const all = Int32Array.from({ length: d }, (_, j) => j);
    const draws = new Int32Array(n);
    const undersample = forest && (p.undersample as number) > 0;
    const frauds = undersample
      ? Int32Array.from({ length: n }, (_, i) => i).filter((i) => y[i] === 1)
      : null;
    const legit = undersample
      ? Int32Array.from({ length: n }, (_, i) => i).filter((i) => y[i] === 0)
      : null;
    const keep = undersample ? Math.min(n - pos, Math.floor(pos / (p.undersample as number))) : 0;
    const subset = undersample ? new Int32Array(pos + keep) : null;
    const trees: Tree[] = [];
    const bar = progress(k, count, { unit: "trees", quiet: options.quiet });
    try {
      for (let t = 0; t < count; t++) {
        if (subset && frauds && legit) {
          // Every fraud row and as many legitimate rows (a partial shuffle), then the bootstrap
          // draws from those alone.
          subset.set(frauds);
          for (let j = 0; j < keep; j++) {
            const r = j + Math.floor(rng.random() * (legit.length - j));
            const v = legit[r];
            legit[r] = legit[j];
            legit[j] = v;
            subset[pos + j] = v;
          }
          draws.fill(0);
          if (bootstrap) {
            for (let i = 0; i < subset.length; i++) {
              draws[subset[Math.floor(rng.random() * subset.length)]]++;
            }
          } else for (const i of subset) draws[i] = 1;
        } else {
          draws.fill(bootstrap ? 0 : 1);
          if (bootstrap) { for (let i = 0; i < n; i++) draws[Math.floor(rng.random() * n)]++; }
        }
        let m = 0;
        for (let i = 0; i < n; i++) {
          const w = draws[i] * (y[i] ? w1 : w0);
          builder.gh[2 * i] = -y[i] * w;
          builder.gh[2 * i + 1] = w;
          if (draws[i] > 0) m++;
        }
        const rows = bootstrap ? new Int32Array(m) : undefined;
        if (rows) { for (let i = 0, r = 0; i < n; i++) if (draws[i] > 0) rows[r++] = i; }
        const { tree } = growTree({ rows: n, bins }, {
          builder,
          rows,
          features: all,
          perSplit,
          maxDepth: p.maxDepth as number,
          minChildWeight: p.minSamplesLeaf as number,
          lambda: 0,
          gamma: 0,
          shrinkage: 1,
        });
        trees.push(tree);
        bar.tick();
      }
    } finally {
      builder.close();
    }
    bar.done();
    this.use(trees, { cols: d, maxDepth: p.maxDepth as number });
    return {
      trees: trees.length,
      nodes: trees.reduce((s, t) => s + t.feature.length, 0),
      featuresPerSplit: perSplit?.count ?? d,
      gainImportance: treeImportance(trees, d).gain,
      coverImportance: treeImportance(trees, d).cover,
    };
  }

  /** Serves fitted (or loaded) trees. */
  use(trees: Tree[], shape: { cols: number; maxDepth: number }): void {
    this.trees = trees;
    this.cols = shape.cols;
    this.maxDepth = shape.maxDepth;
    if (this.#shap) this.#shap.threads = 1; // ends its worker
    // Deep forest trees have wide paths: a smaller table budget, the rest by Algorithm 2.
    this.#shap = new RowExplainer(trees, { maxDepth: shape.maxDepth, budget: FOREST_SHAP_BUDGET });
    this.#shap.threads = this.#explainThreads;
    this.#expected = trees.reduce((s, t) => s + treeExpectation(t), 0) / trees.length;
    this.#phi = new Float64Array(shape.cols);
    this.#plan = this.#walk = null;
  }

  #fitted(): Tree[] {
    if (!this.trees.length) throw new Error(`${this.kind}: score or explain before fit`);
    return this.trees;
  }

  /** The expected score over the training cover (what the contributions add to). */
  get expectedValue(): number {
    this.#fitted();
    return this.#expected;
  }

  score(X: Matrix): Float32Array {
    const trees = this.#fitted();
    if (X.cols !== this.cols) {
      throw new UserError(`${this.kind}: expected ${this.cols} features, got ${X.cols}`);
    }
    const sum = new Float64Array(X.rows);
    this.#plan ??= walkPlan(trees, this.cols);
    this.#walk ??= planWalk(this.#plan);
    this.#walk(X, sum);
    const out = new Float32Array(X.rows);
    for (let i = 0; i < X.rows; i++) out[i] = sum[i] / trees.length;
    return out;
  }

  /**
   * Scores like `score`, splitting a large batch between this thread and a
   * worker that sums the same leaves in the same order: identical scores.
   */
  scoreMany(X: Matrix): Promise<Float32Array> {
    const trees = this.#fitted();
    this.#plan ??= walkPlan(trees, this.cols);
    return scoreSplit(X, {
      worker: new URL("./gbdt_worker.ts", import.meta.url),
      job: { plan: this.#plan, base: 0, divide: trees.length },
      local: (part) => this.score(part),
      name: this.kind,
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

  scoreRow(row: Float32Array): number {
    const trees = this.#fitted();
    let s = 0;
    for (const t of trees) s += t.value[leafOf(t, row)];
    return Math.fround(s / trees.length);
  }

  scoreOne(row: Float32Array, contributions: Float32Array): number {
    const trees = this.#fitted();
    const phi = this.#phi;
    phi.fill(0);
    let s = 0;
    for (const t of trees) s += t.value[leafOf(t, row)];
    this.#shap!.explain(row, phi);
    for (let j = 0; j < phi.length; j++) contributions[j] = phi[j] / trees.length;
    return Math.fround(s / trees.length);
  }

  async save(dir: string): Promise<string[]> {
    const trees = this.#fitted();
    const meta = {
      format: `fraudlab.${this.kind}/1`,
      cols: this.cols,
      maxDepth: this.maxDepth,
      nodes: trees.map((t) => t.feature.length),
    };
    await Deno.writeTextFile(join(dir, `${this.kind}.json`), JSON.stringify(meta) + "\n");
    await Deno.writeFile(join(dir, `${this.kind}.bin`), packTrees(trees));
    return [`${this.kind}.json`, `${this.kind}.bin`];
  }
}

function loader(kind: "rf" | "dt") {
  return async (dir: string, params: Params): Promise<Detector> => {
    const meta = JSON.parse(await Deno.readTextFile(join(dir, `${kind}.json`)));
    if (meta.format !== `fraudlab.${kind}/1`) throw new UserError(`${dir}: not an ${kind} model`);
    const path = join(dir, `${kind}.bin`);
    const d = new TreeAverage(kind, params);
    d.use(unpackTrees(await Deno.readFile(path), { nodes: meta.nodes, what: path }), meta);
    return d;
  };
}

const LIMITS = "learns the fraud patterns its training labels show; new patterns need new labels";
const EXPLAINS =
  "exact TreeSHAP value of the score (mean fraud share of the trees); with the expected value they sum to it";

/** The random-forest kind. */
export const rfKind: DetectorKind = {
  name: "rf",
  description: "random forest: bootstrap, Gini, sqrt(features) per split (supervised)",
  supervised: true,
  limits: LIMITS,
  standardize: false,
  missingValues: true,
  fitOn: "all",
  defaults: {
    nEstimators: 100,
    maxDepth: 12,
    minSamplesLeaf: 1,
    maxFeatures: "sqrt",
    bootstrap: true,
    undersample: 0,
    classWeight: "none",
    maxBins: 255,
    threads: 2,
  },
  explains: EXPLAINS,
  create: (params) => new TreeAverage("rf", params),
  load: loader("rf"),
};

/** The decision-tree kind. */
export const dtKind: DetectorKind = {
  name: "dt",
  description: "one decision tree: Gini, every row and feature (supervised)",
  supervised: true,
  limits: LIMITS,
  standardize: false,
  missingValues: true,
  fitOn: "all",
  defaults: { maxDepth: 8, minSamplesLeaf: 1, classWeight: "none", maxBins: 255, threads: 2 },
  explains: EXPLAINS,
  create: (params) => new TreeAverage("dt", params),
  load: loader("dt"),
};
