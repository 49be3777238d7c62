import assert from "node:assert/strict";
import { join } from "node:path";
import { getKind, resolveParams } from "./mod.ts";
import type { Matrix } from "../features/pipeline.ts";
import { rocAuc } from "../eval/metrics.ts";
import { blobs, tricky } from "../testing/helpers.ts";
import type { Detector } from "./detector.ts";
import { type Ensemble, ensembleMargin } from "./gbdt.ts";
import type { Tree } from "./trees.ts";

const kind = getKind("gbdt");

async function fitted(
  X: Matrix,
  y: Int8Array,
  params: Record<string, unknown> = {},
): Promise<Detector & { ensemble: Ensemble; expectedValue: number }> {
  const det = kind.create(resolveParams(kind, { nEstimators: 40, maxDepth: 4, ...params }));
  await det.fit(X, y, { seed: 3, quiet: true });
  return det as Detector & { ensemble: Ensemble; expectedValue: number };
}

Deno.test("gbdt: learns a non-linear pattern with missing values; saved and reloaded, scores identical", async () => {
  const { X, y } = tricky({ rows: 6000, cols: 5, seed: 1 });
  const det = await fitted(X, y);
  const test = tricky({ rows: 3000, cols: 5, seed: 2 });
  const s = det.score(test.X);
  // Against the rule itself (its AUC is bounded by the 2% of labels flipped at random).
  const rule = Float32Array.from({ length: test.X.rows }, (_, i) => {
    const f0 = test.X.data[i * 5], f1 = test.X.data[i * 5 + 1];
    return f0 > 1 && (f1 !== f1 || f1 > 0) ? 1 : 0;
  });
  const best = rocAuc(test.y, rule);
  assert.ok(rocAuc(test.y, s) > best - 0.01, `AUC ${rocAuc(test.y, s)} against the rule's ${best}`);
  const dir = await Deno.makeTempDir();
  const files = await det.save(dir);
  const back = await kind.load(dir, det.params);
  assert.deepEqual(Array.from(back.score(test.X)), Array.from(s));
  // Same seed, same data: byte-identical model files.
  const again = await fitted(X, y);
  const dir2 = await Deno.makeTempDir();
  await again.save(dir2);
  for (const f of files) {
    assert.deepEqual(await Deno.readFile(join(dir2, f)), await Deno.readFile(join(dir, f)), f);
  }
});

Deno.test("gbdt: TreeSHAP contributions plus the expected value equal the margin (missing values too)", async () => {
  const { X, y } = tricky({ rows: 4000, cols: 6, seed: 3 });
  const det = await fitted(X, y, { subsample: 0.8, colsampleBytree: 0.8 });
  const contrib = new Float32Array(6);
  const rows = tricky({ rows: 300, cols: 6, seed: 4 }).X;
  let worst = 0;
  for (let r = 0; r < rows.rows; r++) {
    const row = rows.data.slice(r * 6, (r + 1) * 6);
    const m = det.scoreOne!(row, contrib);
    assert.equal(m, Math.fround(ensembleMargin(det.ensemble, row)));
    const sum = contrib.reduce((a, b) => a + b, 0) + det.expectedValue;
    worst = Math.max(worst, Math.abs(sum - ensembleMargin(det.ensemble, row)));
  }
  // Contributions are answered as float32: the sum holds to their precision.
  assert.ok(worst < 1e-5, `largest |sum - margin| ${worst}`);
});

/** E[f(x) | x_S] by the path-dependent rule: follow x on features in S, else weigh children by cover. */
function conditional(tree: Tree, row: ArrayLike<number>, S: Set<number>, node = 0): number {
  const f = tree.feature[node];
  if (f < 0) return tree.value[node];
  const l = tree.left[node], r = tree.right[node];
  if (S.has(f)) {
    const x = row[f];
    const left = x !== x ? tree.defaultLeft[node] === 1 : x < tree.threshold[node];
    return conditional(tree, row, S, left ? l : r);
  }
  return (tree.cover[l] * conditional(tree, row, S, l) +
    tree.cover[r] * conditional(tree, row, S, r)) /
    tree.cover[node];
}

