/**
 * Worker side of two-thread histograms (`trees_parallel.ts`): waits for a
 * generation, sums the second half of each range into its slot of the
 * shared kernel memory, marks the generation done.
 * @module
 */
import { HistKernel, type HistLayout } from "./trees_hist.ts";

interface Setup {
  memory: WebAssembly.Memory;
  layout: HistLayout;
  cols: number;
  ctl: Int32Array;
  ranges: Int32Array;
}

const ASKED = 0, DONE = 1, RANGES = 2, FEATURES = 3, CLOSING = 4;

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
    const count = Atomics.load(ctl, RANGES);
    kernel.readFeatures(Atomics.load(ctl, FEATURES));
    for (let k = 0; k < count; k++) {
      const start = s.ranges[2 * k], end = s.ranges[2 * k + 1], mid = start + ((end - start) >> 1);
      kernel.add(1 + k, mid, end);
    }
    Atomics.store(ctl, DONE, seen);
    Atomics.notify(ctl, DONE);
  }
};
