import assert from "node:assert/strict";
import { blobs } from "../testing/helpers.ts";
import { join } from "node:path";
import { getKind, kindNames, resolveParams } from "./mod.ts";
import { rocAuc } from "../eval/metrics.ts";

async function filesOf(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) {
    out[e.name] = Array.from(await Deno.readFile(join(dir, e.name))).join(",");
  }
  return out;
}

Deno.test("every kind: fits, ranks shifted rows higher, saves and reloads identical scores, deterministic", async () => {
  assert.deepEqual(kindNames().sort(), ["autoencoder", "dt", "gbdt", "iforest", "logreg", "rf"]);
  const { X, y } = blobs({ rows: 3000, cols: 6, seed: 1 });
  for (const name of kindNames()) {
    const kind = getKind(name);
    const params = resolveParams(
      kind,
      name === "autoencoder"
        ? { epochs: 4 }
        : name === "gbdt"
        ? { nEstimators: 30 }
        : name === "rf"
        ? { nEstimators: 20 }
        : {},
    );
    const saved: Record<string, string>[] = [];
    let firstScores: Float32Array | null = null;
    for (let rep = 0; rep < 2; rep++) {
      const det = kind.create(params);
      await det.fit(X, y, { seed: 11, quiet: true });
      const scores = det.score(X);
      assert.ok(rocAuc(y, scores) > 0.75, `${name} AUC ${rocAuc(y, scores)}`);
      const dir = await Deno.makeTempDir();
      await det.save(dir);
      saved.push(await filesOf(dir));
      const back = await kind.load(dir, params);
      assert.deepEqual(Array.from(back.score(X)), Array.from(scores), `${name} reload`);
      if (firstScores) {
        assert.deepEqual(Array.from(scores), Array.from(firstScores), `${name} rerun`);
      }
      firstScores = scores;
      const contrib = det.explain(X.data.subarray(0, X.cols));
      assert.equal(contrib.length, X.cols);
      await Deno.remove(dir, { recursive: true });
    }
    assert.deepEqual(saved[0], saved[1], `${name}: same seed must give byte-identical model files`);
  }
});

Deno.test("kinds: unknown kind and bad parameters are user errors naming them", () => {
  assert.throws(() => getKind("forest"), /unknown model kind "forest" \(known: .*iforest/);
  const k = getKind("iforest");
  assert.throws(() => resolveParams(k, { depth: 3 }), /unknown parameter "depth"/);
  assert.throws(() => resolveParams(k, { trees: "many" }), /"trees" must be a number/);
  assert.throws(
    () => k.create(resolveParams(k, { trees: 0 })),
    /"trees" must be a whole number in \[1/,
  );
  assert.throws(
    () => getKind("autoencoder").create(resolveParams(getKind("autoencoder"), { hidden: "16-x" })),
    /hidden/,
  );
  assert.throws(
    () => getKind("logreg").create(resolveParams(getKind("logreg"), { classWeight: "auto" })),
    /classWeight/,
  );
});
