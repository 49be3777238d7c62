/**
 * What one gbdt explanation costs: a 300-tree, depth-6 model on 100,000
 * Gaussian rows of 30 features, then rows explained one at a time by
 * TreeSHAP's Algorithm 2 and by the tabled TreeSHAP the model serves with,
 * and scored with and without reasons (the serving path), and explained on
 * one thread against two (as the server does). With a peer spec
 * and its CSV, the model is fitted on the mod5 training rows instead (the
 * serve bench's champion) and their first rows are explained.
 *
 * deno run -A bench/treeshap_bench.ts [--trees 300] [--depth 6] [--peer-spec S --csv FILE]
 */
import { getKind, resolveParams } from "../lib/models/mod.ts";
import { blobs } from "../lib/testing/helpers.ts";
import { intFlag, parseFlags } from "../lib/util/cli.ts";
import { TreeShap } from "../lib/models/treeshap.ts";
import { FastTreeShap } from "../lib/models/treeshap_fast.ts";
import { ThreadedTreeShap } from "../lib/models/treeshap_threads.ts";
import type { Ensemble } from "../lib/models/gbdt.ts";
import { loadDataset } from "../lib/data/load.ts";
import { labelsOf } from "../lib/data/frame.ts";
import { splitMod5 } from "../lib/data/split.ts";
import {
  featureFrame,
  fitPipeline,
  type Matrix,
  transformFrame,
} from "../lib/features/pipeline.ts";
import { loadPeerSpec } from "./peer.ts";

const flags = parseFlags(Deno.args, {
  trees: { type: "string", help: "trees (default 300)" },
  depth: { type: "string", help: "depth (default 6)" },
  "peer-spec": { type: "string", help: "a peer spec: fit on its CSV's mod5 training rows" },
  csv: { type: "string", help: "the peer spec's CSV" },
});
const trees = intFlag(flags.trees, { name: "trees", fallback: 300, min: 1 });
const depth = intFlag(flags.depth, { name: "depth", fallback: 6, min: 1, max: 20 });
async function csvRows(specPath: string, csv: string): Promise<{ X: Matrix; y: Int8Array }> {
  const { spec } = await loadPeerSpec(specPath);
  const ds = await loadDataset(csv, spec);
  const labels = labelsOf(ds);
  const train = splitMod5(labels.length).train;
  const ff = featureFrame(ds, null);
  const X = transformFrame(fitPipeline(ff, train, {}), ff, { rows: train });
  return { X, y: Int8Array.from(train, (i) => labels[i]) };
}
const { X, y } = flags["peer-spec"] && flags.csv
  ? await csvRows(flags["peer-spec"] as string, flags.csv as string)
  : blobs({ rows: 100_000, cols: 30, seed: 1 });
const cols = X.cols;
const kind = getKind("gbdt");
const det = kind.create(resolveParams(kind, { nEstimators: trees, maxDepth: depth }));
await det.fit(X, y, { seed: 0, quiet: true });
const e = (det as unknown as { ensemble: Ensemble }).ensemble;
const rows = 2000;
const row = (r: number) => X.data.subarray(r * cols, (r + 1) * cols);
const perRow = (f: (r: number) => void, n = rows) => {
  const t0 = performance.now();
  for (let r = 0; r < n; r++) f(r);
  return ((performance.now() - t0) * 1000) / n;
};
const t0 = performance.now();
const fast = new FastTreeShap(e.trees, { maxDepth: e.maxDepth });
const tabled = performance.now() - t0;
const slow = new TreeShap(e.maxDepth);
const phi = new Float64Array(cols), contrib = new Float32Array(cols);
for (let rep = 0; rep < 3; rep++) {
  const algo2 = perRow((r) => {
    for (const t of e.trees) slow.explainTree(t, row(r), phi);
  }, 500);
  const tabledUs = perRow((r) => fast.explain(row(r), phi));
  const served = perRow((r) => det.scoreOne!(row(r), contrib));
  const alone = perRow((r) => det.scoreRow!(row(r)));
  console.log(
    `${trees} trees, depth ${depth}, one row: TreeSHAP Algorithm 2 ${algo2.toFixed(0)} µs, ` +
      `tabled ${tabledUs.toFixed(0)} µs (${(algo2 / tabledUs).toFixed(1)}×); ` +
      `score + reasons (served) ${served.toFixed(0)} µs, score alone ${alone.toFixed(1)} µs`,
  );
}
console.log(
  `tables: ${(fast.bytes / 2 ** 20).toFixed(1)} MiB, built in ${tabled.toFixed(0)} ms ` +
    `(${fast.leaves} leaves, ${fast.leafFeatures} leaf features, ${fast.pairs} merged pairs); ` +
    `${fast.slowTrees} trees left to Algorithm 2`,
);
// Two threads, as the server explains (a worker walks the second part of the trees).
const two = new ThreadedTreeShap(fast);
while (!two.ready) {
  two.explain(row(0), phi);
  await new Promise((r) => setTimeout(r, 20));
}
for (let rep = 0; rep < 3; rep++) {
  const one = perRow((r) => fast.explain(row(r), phi));
  const both = perRow((r) => two.explain(row(r), phi));
  console.log(
    `tabled, one row at a time: one thread ${one.toFixed(1)} µs, two threads ${
      both.toFixed(1)
    } µs (${(one / both).toFixed(2)}×)`,
  );
}
console.log(
  `two threads: ${two.shared} rows with the worker's half, ${two.alone} walked here alone; ` +
    `the worker holds trees ${fast.split}..${e.trees.length - 1}`,
);
two.close();
