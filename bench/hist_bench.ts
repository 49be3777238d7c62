/**
 * The tree builder's histogram kernel beside the JavaScript loop it
 * replaced (`addRows`), on 800,000 rows × 30 features of random bins: a full
 * pass (a root node) and a node holding 10% of the rows (read through the
 * partition order), every feature and half of them; best of 5, ns per bin
 * update. Both must give the same histogram (checked). Then the other
 * per-row passes of tree building, ns a row: log-loss gradients and a
 * stable partition by a split (the partitions must agree, checked).
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
  kernel.gh[2 * i] = rng.random() - 0.5;
  kernel.gh[2 * i + 1] = rng.random();
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
for (
  const [name, share] of [["full pass", 1], ["10% of the rows", 0.1], [
    "1% of the rows",
    0.01,
  ]] as const
) {
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

// The other per-row passes: log-loss gradients (the kernel's own exp against Math.exp) and a
// stable partition of every row by a split sending about half of them left at random.
for (let i = 0; i < n; i++) {
  kernel.margin[i] = (rng.random() - 0.7) * 12;
  kernel.labels[i] = rng.random() < 0.02 ? 1 : 0;
}
const gh = new Float64Array(2 * n);
const jsGradients = () => {
  const { margin, labels: y } = kernel;
  for (let i = 0; i < n; i++) {
    const p = 1 / (1 + Math.exp(-margin[i]));
    gh[2 * i] = p - y[i];
    gh[2 * i + 1] = Math.max(p * (1 - p), 1e-16);
  }
};
const split = { feature: 3, bin: 127, left: 1 };
const col = kernel.columns.subarray(split.feature * n, (split.feature + 1) * n);
for (let i = 0; i < n; i++) col[i] = kernel.binned[i * d + split.feature];
const identity = Int32Array.from({ length: n }, (_, i) => i);
const order = new Int32Array(n), scratch = new Int32Array(n);
const jsPartition = () => {
  order.set(identity);
  let a = 0, b = 0;
  for (let r = 0; r < n; r++) {
    const i = order[r], v = col[i];
    if (v === 255 ? split.left === 1 : v <= split.bin) order[a++] = i;
    else scratch[b++] = i;
  }
  order.set(scratch.subarray(0, b), a);
};
const passes: [string, () => void, () => void][] = [
  ["gradients", jsGradients, () => kernel.gradients(0, n, 1)],
  ["partition", jsPartition, () => {
    kernel.order.set(identity);
    kernel.split(0, n, split);
  }],
];
const rows2: string[][] = [];
for (const [name, js, wasm] of passes) {
  const tj = best(js), tw = best(wasm);
  const per = (t: number) => ((t * 1e6) / n).toFixed(2);
  rows2.push([name, per(tj), per(tw), `${(tj / tw).toFixed(2)}×`]);
}
if (!order.every((v, r) => v === kernel.order[r])) throw new Error("the partitions differ");
console.log(table(["pass", "JavaScript ns a row", "kernel ns a row", "speed-up"], rows2));
