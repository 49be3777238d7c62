/**
 * Dense autoencoder in TensorFlow.js (wasm backend, cpu fallback): default
 * layers D→16→8→16→D with ReLU on the hidden layers and a linear output,
 * MSE loss, Adam (lr 1e-3), batch 256. Fits on label-0 training rows; a
 * seeded share of them (`validationFraction`) is held out and training stops
 * when the validation loss has not improved for `patience` epochs, keeping
 * the best weights.
 *
 * Score = per-row mean over the D features of the squared reconstruction
 * error. Explanation = each feature's squared error / D (they sum to the
 * score).
 *
 * Deterministic: Glorot-uniform initializers take seeds derived from the run
 * seed, the epoch permutations come from the seeded {@linkcode Rng}, and
 * batches are fed in a fixed order.
 * @module
 */
import { join } from "node:path";
import type { Matrix } from "../features/pipeline.ts";
import { Rng } from "../util/rng.ts";
import { progress } from "../util/progress.ts";
import { UserError } from "../util/errors.ts";
import {
  checkParam,
  type Detector,
  type FitOptions,
  type FitReport,
  packArrays,
  type Params,
  registerKind,
  unpackArrays,
} from "./detector.ts";
import { tf, tfReady } from "./tf.ts";

function parseLayers(spec: string): number[] {
  const units = spec.split("-").map(Number);
  if (units.length === 0 || units.some((u) => !Number.isInteger(u) || u < 1 || u > 4096)) {
    throw new UserError(
      `autoencoder: parameter "hidden" must be unit counts joined by "-" (e.g. 16-8-16), got "${spec}"`,
    );
  }
  return units;
}

function buildModel(inputs: number, hidden: number[], seed: number): tf.Sequential {
  const model = tf.sequential();
  hidden.forEach((units, i) => {
    model.add(tf.layers.dense({
      units,
      activation: "relu",
      ...(i === 0 ? { inputShape: [inputs] } : {}),
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }),
      biasInitializer: "zeros",
    }));
  });
  model.add(tf.layers.dense({
    units: inputs,
    kernelInitializer: tf.initializers.glorotUniform({ seed: seed + hidden.length }),
    biasInitializer: "zeros",
  }));
  return model;
}

/** Copies rows `order[from..to)` of X into `out` (row-major). */
function fillBatch(X: Matrix, order: Int32Array, from: number, to: number, out: Float32Array) {
  const d = X.cols;
  for (let i = from; i < to; i++) {
    out.set(X.data.subarray(order[i] * d, order[i] * d + d), (i - from) * d);
  }
}

class Autoencoder implements Detector {
  readonly kind = "autoencoder";
  model: tf.Sequential | null = null;
  hidden: number[];

  constructor(readonly params: Params) {
    this.hidden = parseLayers(String(params.hidden));
    checkParam("autoencoder", params, "epochs", { min: 1, max: 10000, integer: true });
    checkParam("autoencoder", params, "batchSize", { min: 1, max: 1 << 20, integer: true });
    checkParam("autoencoder", params, "learningRate", { min: 1e-9, max: 10 });
    checkParam("autoencoder", params, "patience", { min: 0, max: 10000, integer: true });
    checkParam("autoencoder", params, "validationFraction", { min: 0, max: 0.5 });
  }

