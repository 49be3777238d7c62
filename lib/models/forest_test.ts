import assert from "node:assert/strict";
import { tricky } from "../testing/helpers.ts";
import { join } from "node:path";
import { getKind, resolveParams } from "./mod.ts";
import type { Matrix } from "../features/pipeline.ts";
import { rocAuc } from "../eval/metrics.ts";
import type { Detector } from "./detector.ts";
import { leafOf, type Tree } from "./trees.ts";

type Averaged = Detector & { trees: Tree[]; expectedValue: number };

async function fitted(name: string, X: Matrix, y: Int8Array, params: Record<string, unknown> = {}) {
  const kind = getKind(name);
  const det = kind.create(resolveParams(kind, params));
  await det.fit(X, y, { seed: 5, quiet: true });
  return det as Averaged;
}

for (const name of ["rf", "dt"]) {
  Deno.test(`${name}: learns the pattern; saved, reloaded and refitted identically; threads agree`, async () => {
    const { X, y } = tricky({ rows: 6000, cols: 5, seed: 1 });
    const params = name === "rf" ? { nEstimators: 30 } : {};
    const det = await fitted(name, X, y, params);
    const test = tricky({ rows: 3000, cols: 5, seed: 2 });
    const s = det.score(test.X);
    const rule = Float32Array.from({ length: test.X.rows }, (_, i) => {
      const f0 = test.X.data[i * 5], f1 = test.X.data[i * 5 + 1];
      return f0 > 1 && (f1 !== f1 || f1 > 0) ? 1 : 0;
    });
    // A single tree's leaves tie many scores: it is allowed a little more.
    const slack = name === "rf" ? 0.02 : 0.05;
    assert.ok(rocAuc(test.y, s) > rocAuc(test.y, rule) - slack, `AUC ${rocAuc(test.y, s)}`);
    for (let i = 0; i < s.length; i++) assert.ok(s[i] >= 0 && s[i] <= 1);
    const dir = await Deno.makeTempDir();
    const files = await det.save(dir);
    const back = await getKind(name).load(dir, det.params);
    assert.deepEqual(Array.from(back.score(test.X)), Array.from(s));
    for (const threads of [1, 2]) {
      const again = await fitted(name, X, y, { ...params, threads });
      const dir2 = await Deno.makeTempDir();
      await again.save(dir2);
      for (const f of files) {
        assert.deepEqual(await Deno.readFile(join(dir2, f)), await Deno.readFile(join(dir, f)), f);
      }
    }
  });
}

Deno.test("rf: TreeSHAP values plus the expected value equal the score; bad parameters name themselves", async () => {
  const { X, y } = tricky({ rows: 4000, cols: 6, seed: 3 });
  const det = await fitted("rf", X, y, { nEstimators: 15, maxDepth: 6, classWeight: "balanced" });
  const contrib = new Float32Array(6);
  const rows = tricky({ rows: 200, cols: 6, seed: 4 }).X;
  for (let r = 0; r < rows.rows; r++) {
    const row = rows.data.slice(r * 6, (r + 1) * 6);
    const s = det.scoreOne!(row, contrib);
    const mean = det.trees.reduce((a, t) => a + t.value[leafOf(t, row)], 0) / det.trees.length;
    assert.equal(s, Math.fround(mean));
    const sum = contrib.reduce((a, b) => a + b, 0) + det.expectedValue;
    assert.ok(Math.abs(sum - mean) < 1e-6, `row ${r}: ${sum} vs ${mean}`);
  }
  assert.throws(
    () => getKind("rf").create(resolveParams(getKind("rf"), { maxFeatures: "half" })),
    /rf: parameter "maxFeatures" must be "sqrt", "all" or a share in \(0, 1\], got "half"/,
  );
  assert.throws(
    () => getKind("dt").create(resolveParams(getKind("dt"), { classWeight: "auto" })),
    /dt: parameter "classWeight" must be "none", "balanced" or the legitimate class.s weight/,
  );
});

