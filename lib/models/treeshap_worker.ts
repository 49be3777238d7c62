/**
 * Worker side of two-thread TreeSHAP (`treeshap_threads.ts`): builds the
 * walk of the ensemble's second part, says it is ready, then for each row
 * (woken through the shared control words) walks it and writes its sums.
 * @module
 */
import { buildWasmExplain } from "./treeshap_wasm.ts";
import { channelLayout, type ExplainWorkerInit, previousJob } from "./treeshap_threads.ts";

const JOB = 0, DONE = 1, READY = 2, TAKEN = 3;

const scope = globalThis as unknown as {
  onmessage: (e: MessageEvent<ExplainWorkerInit>) => void;
  close(): void;
};

scope.onmessage = (e) => {
  const { channel, cols, trees, pollMs, firstJob } = e.data;
  // Every tree in the walk's second part: its sums add in the order the main thread's would.
  const walk = buildWasmExplain(trees, cols, 0);
  if (!walk) throw new Error("the second part's walk could not be built");
  const layout = channelLayout(cols);
  const ctl = new Int32Array(channel, 0, 4);
  const row = new Float32Array(channel, layout.rowAt, cols);
  const out = new Float64Array(channel, layout.sumsAt, cols);
  const sums = walk.sums(1);
  Atomics.store(ctl, READY, 1);
  let seq = firstJob;
  for (;;) {
    // Polls a while for the next row (a wake from sleep costs more), then sleeps.
    const until = performance.now() + pollMs;
    for (let i = 1; Atomics.load(ctl, JOB) === seq; i++) {
      if ((i & 63) === 0 && performance.now() > until) break;
    }
    Atomics.wait(ctl, JOB, seq);
    const job = Atomics.load(ctl, JOB);
    if (job < 0) break;
    if (job === seq) continue;
    seq = job;
    // The main thread takes a row it finds not taken when its own part is done.
    const prev = previousJob(seq);
    if (Atomics.compareExchange(ctl, TAKEN, prev, seq) !== prev) continue;
    walk.load(row);
    walk.run(1);
    out.set(sums);
    Atomics.store(ctl, DONE, seq);
    Atomics.notify(ctl, DONE, 1);
  }
  scope.close();
};
