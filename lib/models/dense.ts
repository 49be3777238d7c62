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

/**
 * Activations of a batch, one buffer per layer boundary (index 0 = input).
 *
 * Register-blocked: four rows at a time, each output unit's four sums live
 * in locals while the kernel column is read once for all four rows (one
 * weight load and four input loads per four multiply-adds, no stores in the
 * inner loop). Every sum adds its terms in input order starting from the
 * bias, so the result does not depend on the blocking.
 */
function forward(layers: DenseLayer[], acts: Float64Array[], n: number): void {
  const last = layers.length - 1;
  for (let l = 0; l <= last; l++) {
    const { inputs: fi, outputs: fo, W, b } = layers[l];
    const inp = acts[l], out = acts[l + 1], relu = l < last;
    let r = 0;
    for (; r + 4 <= n; r += 4) {
      const i0 = r * fi, i1 = i0 + fi, i2 = i1 + fi, i3 = i2 + fi;
      const o0 = r * fo, o1 = o0 + fo, o2 = o1 + fo, o3 = o2 + fo;
      for (let j = 0; j < fo; j++) {
        const bj = b[j];
        let s0 = bj, s1 = bj, s2 = bj, s3 = bj;
        for (let k = 0, w = j; k < fi; k++, w += fo) {
          const wk = W[w];
          s0 += inp[i0 + k] * wk;
          s1 += inp[i1 + k] * wk;
          s2 += inp[i2 + k] * wk;
          s3 += inp[i3 + k] * wk;
        }
        if (relu) {
          if (s0 < 0) s0 = 0;
          if (s1 < 0) s1 = 0;
          if (s2 < 0) s2 = 0;
          if (s3 < 0) s3 = 0;
        }
        out[o0 + j] = s0;
        out[o1 + j] = s1;
        out[o2 + j] = s2;
        out[o3 + j] = s3;
      }
    }
    for (; r < n; r++) {
      const ib = r * fi, ob = r * fo;
      for (let j = 0; j < fo; j++) {
        let s = b[j];
        for (let k = 0, w = j; k < fi; k++, w += fo) s += inp[ib + k] * W[w];
        out[ob + j] = relu && s < 0 ? 0 : s;
      }
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
 * Per-row mean squared reconstruction error of the rows of X (row-major
 * float32, `data.length = rows × inputs`). `perFeature`, when given,
 * receives each row's squared error per feature.
 */
export function reconstructionError(
  layers: DenseLayer[],
  X: { data: Float32Array; rows: number },
  options: { perFeature?: Float64Array } = {},
): Float32Array {
  const { data, rows } = X, perFeature = options.perFeature;
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

/**
 * gW[k][j] = Σ_r inp[r][k] · g[r][j] over rows r in order, a block of two
 * inputs × four output units at a time with the sums in locals (rows whose
 * two inputs are both 0, ReLU-silenced, add nothing and are skipped; a
 * skipped 0 · g term would only add ±0).
 */
function kernelGradient(
  inp: Float64Array,
  g: Float64Array,
  n: number,
  fi: number,
  fo: number,
  gW: Float64Array,
): void {
  const fo4 = fo - (fo % 4), fi2 = fi - (fi % 2);
  let k = 0;
  // Two inputs × four outputs: eight sums in locals, 6 loads per 8 multiply-adds.
  for (; k < fi2; k += 2) {
    const wa = k * fo, wb = wa + fo;
    let j = 0;
    for (; j < fo4; j += 4) {
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
      for (let r = 0, ia = k, go = j; r < n; r++, ia += fi, go += fo) {
        const x = inp[ia], y = inp[ia + 1];
        if (x === 0 && y === 0) continue;
        const h0 = g[go], h1 = g[go + 1], h2 = g[go + 2], h3 = g[go + 3];
        a0 += x * h0;
        a1 += x * h1;
        a2 += x * h2;
        a3 += x * h3;
        b0 += y * h0;
        b1 += y * h1;
        b2 += y * h2;
        b3 += y * h3;
      }
      gW[wa + j] = a0;
      gW[wa + j + 1] = a1;
      gW[wa + j + 2] = a2;
      gW[wa + j + 3] = a3;
      gW[wb + j] = b0;
      gW[wb + j + 1] = b1;
      gW[wb + j + 2] = b2;
      gW[wb + j + 3] = b3;
    }
    for (; j < fo; j++) {
      let a = 0, b = 0;
      for (let r = 0, ia = k, go = j; r < n; r++, ia += fi, go += fo) {
        a += inp[ia] * g[go];
        b += inp[ia + 1] * g[go];
      }
      gW[wa + j] = a;
      gW[wb + j] = b;
    }
  }
  for (; k < fi; k++) {
    const wa = k * fo;
    for (let j = 0; j < fo; j++) {
      let a = 0;
      for (let r = 0, ia = k, go = j; r < n; r++, ia += fi, go += fo) a += inp[ia] * g[go];
      gW[wa + j] = a;
    }
  }
}

/**
 * gi[r][k] = Σ_j W[k][j] · g[r][j] where the layer input inp[r][k] > 0 (ReLU
 * passes), else 0; four rows at a time, each weight loaded once for all four.
 */
function backThrough(
  W: Float64Array,
  g: Float64Array,
  inp: Float64Array,
  n: number,
  fi: number,
  fo: number,
  gi: Float64Array,
): void {
  let r = 0;
  for (; r + 4 <= n; r += 4) {
    const g0 = r * fo, g1 = g0 + fo, g2 = g1 + fo, g3 = g2 + fo;
    const i0 = r * fi, i1 = i0 + fi, i2 = i1 + fi, i3 = i2 + fi;
    for (let k = 0; k < fi; k++) {
      const wb = k * fo;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let j = 0; j < fo; j++) {
        const w = W[wb + j];
        s0 += w * g[g0 + j];
        s1 += w * g[g1 + j];
        s2 += w * g[g2 + j];
        s3 += w * g[g3 + j];
      }
      gi[i0 + k] = inp[i0 + k] > 0 ? s0 : 0;
      gi[i1 + k] = inp[i1 + k] > 0 ? s1 : 0;
      gi[i2 + k] = inp[i2 + k] > 0 ? s2 : 0;
      gi[i3 + k] = inp[i3 + k] > 0 ? s3 : 0;
    }
  }
  for (; r < n; r++) {
    const go = r * fo, ib = r * fi;
    for (let k = 0; k < fi; k++) {
      if (!(inp[ib + k] > 0)) {
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

/**
 * Gradients of the autoencoder loss for a slice of a batch, on one thread.
 * The loss is the mean over `total × d` squared errors of the whole batch,
 * so gradients of the slices of one batch add up to the batch gradient.
 */
export class GradientWorker {
  readonly acts: Float64Array[];
  readonly deltas: Float64Array[];

  constructor(
    readonly layers: DenseLayer[],
    readonly grads: Float64Array[],
    batch: number,
  ) {
    this.acts = batchBuffers(layers, batch);
    this.deltas = batchBuffers(layers, batch);
  }

  /**
   * Writes into `grads` the gradient contribution of rows `order[from..from+n)`
   * of `data` to a batch of `total` rows; returns their sum of squared errors.
   */
  compute(
    data: Float32Array,
    order: ArrayLike<number>,
    from: number,
    n: number,
    total: number,
  ): number {
    const { layers, acts, deltas, grads } = this;
    const d = layers[0].inputs, L = layers.length;
    const a0 = acts[0];
    for (let r = 0; r < n; r++) {
      const src = order[from + r] * d;
      for (let j = 0; j < d; j++) a0[r * d + j] = data[src + j];
    }
    forward(layers, acts, n);
    // dLoss/dOutput for the mean over total × d squared errors.
    const out = acts[L], gOut = deltas[L], scale = 2 / (total * d);
    let sse = 0;
    for (let i = 0; i < n * d; i++) {
      const e = out[i] - a0[i];
      sse += e * e;
      gOut[i] = e * scale;
    }
    for (let l = L - 1; l >= 0; l--) {
      const { inputs: fi, outputs: fo, W } = layers[l];
      const inp = acts[l], g = deltas[l + 1];
      kernelGradient(inp, g, n, fi, fo, grads[2 * l]);
      const gb = grads[2 * l + 1];
      gb.fill(0);
      for (let r = 0; r < n; r++) {
        const go = r * fo;
        for (let j = 0; j < fo; j++) gb[j] += g[go + j];
      }
      // Back through W and the previous layer's ReLU (its output is inp).
      if (l > 0) backThrough(W, g, inp, n, fi, fo, deltas[l]);
    }
    return sse;
  }
}

/** Sizes of every parameter array of `layers`, in [W, b] order per layer. */
export function parameterSizes(layers: DenseLayer[]): number[] {
  return layers.flatMap((l) => [l.W.length, l.b.length]);
}

/** Views of consecutive Float64 arrays of the given sizes over one buffer. */
export function viewsOver(buffer: ArrayBufferLike, sizes: number[], offset = 0): Float64Array[] {
  const out: Float64Array[] = [];
  for (const n of sizes) {
    out.push(new Float64Array(buffer, offset, n));
    offset += n * 8;
  }
  return out;
}

/** Layers whose weights are views over `buffer` (shared with a worker). */
export function layersOver(shapes: [number, number][], buffer: ArrayBufferLike): DenseLayer[] {
  const views = viewsOver(buffer, shapes.flatMap(([i, o]) => [i * o, o]));
  return shapes.map(([inputs, outputs], l) => ({
    inputs,
    outputs,
    W: views[2 * l],
    b: views[2 * l + 1],
  }));
}

/** Trains layers as an autoencoder, one mini-batch at a time, on this thread. */
export class AutoencoderTrainer {
  readonly worker: GradientWorker;
  readonly adam: Adam;

  constructor(readonly layers: DenseLayer[], readonly batch: number, learningRate: number) {
    const grads = layers.flatMap((
      l,
    ) => [new Float64Array(l.W.length), new Float64Array(l.b.length)]);
    this.worker = new GradientWorker(layers, grads, batch);
    this.adam = new Adam(layers.flatMap((l) => [l.W, l.b]), learningRate);
  }

  /**
   * One Adam step on rows `order[from..from+n)` of `data`; returns the batch's
   * mean squared error (before the step).
   */
  step(data: Float32Array, order: ArrayLike<number>, from: number, n: number): number {
    const sse = this.worker.compute(data, order, from, n, n);
    this.adam.update(this.worker.grads);
    return sse / (n * this.layers[0].inputs);
  }
}

// Control words shared with the helper thread.
const SEQ = 0, DONE = 1, FROM = 2, COUNT = 3, TOTAL = 4, STOP = 5;
/**
 * Polls of a shared flag before sleeping on it: a futex wake-up costs tens of
 * microseconds, a sizeable share of a 256-row step, while the other thread
 * is usually only microseconds away.
 */
const SPIN = 200_000;

/**
 * Trains on two threads: each batch is split in two halves, this thread and
 * a helper worker compute the gradients of one half each over shared
 * weights, and this thread adds them (in a fixed order) and applies Adam.
 * The split depends only on the batch size, never on timing, so results are
 * deterministic (and the same whatever the machine's core count).
 */
export class ParallelAutoencoderTrainer {
  readonly layers: DenseLayer[];
  readonly local: GradientWorker;
  readonly remoteGrads: Float64Array[];
  readonly adam: Adam;
  readonly ctrl: Int32Array;
  readonly sse: Float64Array;
  readonly data: Float32Array;
  readonly order: Int32Array;
  readonly helper: Worker;
  seq = 0;

  private constructor(init: {
    layers: DenseLayer[];
    remoteGrads: Float64Array[];
    ctrl: Int32Array;
    sse: Float64Array;
    data: Float32Array;
    order: Int32Array;
    helper: Worker;
    batch: number;
    learningRate: number;
  }) {
    this.layers = init.layers;
    this.remoteGrads = init.remoteGrads;
    this.ctrl = init.ctrl;
    this.sse = init.sse;
    this.data = init.data;
    this.order = init.order;
    this.helper = init.helper;
    const grads = init.layers.flatMap((
      l,
    ) => [new Float64Array(l.W.length), new Float64Array(l.b.length)]);
    this.local = new GradientWorker(init.layers, grads, init.batch);
    this.adam = new Adam(init.layers.flatMap((l) => [l.W, l.b]), init.learningRate);
  }

  /**
   * Starts the helper. `layers` give the initial weights; the trainer's own
   * `layers` (shared views) hold the weights from then on.
   */
  static async start(
    layers: DenseLayer[],
    data: Float32Array,
    batch: number,
    learningRate: number,
  ): Promise<ParallelAutoencoderTrainer> {
    const shapes = layers.map((l) => [l.inputs, l.outputs] as [number, number]);
    const sizes = parameterSizes(layers);
    const total = sizes.reduce((a, b) => a + b, 0);
    const weightBuf = new SharedArrayBuffer(total * 8);
    const shared = layersOver(shapes, weightBuf);
    shared.forEach((l, i) => {
      l.W.set(layers[i].W);
      l.b.set(layers[i].b);
    });
    const gradBuf = new SharedArrayBuffer(total * 8);
    const ctrl = new Int32Array(new SharedArrayBuffer(8 * 4));
    const sse = new Float64Array(new SharedArrayBuffer(8));
    const dataBuf = new SharedArrayBuffer(data.byteLength);
    const sharedData = new Float32Array(dataBuf);
    sharedData.set(data);
    const order = new Int32Array(new SharedArrayBuffer((data.length / layers[0].inputs) * 4));
    const helper = new Worker(new URL("./dense_worker.ts", import.meta.url).href, {
      type: "module",
    });
    const ready = new Promise<void>((resolve, reject) => {
      helper.onmessage = () => resolve();
      helper.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`autoencoder helper thread failed: ${e.message}`));
      };
    });
    helper.postMessage({
      shapes,
      weightBuf,
      gradBuf,
      ctrlBuf: ctrl.buffer,
      sseBuf: sse.buffer,
      dataBuf,
      orderBuf: order.buffer,
      batch,
    });
    await ready;
    return new ParallelAutoencoderTrainer({
      layers: shared,
      remoteGrads: viewsOver(gradBuf, sizes),
      ctrl,
      sse,
      data: sharedData,
      order,
      helper,
      batch,
      learningRate,
    });
  }

  /** Sets the row order of the next epoch (copied into shared memory). */
  setOrder(order: Int32Array): void {
    this.order.set(order);
  }

  /** One Adam step on rows `order[from..from+n)`; returns the batch's mean squared error. */
  step(from: number, n: number): number {
    const d = this.layers[0].inputs;
    const half = n >> 1; // helper takes the second half, rounded down
    const mine = n - half;
    let sseRemote = 0;
    if (half > 0) {
      const { ctrl } = this;
      Atomics.store(ctrl, FROM, from + mine);
      Atomics.store(ctrl, COUNT, half);
      Atomics.store(ctrl, TOTAL, n);
      Atomics.store(ctrl, SEQ, ++this.seq);
      Atomics.notify(ctrl, SEQ);
    }
    const sseLocal = this.local.compute(this.data, this.order, from, mine, n);
    const grads = this.local.grads;
    if (half > 0) {
      // Spin briefly (the halves take about equally long), then sleep.
      for (let spin = 0; spin < SPIN && Atomics.load(this.ctrl, DONE) !== this.seq; spin++);
      while (Atomics.load(this.ctrl, DONE) !== this.seq) {
        Atomics.wait(this.ctrl, DONE, this.seq - 1, 1000);
      }
      sseRemote = this.sse[0];
      for (let p = 0; p < grads.length; p++) {
        const g = grads[p], r = this.remoteGrads[p];
        for (let i = 0; i < g.length; i++) g[i] += r[i];
      }
    }
    this.adam.update(grads);
    return (sseLocal + sseRemote) / (n * d);
  }

  /** Stops the helper thread. */
  stop(): void {
    Atomics.store(this.ctrl, STOP, 1);
    Atomics.store(this.ctrl, SEQ, ++this.seq);
    Atomics.notify(this.ctrl, SEQ);
    this.helper.terminate();
  }
}

export const CONTROL = { SEQ, DONE, FROM, COUNT, TOTAL, STOP, SPIN };