Deno.test("rf: a large batch split between two threads scores exactly as one thread, and as a plain walk", async () => {
  const { PARALLEL_MIN_ROWS } = await import("./split_score.ts");
  const { X, y } = tricky({ rows: PARALLEL_MIN_ROWS + 777, cols: 5, seed: 15 });
  const det = await fitted("rf", X, y, { nEstimators: 12, maxDepth: 9 });
  const one = det.score(X);
  assert.deepEqual(Array.from(await det.scoreMany!(X)), Array.from(one));
  for (let r = 0; r < 2000; r++) {
    const row = X.data.subarray(r * 5, (r + 1) * 5);
    let s = 0;
    for (const t of det.trees) s += t.value[leafOf(t, row)];
    assert.equal(one[r], Math.fround(s / det.trees.length), `row ${r}`);
  }
});

Deno.test("rf with undersample (balanced random forest, balanced bagging): each tree sees every fraud and ⌊fraud / r⌋ legitimate rows; seeded; a bad ratio is refused", async () => {
  const { X, y } = tricky({ rows: 4000, cols: 6, seed: 12 });
  const pos = y.reduce((s, v) => s + v, 0);
  const kind = getKind("rf");
  const fit = async (params: Record<string, unknown>) => {
    const det = kind.create(resolveParams(kind, { nEstimators: 20, maxDepth: 6, ...params }));
    await det.fit(X, y, { seed: 4, quiet: true });
    return det;
  };
  // A tree's root cover (hessian sum, no class weights) is its sample: bootstrap draws from
  // pos + ⌊pos / r⌋ rows, as many draws as rows.
  const avg = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
  const plain = avg((await fit({})).score(X));
  for (const r of [1, 0.25]) {
    const det = await fit({ undersample: r });
    const trees = (det as unknown as { trees: Tree[] }).trees;
    for (const t of trees) assert.equal(t.cover[0], pos + Math.floor(pos / r));
    // A balanced sample raises the scores (leaf fraud shares) above the plain forest's.
    const mean = avg(det.score(X));
    assert.ok(mean > 1.1 * plain, `r ${r}: mean score ${mean} against ${plain}`);
    const again = await fit({ undersample: r });
    assert.deepEqual(again.score(X), det.score(X));
  }
  const all = await fit({ undersample: 1, maxFeatures: "all" }); // balanced bagging
  assert.ok(rocAuc(y, all.score(X)) > 0.8);
  assert.throws(() => kind.create(resolveParams(kind, { undersample: 2 })), /undersample/);
});

Deno.test("classWeight as the legitimate class's weight (the Handbook's cost-sensitive grid): a tree's cover and leaf values weigh legitimate rows by it; logreg and dt refuse a bad weight", async () => {
  const { X, y } = tricky({ rows: 3000, cols: 5, seed: 13 });
  const pos = y.reduce((s, v) => s + v, 0), neg = y.length - pos;
  const kind = getKind("dt");
  const det = kind.create(resolveParams(kind, { maxDepth: 3, classWeight: 0.1 }));
  await det.fit(X, y, { seed: 0, quiet: true });
  const t = (det as unknown as { trees: Tree[] }).trees[0];
  assert.ok(Math.abs(t.cover[0] - (pos + 0.1 * neg)) < 1e-6, `root cover ${t.cover[0]}`);
  // The root's value is the weighted fraud share.
  assert.ok(Math.abs(t.value[0] - pos / (pos + 0.1 * neg)) < 1e-9, `root value ${t.value[0]}`);
  for (const name of ["dt", "logreg"]) {
    const k = getKind(name);
    assert.throws(() => k.create(resolveParams(k, { classWeight: "heavy" })), /classWeight/);
    assert.throws(() => k.create(resolveParams(k, { classWeight: 0 })), /classWeight/);
  }
});
