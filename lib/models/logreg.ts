/**
 * L2-regularized logistic regression with class weights, fitted by L-BFGS on
 * typed arrays. Minimizes, over coefficients w and intercept b (not
 * penalized),
 *
 *   Σᵢ sᵢ·[log(1 + e^{zᵢ}) − yᵢ·zᵢ] / Σᵢ sᵢ + ‖w‖² / (2·C·Σᵢ sᵢ),  zᵢ = xᵢ·w + b,
 *
 * the scikit-learn objective (`LogisticRegression(C, class_weight)`, lbfgs)
 * divided by the weight total, so the minimizer is the same. With
 * `classWeight: "balanced"` a row of class c weighs n / (2·n_c); a number
 * is the legitimate class's weight (the fraud class's is 1).
 *
 * Score = z (log-odds, rank-identical to the probability without its
 * saturation ties). Explanation = wⱼ·xⱼ per feature (on the standardized
 * inputs the pipeline gives this kind); the contributions plus b sum to z.
 *
 * Written by hand: the numeric npm packages with logistic regression use
 * plain gradient descent on arrays of arrays, neither exact nor fast enough.
 * @module
 */
import { join } from "node:path";
import type { Matrix } from "../features/pipeline.ts";
import { progress } from "../util/progress.ts";
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
import { lbfgs } from "./optim.ts";

class LogisticRegression implements Detector {
  readonly kind = "logreg";
  coef: Float64Array | null = null;
  intercept = 0;

  constructor(readonly params: Params) {
    checkParam(params, "C", { kind: "logreg", min: 1e-12 });
    checkParam(params, "maxIter", { kind: "logreg", min: 1, max: 100000, integer: true });
    checkParam(params, "tol", { kind: "logreg", min: 0 });
    classWeights("logreg", params.classWeight);
  }

  fit(X: Matrix, y: Int8Array | undefined, options: FitOptions): Promise<FitReport> {
    if (!y) throw new UserError("logreg is supervised: it needs labels");
    const n = X.rows, d = X.cols, data = X.data;
    let pos = 0;
    for (let i = 0; i < n; i++) pos += y[i];
    if (pos === 0 || pos === n) {
      throw new UserError(`logreg: training rows hold one class only (${pos} fraud of ${n})`);
    }
    const { w0, w1 } = classWeights("logreg", this.params.classWeight, { n, pos });
    const wsum = w1 * pos + w0 * (n - pos);
    const lambda = 1 / ((this.params.C as number) * wsum);
    const z = new Float64Array(n);
    const maxIter = this.params.maxIter as number;
    const bar = progress("logreg fit", maxIter, { quiet: options.quiet, unit: "iter" });
    // theta = [w_0 .. w_{d-1}, b]
    const objective = (theta: Float64Array, grad: Float64Array): number => {
      grad.fill(0);
      const b = theta[d];
      let loss = 0;
      for (let i = 0; i < n; i++) {
        let zi = b;
        const base = i * d;
        for (let j = 0; j < d; j++) zi += data[base + j] * theta[j];
        z[i] = zi;
      }
      for (let i = 0; i < n; i++) {
        const zi = z[i], s = y[i] ? w1 : w0;
        // log(1 + e^z) computed stably.
        const softplus = zi > 0 ? zi + Math.log1p(Math.exp(-zi)) : Math.log1p(Math.exp(zi));
        loss += s * (softplus - y[i] * zi);
        const p = zi >= 0 ? 1 / (1 + Math.exp(-zi)) : Math.exp(zi) / (1 + Math.exp(zi));
        const r = (s * (p - y[i])) / wsum;
        const base = i * d;
        for (let j = 0; j < d; j++) grad[j] += r * data[base + j];
        grad[d] += r;
      }
      loss /= wsum;
      let reg = 0;
      for (let j = 0; j < d; j++) {
        reg += theta[j] * theta[j];
        grad[j] += lambda * theta[j];
      }
      return loss + 0.5 * lambda * reg;
    };
    const result = lbfgs(objective, new Float64Array(d + 1), {
      maxIter,
      gtol: this.params.tol as number,
      onIteration: () => bar.tick(),
    });
    bar.done();
    this.coef = result.x.slice(0, d);
    this.intercept = result.x[d];
    return Promise.resolve({
      iterations: result.iterations,
      converged: result.converged,
      loss: result.f,
    });
  }

  #fitted(): Float64Array {
    if (!this.coef) throw new Error("logreg: score or explain before fit");
    return this.coef;
  }

  score(X: Matrix): Float32Array {
    const coef = this.#fitted();
    if (X.cols !== coef.length) {
      throw new UserError(`logreg: expected ${coef.length} features, got ${X.cols}`);
    }
    const out = new Float32Array(X.rows), d = X.cols, data = X.data;
    for (let i = 0; i < X.rows; i++) {
      let z = this.intercept;
      for (let j = 0; j < d; j++) z += data[i * d + j] * coef[j];
      out[i] = z;
    }
    return out;
  }

  explain(row: Float32Array): Float32Array {
    const coef = this.#fitted();
    const out = new Float32Array(coef.length);
    for (let j = 0; j < coef.length; j++) out[j] = coef[j] * row[j];
    return out;
  }

  async save(dir: string): Promise<string[]> {
    const coef = this.#fitted();
    const body = { format: "fraudlab.logreg/1", intercept: this.intercept, coef: [...coef] };
    await Deno.writeTextFile(join(dir, "logreg.json"), JSON.stringify(body) + "\n");
    return ["logreg.json"];
  }
}

async function loadLogisticRegression(dir: string, params: Params): Promise<Detector> {
  const body = JSON.parse(await Deno.readTextFile(join(dir, "logreg.json")));
  if (body.format !== "fraudlab.logreg/1") throw new UserError(`${dir}: not a logreg model`);
  const d = new LogisticRegression(params);
  d.coef = Float64Array.from(body.coef);
  d.intercept = body.intercept;
  return d;
}

/** The logreg kind: its facts, defaults, and how to create and load one. */
export const logregKind: DetectorKind = {
  name: "logreg",
  description: "L2 logistic regression with class weights (supervised, L-BFGS)",
  supervised: true,
  limits: "linear in the features",
  standardize: true,
  missingValues: false,
  fitOn: "all",
  defaults: { C: 1, classWeight: "balanced", maxIter: 1000, tol: 1e-6 },
  explains: "coefficient × standardized value (log-odds contribution)",
  create: (params) => new LogisticRegression(params),
  load: loadLogisticRegression,
};