Deno.test("gbdt: TreeSHAP equals brute-force Shapley values over every feature subset (6 features)", async () => {
  const d = 6;
  const { X, y } = blobs({ rows: 3000, cols: d, seed: 8 });
  for (let i = 0; i < X.data.length; i += 17) X.data[i] = NaN;
  const det = await fitted(X, y, { nEstimators: 12, maxDepth: 5, minChildWeight: 0.1 });
  const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
  const contrib = new Float32Array(d);
  for (let r = 0; r < 25; r++) {
    const row = X.data.slice(r * d, (r + 1) * d);
    det.scoreOne!(row, contrib);
    const v = (mask: number) => {
      const S = new Set<number>();
      for (let j = 0; j < d; j++) if (mask & (1 << j)) S.add(j);
      return det.ensemble.trees.reduce((s, t) => s + conditional(t, row, S), 0);
    };
    for (let i = 0; i < d; i++) {
      let phi = 0;
      for (let mask = 0; mask < 1 << d; mask++) {
        if (mask & (1 << i)) continue;
        let size = 0;
        for (let j = 0; j < d; j++) if (mask & (1 << j)) size++;
        const w = (fact(size) * fact(d - size - 1)) / fact(d);
        phi += w * (v(mask | (1 << i)) - v(mask));
      }
      assert.ok(
        Math.abs(contrib[i] - phi) < 1e-5,
        `row ${r} feature ${i}: ${contrib[i]} vs ${phi}`,
      );
    }
  }
});

Deno.test("gbdt: early stopping on validation rows keeps the best round; bad parameters name themselves", async () => {
  const { X, y } = tricky({ rows: 4000, cols: 5, seed: 5 });
  const val = tricky({ rows: 2000, cols: 5, seed: 6 });
  const det = kind.create(resolveParams(kind, {
    nEstimators: 400,
    maxDepth: 6,
    learningRate: 0.3,
    earlyStoppingRounds: 10,
  }));
  const report = await det.fit(X, y, { seed: 1, quiet: true, validation: { X: val.X, y: val.y } });
  assert.ok((report.roundsRun as number) < 400, `stopped after ${report.roundsRun} rounds`);
  assert.equal(report.trees, report.bestRound);
  assert.equal(report.roundsRun, (report.bestRound as number) + 10);
  const history = report.validationHistory as number[];
  const best = Math.min(...history);
  assert.equal(history[(report.bestRound as number) - 1], best);
  assert.throws(
    () => kind.create(resolveParams(kind, { maxDepth: 0 })),
    /gbdt: parameter "maxDepth" must be a whole number in \[1, 20\], got 0/,
  );
  assert.throws(
    () => kind.create(resolveParams(kind, { earlyStoppingMetric: "auc" })),
    /earlyStoppingMetric" must be "logloss" or "ap"/,
  );
  await assert.rejects(
    () => kind.create(kind.defaults).fit(X, new Int8Array(X.rows), { seed: 0 }),
    /one class only/,
  );
});

Deno.test("gbdt: one thread and two give byte-identical models", async () => {
  const { X, y } = tricky({ rows: 20_000, cols: 7, seed: 9 });
  const files: Uint8Array[][] = [];
  for (const threads of [1, 2]) {
    const det = await fitted(X, y, { threads, colsampleBytree: 0.7 });
    const dir = await Deno.makeTempDir();
    const names = await det.save(dir);
    files.push(await Promise.all(names.map((f) => Deno.readFile(join(dir, f)))));
  }
  assert.deepEqual(files[1], files[0]);
});

Deno.test("gbdt: batch scoring (flattened, four rows in lockstep) equals a plain walk of every tree", async () => {
  const { X, y } = tricky({ rows: 5000, cols: 6, seed: 12 });
  const det = await fitted(X, y, { maxDepth: 5 });
  const test = tricky({ rows: 1003, cols: 6, seed: 13 }).X; // not a multiple of four
  const batch = det.score(test);
  for (let r = 0; r < test.rows; r++) {
    const row = test.data.subarray(r * 6, (r + 1) * 6);
    assert.equal(batch[r], Math.fround(ensembleMargin(det.ensemble, row)), `row ${r}`);
  }
});

