/**
 * Dense autoencoder: default layers D→16→8→16→D with ReLU on the hidden
 * layers and a linear output, MSE loss, Adam (lr 1e-3), batch 256, Glorot
 * uniform initial kernels. Fits on label-0 training rows; a seeded share of
 * them (`validationFraction`) is held out and training stops when the
 * validation loss has not improved for `patience` epochs, keeping the best
 * weights.
 *
 * Two training engines give the same kind of model: `engine=typed` (default)
 * runs forward, backward and Adam on typed arrays (lib/models/dense.ts),
 * splitting each batch between two threads (`threads=2`, default; the split
 * is fixed, so results do not depend on the machine);
 * `engine=tfjs` trains with TensorFlow.js on its wasm backend (cpu
 * fallback). Scoring always uses the typed forward pass, so the server needs
 * no tensor runtime.
 *
 * Score = per-row mean over the D features of the squared reconstruction
 * error. Explanation = each feature's squared error / D (they sum to the
 * score).
 *
 * Deterministic: initial weights and epoch permutations come from the
 * seeded {@linkcode Rng}; batches are fed in a fixed order.
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
  type DetectorKind,
  type FitOptions,
  type FitReport,
  packArrays,
  type Params,
  unpackArrays,
} from "./detector.ts";
import { loadTf, type Tf } from "./tf.ts";
import {
  AutoencoderTrainer,
  type DenseLayer,
  initLayers,
  ParallelAutoencoderTrainer,
  reconstructionError,
  roundToFloat32,
} from "./dense.ts";

function parseLayers(spec: string): number[] {
  const units = spec.split("-").map(Number);
  if (units.length === 0 || units.some((u) => !Number.isInteger(u) || u < 1 || u > 4096)) {
    throw new UserError(
      `autoencoder: parameter "hidden" must be unit counts joined by "-" (e.g. 16-8-16), got "${spec}"`,
    );
  }
  return units;
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
  layers: DenseLayer[] | null = null;
  hidden: number[];

  constructor(readonly params: Params) {
    this.hidden = parseLayers(String(params.hidden));
    checkParam(params, "epochs", { kind: "autoencoder", min: 1, max: 10000, integer: true });
    checkParam(params, "batchSize", { kind: "autoencoder", min: 1, max: 1 << 20, integer: true });
    checkParam(params, "learningRate", { kind: "autoencoder", min: 1e-9, max: 10 });
    checkParam(params, "patience", { kind: "autoencoder", min: 0, max: 10000, integer: true });
    checkParam(params, "validationFraction", { kind: "autoencoder", min: 0, max: 0.5 });
    checkParam(params, "threads", { kind: "autoencoder", min: 1, max: 2, integer: true });
    if (params.engine !== "typed" && params.engine !== "tfjs") {
      throw new UserError(
        `autoencoder: parameter "engine" must be "typed" or "tfjs", got "${params.engine}"`,
      );
    }
  }

  async fit(X: Matrix, _y: Int8Array | undefined, options: FitOptions): Promise<FitReport> {
    if (X.rows < 2) throw new UserError("autoencoder: needs at least 2 rows to fit");
    const rng = new Rng(options.seed);
    const batch = this.params.batchSize as number, lr = this.params.learningRate as number;
    const epochs = this.params.epochs as number, patience = this.params.patience as number;
    // Seeded hold-out for early stopping.
    const all = rng.shuffle(Int32Array.from({ length: X.rows }, (_, i) => i));
    const nVal = Math.floor(X.rows * (this.params.validationFraction as number));
    const valRows = all.slice(0, nVal).sort();
    const trainRows = all.slice(nVal).sort();
    const valX = nVal > 0 ? selectMatrix(X, valRows) : null;
    const layers = initLayers([X.cols, ...this.hidden, X.cols], rng);
    const engine = this.params.engine === "tfjs"
      ? await tfjsEngine(layers, X, batch, lr)
      : this.params.threads === 2
      ? await parallelEngine(layers, X, batch, lr)
      : typedEngine(layers, X, batch, lr);
    const lossHistory: number[] = [], valHistory: number[] = [];
    let best = Infinity, bestEpoch = 0, bestWeights: Float64Array[] | null = null;
    const bar = progress("autoencoder fit", epochs, { quiet: options.quiet, unit: "epochs" });
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const order = rng.shuffle(trainRows.slice());
      const loss = await engine.epoch(order);
      lossHistory.push(loss);
      options.onEpoch?.(epoch, loss);
      let monitor = loss;
      if (valX) {
        engine.sync();
        monitor = meanOf(reconstructionError(layers, valX));
        valHistory.push(monitor);
      }
      bar.tick();
      if (monitor < best) {
        best = monitor;
        bestEpoch = epoch;
        engine.sync();
        bestWeights = layers.flatMap((l) => [l.W.slice(), l.b.slice()]);
      } else if (patience > 0 && epoch - bestEpoch >= patience) {
        break;
      }
    }
    bar.done();
    engine.sync();
    engine.dispose();
    if (bestWeights) {
      layers.forEach((l, i) => {
        l.W.set(bestWeights![2 * i]);
        l.b.set(bestWeights![2 * i + 1]);
      });
    }
    roundToFloat32(layers);
    this.layers = layers;
    return {
      engine: String(this.params.engine),
      epochsRun: lossHistory.length,
      bestEpoch,
      trainLoss: lossHistory,
      validationLoss: valHistory,
    };
  }

  #fitted(): DenseLayer[] {
    if (!this.layers) throw new Error("autoencoder: score or explain before fit");
    return this.layers;
  }

  score(X: Matrix): Float32Array {
    const layers = this.#fitted();
    if (X.cols !== layers[0].inputs) {
      throw new UserError(`autoencoder: expected ${layers[0].inputs} features, got ${X.cols}`);
    }
    return reconstructionError(layers, X);
  }

  explain(row: Float32Array): Float32Array {
    const layers = this.#fitted();
    const per = new Float64Array(row.length);
    reconstructionError(layers, { data: row, rows: 1 }, { perFeature: per });
    return Float32Array.from(per, (e) => e / row.length);
  }

  async save(dir: string): Promise<string[]> {
    const layers = this.#fitted();
    const meta = {
      format: "fraudlab.autoencoder/2",
      inputs: layers[0].inputs,
      hidden: this.hidden,
      shapes: layers.flatMap((l) => [[l.inputs, l.outputs], [l.outputs]]),
    };
    await Deno.writeTextFile(join(dir, "autoencoder.json"), JSON.stringify(meta, null, 2) + "\n");
    await Deno.writeFile(
      join(dir, "autoencoder.weights.bin"),
      packArrays(layers.flatMap((l) => [Float32Array.from(l.W), Float32Array.from(l.b)])),
    );
    return ["autoencoder.json", "autoencoder.weights.bin"];
  }
}

/** What the fit loop needs from a training engine. */
interface Engine {
  /** One epoch over rows in `order`; returns the mean training loss. */
  epoch(order: Int32Array): Promise<number>;
  /** Makes `layers` hold the engine's current weights. */
  sync(): void;
  dispose(): void;
}

