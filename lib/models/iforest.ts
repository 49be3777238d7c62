/**
 * Isolation Forest (Liu, Ting and Zhou, 2008) with scikit-learn's semantics.
 * Written by hand because no maintained npm package implements it with these
 * semantics and flat typed-array trees (the JS ports on npm build object
 * trees and differ in split rules).
 *
 * - each of `trees` trees is grown on `maxSamples` rows drawn without
 *   replacement (ψ = min(maxSamples, n));
 * - a node splits on a feature drawn at random among those not constant in
 *   the node (a feature is constant when max − min ≤ 1e-7), at a threshold
 *   drawn uniformly in [min, max) (a draw equal to max becomes min); a row
 *   goes left iff float32(x) ≤ threshold;
 * - growth stops at depth ⌈log2 ψ⌉, at one row, or when every feature is
 *   constant;
 * - h(x) = edges from the root to the leaf + c(n_leaf), with
 *   c(n) = 2(ln(n − 1) + γ) − 2(n − 1)/n (c(1) = 0, c(2) = 1);
 * - score(x) = 2^(−E[h(x)] / c(ψ)), higher = more anomalous.
 *
 * Explanation: each tree's shortfall c(ψ) − h(x) (positive when x is
 * isolated faster than an average point) is shared equally among the splits
 * on x's path and credited to their features; averaged over trees the
 * contributions sum to c(ψ) − E[h(x)], a monotone transform of the score.
 *
 * The fit is in `iforest_fit.ts`, the walks (layout, batch and one-row
 * scoring, attribution) in `iforest_walk.ts`.
 * @module
 */
import { join } from "node:path";
import type { Matrix } from "../features/pipeline.ts";
import { UserError } from "../util/errors.ts";
import {
  checkParam,
  type Detector,
  type DetectorKind,
  type FitOptions,
  type FitReport,
  packArrays,
  type Params,
  unpackArrays,
} from "./detector.ts";
import { fitForest, type Forest, forestSample } from "./iforest_fit.ts";
import { ForestWalk } from "./iforest_walk.ts";
import { scoreSplit } from "./split_score.ts";

export { averagePathLength, fitForest, type Forest } from "./iforest_fit.ts";
export { float32AtMost, ForestWalk, scoreForest } from "./iforest_walk.ts";

export { PARALLEL_MIN_ROWS } from "./split_score.ts";

/**
 * Scores like `ForestWalk.score`, splitting large batches between this
 * thread and one worker (the machine has two cores). Each row's sum runs
 * over the trees in the same order, so the scores are identical.
 */
export function scoreForestParallel(
  forest: Forest,
  X: Matrix,
  walk: ForestWalk = new ForestWalk(forest),
): Promise<Float32Array> {
  return scoreSplit(X, {
    worker: new URL("./iforest_worker.ts", import.meta.url),
    job: { forest },
    local: (part) => walk.score(part),
    name: "iforest",
  });
}

class IsolationForest implements Detector {
  readonly kind = "iforest";
  forest: Forest | null = null;
  #walk: ForestWalk | null = null;
  #walkOf: Forest | null = null;
  constructor(readonly params: Params) {
    checkParam(params, "trees", { kind: "iforest", min: 1, max: 10000, integer: true });
    checkParam(params, "maxSamples", { kind: "iforest", min: 2, max: 1 << 20, integer: true });
  }

  fit(X: Matrix, _y: Int8Array | undefined, options: FitOptions): Promise<FitReport> {
    this.forest = fitForest(X, {
      trees: this.params.trees as number,
      maxSamples: this.params.maxSamples as number,
      seed: options.seed,
      quiet: options.quiet,
      sample: options.sample,
    });
    return Promise.resolve({ nodes: this.forest.feature.length, psi: this.forest.psi });
  }

  #fitted(): Forest {
    if (!this.forest) throw new Error("iforest: score or explain before fit");
    return this.forest;
  }

  /** The walk of the current forest (built once per forest it holds). */
  get walk(): ForestWalk {
    const forest = this.#fitted();
    if (this.#walkOf !== forest) {
      this.#walk = new ForestWalk(forest);
      this.#walkOf = forest;
    }
    return this.#walk!;
  }

  score(X: Matrix): Float32Array {
    return this.walk.score(X);
  }

  scoreMany(X: Matrix): Promise<Float32Array> {
    return scoreForestParallel(this.#fitted(), X, this.walk);
  }

  explain(row: Float32Array): Float32Array {
    return this.walk.explain(row);
  }

  scoreOne(row: Float32Array, contributions: Float32Array): number {
    return this.walk.scoreExplain(row, contributions);
  }

  async save(dir: string): Promise<string[]> {
    const f = this.#fitted();
    const meta = {
      format: "fraudlab.iforest/1",
      nodes: f.feature.length,
      trees: f.roots.length,
      psi: f.psi,
      cols: f.cols,
    };
    await Deno.writeTextFile(join(dir, "iforest.json"), JSON.stringify(meta, null, 2) + "\n");
    await Deno.writeFile(
      join(dir, "iforest.bin"),
      packArrays([f.threshold, f.value, f.feature, f.left, f.right, f.roots]),
    );
    return ["iforest.json", "iforest.bin"];
  }
}

async function loadIsolationForest(dir: string, params: Params): Promise<Detector> {
  const meta = JSON.parse(await Deno.readTextFile(join(dir, "iforest.json")));
  if (meta.format !== "fraudlab.iforest/1") throw new UserError(`${dir}: not an iforest model`);
  const n = meta.nodes as number;
  const [threshold, value, feature, left, right, roots] = unpackArrays(
    await Deno.readFile(join(dir, "iforest.bin")),
    {
      layout: [
        { type: "f64", length: n },
        { type: "f64", length: n },
        { type: "i32", length: n },
        { type: "i32", length: n },
        { type: "i32", length: n },
        { type: "i32", length: meta.trees },
      ],
      what: join(dir, "iforest.bin"),
    },
  );
  const d = new IsolationForest(params);
  d.forest = {
    threshold: threshold as Float64Array,
    value: value as Float64Array,
    feature: feature as Int32Array,
    left: left as Int32Array,
    right: right as Int32Array,
    roots: roots as Int32Array,
    psi: meta.psi,
    cols: meta.cols,
  };
  return d;
}

/** The iforest kind: its facts, defaults, and how to create and load one. */
export const iforestKind: DetectorKind = {
  name: "iforest",
  description: "Isolation Forest (unsupervised; fits on label-0 training rows)",
  supervised: false,
  limits: "unsupervised: flags unusual, not necessarily fraudulent, transactions",
  standardize: false,
  missingValues: false,
  fitOn: "negatives",
  defaults: { trees: 100, maxSamples: 256 },
  explains: "path-length shortfall per split feature (isolation speed credited to features)",
  create: (params) => new IsolationForest(params),
  load: loadIsolationForest,
  fitSample: (n, params, seed) =>
    forestSample(n, {
      trees: params.trees as number,
      maxSamples: params.maxSamples as number,
      seed,
    }),
};
