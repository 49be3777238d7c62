/**
 * A small dense network on typed arrays: forward pass, backpropagation of
 * the mean squared reconstruction error, and Adam. Used by the autoencoder
 * for training (its default engine) and for every score.
 *
 * Why by hand: TensorFlow.js spends most of a small batch in per-op dispatch
 * (about 2 ms per 256-row step of a 30→16→8→16→30 net on the wasm backend),
 * while the arithmetic itself is under 1 M multiply-adds. These loops do the
 * same math without the dispatch, about 2.5× faster than tfjs-wasm here.
 *
 * Layout: layer l has a kernel W (in × out, row-major, as tfjs stores dense
 * kernels) and a bias b (out); hidden layers use ReLU, the last is linear.
 * Weights are float32 values held in Float64Arrays.
 * @module
 */
import { Rng } from "../util/rng.ts";

/** One dense layer. */
export interface DenseLayer {
  inputs: number;
  outputs: number;
  W: Float64Array;
  b: Float64Array;
}

/** Layers with Glorot-uniform kernels (limit √(6/(in+out))) and zero biases, rounded to float32. */
export function initLayers(sizes: number[], rng: Rng): DenseLayer[] {
  const layers: DenseLayer[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inputs = sizes[l], outputs = sizes[l + 1];
    const limit = Math.sqrt(6 / (inputs + outputs));
    const W = new Float64Array(inputs * outputs);
    for (let i = 0; i < W.length; i++) W[i] = Math.fround(rng.uniform(-limit, limit));
    layers.push({ inputs, outputs, W, b: new Float64Array(outputs) });
  }
  return layers;
}

/** Rounds every weight to float32 (what is saved), in place. */
export function roundToFloat32(layers: DenseLayer[]): void {
  for (const l of layers) {
    for (let i = 0; i < l.W.length; i++) l.W[i] = Math.fround(l.W[i]);
    for (let i = 0; i < l.b.length; i++) l.b[i] = Math.fround(l.b[i]);
  }
}

/** Activations of a batch, one buffer per layer boundary (index 0 = input). */
function forward(layers: DenseLayer[], acts: Float64Array[], n: number): void {
  const last = layers.length - 1;
  for (let l = 0; l <= last; l++) {
    const { inputs: fi, outputs: fo, W, b } = layers[l];
    const inp = acts[l], out = acts[l + 1];
    for (let r = 0; r < n; r++) {
      const ob = r * fo, ib = r * fi;
      for (let j = 0; j < fo; j++) out[ob + j] = b[j];
      for (let k = 0; k < fi; k++) {
        const a = inp[ib + k];
        if (a === 0) continue; // ReLU zeros contribute nothing
        const wb = k * fo;
        for (let j = 0; j < fo; j++) out[ob + j] += a * W[wb + j];
      }
      if (l < last) { for (let j = 0; j < fo; j++) if (out[ob + j] < 0) out[ob + j] = 0; }
    }
  }
}

/** Buffers for batches of up to `batch` rows. */
export function batchBuffers(layers: DenseLayer[], batch: number): Float64Array[] {
  return [
    new Float64Array(batch * layers[0].inputs),
    ...layers.map((l) => new Float64Array(batch * l.outputs)),
  ];
}

/**
 * Per-row mean squared reconstruction error of `rows` rows of row-major
 * float32 data (`data.length = rows × inputs`). `perFeature`, when given,
 * receives each row's squared error per feature.
 */
export function reconstructionError(
  layers: DenseLayer[],
  data: Float32Array,
  rows: number,
  perFeature?: Float64Array,
): Float32Array {
  const d = layers[0].inputs, CHUNK = 1024;
  const acts = batchBuffers(layers, Math.min(CHUNK, Math.max(rows, 1)));
  const out = new Float32Array(rows);
  for (let from = 0; from < rows; from += CHUNK) {
    const n = Math.min(CHUNK, rows - from);
    const a0 = acts[0];
    for (let i = 0; i < n * d; i++) a0[i] = data[from * d + i];
    forward(layers, acts, n);
    const rec = acts[acts.length - 1];
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const e = rec[r * d + j] - a0[r * d + j];
        s += e * e;
        if (perFeature) perFeature[(from + r) * d + j] = e * e;
      }
      out[from + r] = s / d;
    }
  }
  return out;
}

