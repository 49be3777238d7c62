/**
 * Worker side of two-thread tree building (`trees_parallel.ts`): waits for
 * a generation, does its job on the B segment of each node (its histogram
 * into its slot of the shared kernel memory, or its stable partition in
 * place) or the gradients of the second half of the rows, marks the
 * generation done.
 * @module
 */
import { HistKernel, type HistLayout } from "./trees_hist.ts";
import { half } from "./trees_parallel.ts";
import { binRows, PARTITION_WORDS, SEGMENT_WORDS } from "./trees.ts";

interface Setup {
  memory: WebAssembly.Memory;
  layout: HistLayout;
  cols: number;
  ctl: Int32Array;
  ranges: Int32Array;
  results: Int32Array;
  weight: Float64Array;
  /** The rows this thread bins: from row `first` to the end. */
  bin: { data: Float32Array; first: number; padded: Float32Array };
}

const ASKED = 0, DONE = 1, RANGES = 2, FEATURES = 3, CLOSING = 4, JOB = 5, BINNED = 6;
const HIST = 0, PARTITION = 1, GRADIENTS = 2, LEAVES = 3;

const scope = globalThis as unknown as { onmessage: (e: MessageEvent<Setup>) => void };

scope.onmessage = (e) => {
  const s = e.data;
  const kernel = new HistKernel({ memory: s.memory, layout: s.layout, cols: s.cols });
  const ctl = s.ctl;
  const { data, first, padded } = s.bin;
  binRows(
    { data, cols: s.cols, first },
    padded,
    { binned: kernel.binned, columns: kernel.columns, rows: s.layout.rows },
    { start: first, end: s.layout.rows },
  );
  Atomics.store(ctl, BINNED, 1);
  Atomics.notify(ctl, BINNED);
  let seen = 0;
  for (;;) {
    while (Atomics.load(ctl, ASKED) === seen) Atomics.wait(ctl, ASKED, seen, 1000);
    seen = Atomics.load(ctl, ASKED);
    if (Atomics.load(ctl, CLOSING)) return;
    const count = Atomics.load(ctl, RANGES), job = Atomics.load(ctl, JOB);
    if (job === HIST) {
      kernel.readFeatures(Atomics.load(ctl, FEATURES));
      for (let k = 0; k < count; k++) {
        kernel.add(1 + k, s.ranges[SEGMENT_WORDS * k + 2], s.ranges[SEGMENT_WORDS * k + 3]);
      }
    } else if (job === PARTITION) {
      for (let k = 0; k < count; k++) {
        const w = PARTITION_WORDS * k;
        const split = { feature: s.ranges[w + 4], bin: s.ranges[w + 5], left: s.ranges[w + 6] };
        s.results[k] = kernel.split(s.ranges[w + 2], s.ranges[w + 3], split);
      }
    } else if (job === LEAVES) {
      for (let k = 0; k < count; k++) {
        const w = PARTITION_WORDS * k;
        const split = { feature: s.ranges[w + 4], bin: s.ranges[w + 5], left: s.ranges[w + 6] };
        kernel.leafAdd(s.ranges[w + 2], s.ranges[w + 3], split, k);
      }
    } else if (job === GRADIENTS) {
      kernel.gradients(half(s.layout.rows), s.layout.rows, s.weight[0]);
    }
    Atomics.store(ctl, DONE, seen);
    Atomics.notify(ctl, DONE);
  }
};
