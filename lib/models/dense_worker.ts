/**
 * Helper thread of {@linkcode ParallelAutoencoderTrainer}: waits for a batch
 * slice, computes its gradients over the shared weights into shared memory,
 * and signals completion. All state lives in SharedArrayBuffers.
 * @module
 */
import { CONTROL, GradientWorker, layersOver, viewsOver } from "./dense.ts";

interface Setup {
  shapes: [number, number][];
  weightBuf: SharedArrayBuffer;
  gradBuf: SharedArrayBuffer;
  ctrlBuf: SharedArrayBuffer;
  sseBuf: SharedArrayBuffer;
  dataBuf: SharedArrayBuffer;
  orderBuf: SharedArrayBuffer;
  batch: number;
}

const scope = globalThis as unknown as {
  onmessage: (e: MessageEvent<Setup>) => void;
  postMessage: (message: unknown) => void;
};

scope.onmessage = (e) => {
  const s = e.data;
  const layers = layersOver(s.shapes, s.weightBuf);
  const grads = viewsOver(s.gradBuf, s.shapes.flatMap(([i, o]) => [i * o, o]));
  const ctrl = new Int32Array(s.ctrlBuf);
  const sse = new Float64Array(s.sseBuf);
  const data = new Float32Array(s.dataBuf);
  const order = new Int32Array(s.orderBuf);
  const worker = new GradientWorker(layers, grads, s.batch);
  scope.postMessage("ready");
  let seen = 0;
  for (;;) {
    for (let spin = 0; spin < CONTROL.SPIN && Atomics.load(ctrl, CONTROL.SEQ) === seen; spin++);
    Atomics.wait(ctrl, CONTROL.SEQ, seen);
    const seq = Atomics.load(ctrl, CONTROL.SEQ);
    if (seq === seen) continue;
    seen = seq;
    if (Atomics.load(ctrl, CONTROL.STOP)) return;
    sse[0] = worker.compute(
      data,
      order,
      Atomics.load(ctrl, CONTROL.FROM),
      Atomics.load(ctrl, CONTROL.COUNT),
      Atomics.load(ctrl, CONTROL.TOTAL),
    );
    Atomics.store(ctrl, CONTROL.DONE, seq);
    Atomics.notify(ctrl, CONTROL.DONE);
  }
};
