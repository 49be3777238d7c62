/**
 * Worker side of two-thread tree building (`trees_parallel.ts`): waits for
 * a generation, does its job on the second half of each range (histogram
 * into its slot of the shared kernel memory, stable partition, gradients),
 * marks the generation done.
 * @module
 */
import { HistKernel, type HistLayout } from "./trees_hist.ts";

interface Setup {
  memory: WebAssembly.Memory;
  layout: HistLayout;
  cols: number;
  ctl: Int32Array;
  ranges: Int32Array;
  results: Int32Array;
  weight: Float64Array;
}

const ASKED = 0, DONE = 1, RANGES = 2, FEATURES = 3, CLOSING = 4, JOB = 5;
const HIST = 0, PARTITION = 1, GRADIENTS = 2;
const PARTITION_WORDS = 5;

const scope = globalThis as unknown as { onmessage: (e: MessageEvent<Setup>) => void };

scope.onmessage = (e) => {
  const s = e.data;
  const kernel = new HistKernel({ memory: s.memory, layout: s.layout, cols: s.cols });
  const ctl = s.ctl;
  let seen = 0;
  for (;;) {
    while (Atomics.load(ctl, ASKED) === seen) Atomics.wait(ctl, ASKED, seen, 1000);
    seen = Atomics.load(ctl, ASKED);
    if (Atomics.load(ctl, CLOSING)) return;
    const count = Atomics.load(ctl, RANGES), job = Atomics.load(ctl, JOB);
    if (job === HIST) {
      kernel.readFeatures(Atomics.load(ctl, FEATURES));
      for (let k = 0; k < count; k++) {
        const start = s.ranges[2 * k], end = s.ranges[2 * k + 1];
        kernel.add(1 + k, start + ((end - start) >> 1), end);
      }
    } else if (job === PARTITION) {
      for (let k = 0; k < count; k++) {
        const w = PARTITION_WORDS * k, start = s.ranges[w], end = s.ranges[w + 1];
        const split = { feature: s.ranges[w + 2], bin: s.ranges[w + 3], left: s.ranges[w + 4] };
        s.results[k] = kernel.partition(start + ((end - start) >> 1), end, split);
      }
    } else if (job === GRADIENTS) {
      kernel.gradients(s.layout.rows >> 1, s.layout.rows, s.weight[0]);
    }
    Atomics.store(ctl, DONE, seen);
    Atomics.notify(ctl, DONE);
  }
};
