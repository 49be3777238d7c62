/**
 * Worker side of two-thread histograms (`trees_parallel.ts`): waits for a
 * generation, sums the second half of each range into the shared output,
 * marks the generation done.
 * @module
 */
import { addRows, histLength } from "./trees.ts";

interface Setup {
  binned: Uint8Array;
  cols: number;
  order: Int32Array;
  g: Float64Array;
  h: Float64Array;
  ctl: Int32Array;
  ranges: Int32Array;
  features: Int32Array;
  out: Float64Array;
}

const ASKED = 0, DONE = 1, RANGES = 2, FEATURES = 3, CLOSING = 4;

const scope = globalThis as unknown as { onmessage: (e: MessageEvent<Setup>) => void };

scope.onmessage = (e) => {
  const s = e.data;
  const ctl = s.ctl;
  let seen = 0;
  for (;;) {
    while (Atomics.load(ctl, ASKED) === seen) Atomics.wait(ctl, ASKED, seen, 1000);
    seen = Atomics.load(ctl, ASKED);
    if (Atomics.load(ctl, CLOSING)) return;
    const count = Atomics.load(ctl, RANGES), nf = Atomics.load(ctl, FEATURES);
    const features = s.features.subarray(0, nf);
    const len = histLength(nf);
    for (let k = 0; k < count; k++) {
      const start = s.ranges[2 * k], end = s.ranges[2 * k + 1], mid = start + ((end - start) >> 1);
      const hist = s.out.subarray(k * len, (k + 1) * len);
      hist.fill(0);
      addRows(hist, {
        binned: s.binned,
        cols: s.cols,
        g: s.g,
        h: s.h,
        order: s.order,
        features,
        start: mid,
        end,
      });
    }
    Atomics.store(ctl, DONE, seen);
    Atomics.notify(ctl, DONE);
  }
};