Deno.test("gbdt: a large batch split between two threads scores exactly as one thread", async () => {
  const { PARALLEL_MIN_ROWS } = await import("./gbdt.ts");
  const { X, y } = tricky({ rows: PARALLEL_MIN_ROWS + 1235, cols: 5, seed: 14 });
  const det = await fitted(X, y, { nEstimators: 20 });
  assert.deepEqual(Array.from(await det.scoreMany!(X)), Array.from(det.score(X)));
});

Deno.test("gbdt: leaf-wise growth holds at most maxLeaves leaves, goes deeper where it gains, and with 2^depth leaves equals depth-wise", async () => {
  const { X, y } = tricky({ rows: 8000, cols: 6, seed: 21 });
  const leavesOf = (t: Tree) => t.feature.filter((f) => f < 0).length;
  const depthOf = (t: Tree) => {
    const d = new Int32Array(t.feature.length);
    let deepest = 0;
    for (let i = 0; i < t.feature.length; i++) {
      if (t.feature[i] >= 0) d[t.left[i]] = d[t.right[i]] = d[i] + 1;
      deepest = Math.max(deepest, d[i]);
    }
    return deepest;
  };
  const leafWise = await fitted(X, y, { maxLeaves: 8, maxDepth: 12, nEstimators: 20 });
  const trees = leafWise.ensemble.trees;
  assert.ok(trees.every((t) => leavesOf(t) <= 8), trees.map(leavesOf).join(" "));
  assert.ok(trees.some((t) => leavesOf(t) === 8));
  // Eight leaves depth-wise is depth 3; leaf-wise spends them where the gain is.
  assert.ok(trees.some((t) => depthOf(t) > 3), trees.map(depthOf).join(" "));
  // Enough leaves to split every node to the depth limit: the same splits, so the same scores.
  const full = await fitted(X, y, { maxLeaves: 16, maxDepth: 4, nEstimators: 20 });
  const depthWise = await fitted(X, y, { maxDepth: 4, nEstimators: 20 });
  const test = tricky({ rows: 2000, cols: 6, seed: 22 }).X;
  assert.deepEqual(Array.from(full.score(test)), Array.from(depthWise.score(test)));
  assert.throws(() => kind.create(resolveParams(kind, { maxLeaves: 5000 })), /maxLeaves/);
});

Deno.test("gbdt: one row's score (the serving path, through the batch walk) equals a plain walk and the batch score", async () => {
  const { X, y } = tricky({ rows: 5000, cols: 6, seed: 23 });
  const det = await fitted(X, y, { maxDepth: 5 });
  const test = tricky({ rows: 500, cols: 6, seed: 24 }).X;
  const batch = det.score(test);
  for (let r = 0; r < test.rows; r++) {
    const row = test.data.subarray(r * 6, (r + 1) * 6);
    const one = det.scoreRow!(row);
    assert.equal(one, Math.fround(ensembleMargin(det.ensemble, row)), `row ${r}`);
    assert.equal(one, batch[r]);
  }
});

Deno.test("gbdt baseScore: the first margin is the fraud share's log-odds by default, or a given probability's; a bad one is refused", async () => {
  const { X, y } = tricky({ rows: 2000, cols: 5, seed: 21 });
  const kind = getKind("gbdt");
  const pos = y.reduce((s, v) => s + v, 0);
  const base = async (params: Record<string, unknown>) => {
    const det = kind.create(resolveParams(kind, { nEstimators: 3, ...params }));
    await det.fit(X, y, { seed: 0, quiet: true });
    return (det as unknown as { ensemble: Ensemble }).ensemble.base;
  };
  const prior = pos / y.length;
  assert.ok(Math.abs(await base({}) - Math.log(prior / (1 - prior))) < 1e-12);
  assert.equal(await base({ baseScore: 0.5 }), 0);
  assert.throws(() => kind.create(resolveParams(kind, { baseScore: 1 })), /baseScore/);
});