  async fit(X: Matrix, _y: Int8Array | undefined, options: FitOptions): Promise<FitReport> {
    const backend = await tfReady();
    if (X.rows < 2) throw new UserError("autoencoder: needs at least 2 rows to fit");
    const rng = new Rng(options.seed);
    const model = buildModel(X.cols, this.hidden, options.seed);
    const optimizer = tf.train.adam(this.params.learningRate as number);
    const batch = this.params.batchSize as number;
    const epochs = this.params.epochs as number, patience = this.params.patience as number;
    // Seeded hold-out for early stopping.
    const all = rng.shuffle(Int32Array.from({ length: X.rows }, (_, i) => i));
    const nVal = Math.floor(X.rows * (this.params.validationFraction as number));
    const valRows = all.slice(0, nVal).sort();
    const trainRows = all.slice(nVal).sort();
    const valX = nVal > 0 ? selectMatrix(X, valRows) : null;
    const buf = new Float32Array(batch * X.cols);
    const lossHistory: number[] = [], valHistory: number[] = [];
    let best = Infinity, bestEpoch = 0, bestWeights: Float32Array[] | null = null;
    const bar = progress("autoencoder fit", epochs, { quiet: options.quiet, unit: "epochs" });
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const order = rng.shuffle(trainRows.slice());
      let total = 0;
      for (let from = 0; from < order.length; from += batch) {
        const to = Math.min(from + batch, order.length);
        fillBatch(X, order, from, to, buf);
        const loss = tf.tidy(() => {
          const xb = tf.tensor2d(buf.subarray(0, (to - from) * X.cols), [to - from, X.cols]);
          return optimizer.minimize(
            () => tf.losses.meanSquaredError(xb, model.apply(xb) as tf.Tensor) as tf.Scalar,
            true,
          )!;
        });
        total += loss.dataSync()[0] * (to - from);
        loss.dispose();
      }
      lossHistory.push(total / order.length);
      options.onEpoch?.(epoch, total / order.length);
      let monitor = lossHistory[lossHistory.length - 1];
      if (valX) {
        monitor = meanOf(reconstructionErrors(model, valX));
        valHistory.push(monitor);
      }
      bar.tick();
      if (monitor < best) {
        best = monitor;
        bestEpoch = epoch;
        bestWeights = model.getWeights().map((w) => w.dataSync() as Float32Array).map((a) =>
          a.slice()
        );
      } else if (epoch - bestEpoch >= patience && patience > 0) {
        break;
      }
    }
    bar.done();
    if (bestWeights) setWeights(model, bestWeights);
    optimizer.dispose();
    this.model = model;
    return {
      backend,
      epochsRun: lossHistory.length,
      bestEpoch,
      trainLoss: lossHistory,
      validationLoss: valHistory,
    };
  }

  #fitted(): tf.Sequential {
    if (!this.model) throw new Error("autoencoder: score or explain before fit");
    return this.model;
  }

  score(X: Matrix): Float32Array {
    return reconstructionErrors(this.#fitted(), X);
  }

  explain(row: Float32Array): Float32Array {
    const model = this.#fitted();
    const rec = tf.tidy(() =>
      (model.predict(tf.tensor2d(row, [1, row.length])) as tf.Tensor).dataSync()
    ) as Float32Array;
    const out = new Float32Array(row.length);
    for (let j = 0; j < row.length; j++) out[j] = (row[j] - rec[j]) ** 2 / row.length;
    return out;
  }

  async save(dir: string): Promise<string[]> {
    const model = this.#fitted();
    const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
    const meta = {
      format: "fraudlab.autoencoder/1",
      inputs: model.inputs[0].shape[1],
      hidden: this.hidden,
      shapes: model.getWeights().map((w) => w.shape),
    };
    await Deno.writeTextFile(join(dir, "autoencoder.json"), JSON.stringify(meta, null, 2) + "\n");
    await Deno.writeFile(join(dir, "autoencoder.weights.bin"), packArrays(weights));
    return ["autoencoder.json", "autoencoder.weights.bin"];
  }
}

function meanOf(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

function selectMatrix(X: Matrix, rows: Int32Array): Matrix {
  const data = new Float32Array(rows.length * X.cols);
  fillBatch(X, rows, 0, rows.length, data);
  return { data, rows: rows.length, cols: X.cols, columns: X.columns };
}

function setWeights(model: tf.Sequential, arrays: Float32Array[]): void {
  const current = model.getWeights();
  const tensors = arrays.map((a, i) => tf.tensor(a, current[i].shape));
  model.setWeights(tensors);
  tensors.forEach((t) => t.dispose());
}

const SCORE_CHUNK = 65536;

/** Per-row mean squared reconstruction error, in chunks to bound memory. */
function reconstructionErrors(model: tf.LayersModel, X: Matrix): Float32Array {
  const inputs = model.inputs[0].shape[1];
  if (X.cols !== inputs) {
    throw new UserError(`autoencoder: expected ${inputs} features, got ${X.cols}`);
  }
  const out = new Float32Array(X.rows);
  for (let from = 0; from < X.rows; from += SCORE_CHUNK) {
    const to = Math.min(from + SCORE_CHUNK, X.rows);
    const errs = tf.tidy(() => {
      const x = tf.tensor2d(X.data.subarray(from * X.cols, to * X.cols), [to - from, X.cols]);
      const rec = model.predict(x) as tf.Tensor;
      return rec.sub(x).square().mean(1).dataSync() as Float32Array;
    });
    out.set(errs, from);
  }
  return out;
}

async function loadAutoencoder(dir: string, params: Params): Promise<Detector> {
  await tfReady();
  const meta = JSON.parse(await Deno.readTextFile(join(dir, "autoencoder.json")));
  if (meta.format !== "fraudlab.autoencoder/1") {
    throw new UserError(`${dir}: not an autoencoder model`);
  }
  const shapes = meta.shapes as number[][];
  const arrays = unpackArrays(
    await Deno.readFile(join(dir, "autoencoder.weights.bin")),
    shapes.map((s) => ({ type: "f32" as const, length: s.reduce((a, b) => a * b, 1) })),
    join(dir, "autoencoder.weights.bin"),
  ) as Float32Array[];
  const d = new Autoencoder(params);
  d.model = buildModel(meta.inputs, meta.hidden, 0);
  setWeights(d.model, arrays);
  return d;
}

registerKind({
  name: "autoencoder",
  description: "dense autoencoder in TensorFlow.js (unsupervised; reconstruction error)",
  standardize: true,
  fitOn: "negatives",
  defaults: {
    hidden: "16-8-16",
    epochs: 20,
    batchSize: 256,
    learningRate: 1e-3,
    patience: 3,
    validationFraction: 0.1,
  },
  explains: "squared reconstruction error per feature / number of features",
  create: (params) => new Autoencoder(params),
  load: loadAutoencoder,
});