/** Adam state and settings (the usual defaults: β1 0.9, β2 0.999, ε 1e-7 as in tfjs). */
export class Adam {
  step = 0;
  readonly m: Float64Array[];
  readonly v: Float64Array[];
  constructor(
    readonly params: Float64Array[],
    readonly lr: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-7,
  ) {
    this.m = params.map((p) => new Float64Array(p.length));
    this.v = params.map((p) => new Float64Array(p.length));
  }

  /** Applies one update from gradients in the same order as `params`. */
  update(grads: Float64Array[]): void {
    this.step++;
    const { beta1: b1, beta2: b2, eps } = this;
    const lrt = (this.lr * Math.sqrt(1 - Math.pow(b2, this.step))) / (1 - Math.pow(b1, this.step));
    for (let p = 0; p < this.params.length; p++) {
      const w = this.params[p], g = grads[p], m = this.m[p], v = this.v[p];
      for (let i = 0; i < w.length; i++) {
        const gi = g[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        w[i] -= (lrt * m[i]) / (Math.sqrt(v[i]) + eps);
      }
    }
  }
}

/** Trains layers as an autoencoder, one mini-batch at a time. */
export class AutoencoderTrainer {
  readonly acts: Float64Array[];
  readonly grads: Float64Array[];
  readonly deltas: Float64Array[];
  readonly adam: Adam;

  constructor(readonly layers: DenseLayer[], readonly batch: number, learningRate: number) {
    this.acts = batchBuffers(layers, batch);
    this.deltas = batchBuffers(layers, batch);
    this.grads = layers.flatMap((
      l,
    ) => [new Float64Array(l.W.length), new Float64Array(l.b.length)]);
    this.adam = new Adam(layers.flatMap((l) => [l.W, l.b]), learningRate);
  }

  /**
   * One Adam step on rows `order[from..from+n)` of `data`; returns the batch's
   * mean squared error (before the step).
   */
  step(data: Float32Array, order: ArrayLike<number>, from: number, n: number): number {
    const { layers, acts, deltas, grads } = this;
    const d = layers[0].inputs, L = layers.length;
    const a0 = acts[0];
    for (let r = 0; r < n; r++) {
      const src = order[from + r] * d;
      for (let j = 0; j < d; j++) a0[r * d + j] = data[src + j];
    }
    forward(layers, acts, n);
    // dLoss/dOutput for the mean over n × d squared errors.
    const out = acts[L], gOut = deltas[L], scale = 2 / (n * d);
    let loss = 0;
    for (let i = 0; i < n * d; i++) {
      const e = out[i] - a0[i];
      loss += e * e;
      gOut[i] = e * scale;
    }
    for (let l = L - 1; l >= 0; l--) {
      const { inputs: fi, outputs: fo, W } = layers[l];
      const inp = acts[l], g = deltas[l + 1], gW = grads[2 * l], gb = grads[2 * l + 1];
      gW.fill(0);
      gb.fill(0);
      for (let r = 0; r < n; r++) {
        const go = r * fo, ib = r * fi;
        for (let j = 0; j < fo; j++) gb[j] += g[go + j];
        for (let k = 0; k < fi; k++) {
          const a = inp[ib + k];
          if (a === 0) continue;
          const wb = k * fo;
          for (let j = 0; j < fo; j++) gW[wb + j] += a * g[go + j];
        }
      }
      if (l > 0) {
        // Back through W and the previous layer's ReLU (its output is inp).
        const gi = deltas[l];
        for (let r = 0; r < n; r++) {
          const go = r * fo, ib = r * fi;
          for (let k = 0; k < fi; k++) {
            if (inp[ib + k] <= 0) {
              gi[ib + k] = 0;
              continue;
            }
            const wb = k * fo;
            let s = 0;
            for (let j = 0; j < fo; j++) s += W[wb + j] * g[go + j];
            gi[ib + k] = s;
          }
        }
      }
    }
    this.adam.update(grads);
    return loss / (n * d);
  }
}