function typedEngine(layers: DenseLayer[], X: Matrix, batch: number, lr: number): Engine {
  const trainer = new AutoencoderTrainer(layers, batch, lr);
  return {
    epoch(order) {
      let total = 0;
      for (let from = 0; from < order.length; from += batch) {
        const n = Math.min(batch, order.length - from);
        total += trainer.step(X.data, order, from, n) * n;
      }
      return Promise.resolve(total / order.length);
    },
    sync() {},
    dispose() {},
  };
}

async function parallelEngine(
  layers: DenseLayer[],
  X: Matrix,
  batch: number,
  lr: number,
): Promise<Engine> {
  const trainer = await ParallelAutoencoderTrainer.start(layers, X.data, batch, lr);
  return {
    epoch(order) {
      trainer.setOrder(order);
      let total = 0;
      for (let from = 0; from < order.length; from += batch) {
        const n = Math.min(batch, order.length - from);
        total += trainer.step(from, n) * n;
      }
      return Promise.resolve(total / order.length);
    },
    sync() {
      trainer.layers.forEach((l, i) => {
        layers[i].W.set(l.W);
        layers[i].b.set(l.b);
      });
    },
    dispose() {
      trainer.stop();
    },
  };
}

async function tfjsEngine(
  layers: DenseLayer[],
  X: Matrix,
  batch: number,
  lr: number,
): Promise<Engine> {
  const { tf } = await loadTf();
  const model = tf.sequential();
  layers.forEach((l, i) => {
    model.add(tf.layers.dense({
      units: l.outputs,
      activation: i < layers.length - 1 ? "relu" : "linear",
      ...(i === 0 ? { inputShape: [l.inputs] } : {}),
    }));
  });
  // Start from the same seeded weights as the typed engine.
  const initial = layers.flatMap((l) => [
    tf.tensor2d(Float32Array.from(l.W), [l.inputs, l.outputs]),
    tf.tensor1d(Float32Array.from(l.b)),
  ]);
  model.setWeights(initial);
  initial.forEach((t) => t.dispose());
  const optimizer = tf.train.adam(lr);
  const buf = new Float32Array(batch * X.cols);
  return {
    epoch(order) {
      let total = 0;
      for (let from = 0; from < order.length; from += batch) {
        const to = Math.min(from + batch, order.length);
        fillBatch(X, order, from, to, buf);
        const loss = tf.tidy(() => {
          const xb = tf.tensor2d(buf.subarray(0, (to - from) * X.cols), [to - from, X.cols]);
          return optimizer.minimize(
            () =>
              tf.losses.meanSquaredError(
                xb,
                model.apply(xb) as ReturnType<Tf["tensor"]>,
              ) as ReturnType<Tf["scalar"]>,
            true,
          )!;
        });
        total += loss.dataSync()[0] * (to - from);
        loss.dispose();
      }
      return Promise.resolve(total / order.length);
    },
    sync() {
      model.getWeights().forEach((w, i) => {
        const target = i % 2 === 0 ? layers[i >> 1].W : layers[i >> 1].b;
        target.set(w.dataSync() as Float32Array);
      });
    },
    dispose() {
      optimizer.dispose();
      model.dispose();
    },
  };
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

async function loadAutoencoder(dir: string, params: Params): Promise<Detector> {
  const meta = JSON.parse(await Deno.readTextFile(join(dir, "autoencoder.json")));
  if (meta.format !== "fraudlab.autoencoder/2") {
    throw new UserError(`${dir}: not an autoencoder model (format fraudlab.autoencoder/2)`);
  }
  const shapes = meta.shapes as number[][];
  const arrays = unpackArrays(await Deno.readFile(join(dir, "autoencoder.weights.bin")), {
    layout: shapes.map((s) => ({ type: "f32" as const, length: s.reduce((a, b) => a * b, 1) })),
    what: join(dir, "autoencoder.weights.bin"),
  });
  const d = new Autoencoder(params);
  d.layers = [];
  for (let i = 0; i < shapes.length; i += 2) {
    d.layers.push({
      inputs: shapes[i][0],
      outputs: shapes[i][1],
      W: Float64Array.from(arrays[i]),
      b: Float64Array.from(arrays[i + 1]),
    });
  }
  return d;
}

/** The autoencoder kind: its facts, defaults, and how to create and load one. */
export const autoencoderKind: DetectorKind = {
  name: "autoencoder",
  description:
    "dense autoencoder (unsupervised; reconstruction error), typed-array or tfjs training",
  supervised: false,
  limits: "unsupervised: flags unusual, not necessarily fraudulent, transactions",
  standardize: true,
  missingValues: false,
  fitOn: "negatives",
  defaults: {
    hidden: "16-8-16",
    epochs: 20,
    batchSize: 256,
    learningRate: 1e-3,
    patience: 3,
    validationFraction: 0.1,
    engine: "typed",
    threads: 2,
  },
  explains: "squared reconstruction error per feature / number of features",
  create: (params) => new Autoencoder(params),
  load: loadAutoencoder,
};
