/**
 * The tree builder's histogram kernel beside the JavaScript loop it
 * replaced (`addRows`), on 800,000 rows × 30 features of random bins: a full
 * pass (a root node) and a node holding 10% of the rows (read through the
 * partition order), every feature and half of them; best of 5, ns per bin
 * update. Both must give the same histogram (checked).
 *
 * deno run -A bench/hist_bench.ts
 */
import { addRows, histLength } from "../lib/models/trees.ts";
import { HistKernel } from "../lib/models/trees_hist.ts";
import { Rng } from "../lib/util/rng.ts";
import { table } from "../lib/util/table.ts";

const n = 800_000, d = 30;
const rng = new Rng(1);
const kernel = new HistKernel({ rows: n, cols: d, slots: 1 });
for (let i = 0; i < n * d; i++) kernel.binned[i] = Math.floor(rng.random() * 256);
for (let i = 0; i < n; i++) {
  kernel.g[i] = rng.random() - 0.5;
  kernel.h[i] = rng.random();
}
const best = (f: () => void) => {
  let t = Infinity;
  for (let k = 0; k < 5; k++) {
    const t0 = performance.now();
    f();
    t = Math.min(t, performance.now() - t0);
  }
  return t;
};
const rows: string[][] = [];
for (const [name, share] of [["full pass", 1], ["10% of the rows", 0.1]] as const) {
  let m = 0;
  for (let i = 0; i < n; i++) if (share === 1 || rng.random() < share) kernel.order[m++] = i;
  for (const nf of [d, d / 2]) {
    const features = Int32Array.from({ length: nf }, (_, j) => (nf === d ? j : 2 * j));
    kernel.setFeatures(features);
    const js = new Float64Array(histLength(nf));
    const tj = best(() => {
      js.fill(0);
      addRows(js, { ...kernel, cols: d, features, start: 0, end: m });
    });
    let wasm: Float64Array<ArrayBufferLike> = new Float64Array(0);
    const tw = best(() => {
      wasm = kernel.add(0, 0, m);
    });
    const same = js.every((v, q) => v === wasm[q]);
    if (!same) throw new Error(`${name}, ${nf} features: the histograms differ`);
    const per = (t: number) => ((t * 1e6) / (m * nf)).toFixed(2);
    rows.push([name, String(nf), per(tj), per(tw), `${(tj / tw).toFixed(2)}×`]);
  }
}
console.log(table(["rows", "features", "JavaScript ns", "kernel ns", "speed-up"], rows));
