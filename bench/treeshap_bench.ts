/**
 * What one gbdt explanation costs: a 300-tree, depth-6 model on 100,000
 * Gaussian rows of 30 features, then 2,000 rows scored one at a time with
 * exact TreeSHAP reasons (the serving path) and without them.
 *
 * deno run -A bench/treeshap_bench.ts [--trees 300] [--depth 6]
 */
import { getKind, resolveParams } from "../lib/models/mod.ts";
import { blobs } from "../lib/testing/helpers.ts";
import { intFlag, parseFlags } from "../lib/util/cli.ts";

const flags = parseFlags(Deno.args, {
  trees: { type: "string", help: "trees (default 300)" },
  depth: { type: "string", help: "depth (default 6)" },
});
const trees = intFlag(flags.trees, { name: "trees", fallback: 300, min: 1 });
const depth = intFlag(flags.depth, { name: "depth", fallback: 6, min: 1, max: 20 });
const { X, y } = blobs({ rows: 100_000, cols: 30, seed: 1 });
const kind = getKind("gbdt");
const det = kind.create(resolveParams(kind, { nEstimators: trees, maxDepth: depth }));
await det.fit(X, y, { seed: 0, quiet: true });
const contrib = new Float32Array(30);
const rows = 2000;
for (let rep = 0; rep < 3; rep++) {
  let t0 = performance.now();
  for (let r = 0; r < rows; r++) det.scoreOne!(X.data.subarray(r * 30, (r + 1) * 30), contrib);
  const explained = ((performance.now() - t0) * 1000) / rows;
  t0 = performance.now();
  for (let r = 0; r < rows; r++) {
    det.score({ data: X.data.subarray(r * 30, (r + 1) * 30), rows: 1, cols: 30, columns: [] });
  }
  const plain = ((performance.now() - t0) * 1000) / rows;
  console.log(
    `${trees} trees, depth ${depth}, one row: score + exact TreeSHAP ${
      explained.toFixed(0)
    } µs, score alone ${plain.toFixed(1)} µs`,
  );
}
