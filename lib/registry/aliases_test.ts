import assert from "node:assert/strict";
import { oneRun, runTaskFile, simFile, TIME_SPLIT } from "../testing/helpers.ts";
import { join } from "node:path";
import { loadRun } from "./runs.ts";
import { loadRunRef, promote, readRegistry, resolveModelRef } from "./aliases.ts";
import { promoteIfBetter, trainRun } from "../jobs/train.ts";

Deno.test("registry: a run with one byte changed is refused; promote keeps history; promote-if-better", async () => {
  const data = await simFile();
  const root = await Deno.makeTempDir();
  const good = await trainRun({ data, model: "logreg", split: TIME_SPLIT }, { root, quiet: true });
  const p1 = await promote(good.id, { root });
  assert.equal(p1.version.version, 1);
  assert.equal((await loadRunRef("champion", root)).id, good.id);
  assert.equal((await loadRunRef("txsim@1", root)).id, good.id);
  // promote-if-better: a weaker model (iforest) must not replace logreg on AP.
  const weak = await trainRun({ data, model: "iforest", split: TIME_SPLIT }, { root, quiet: true });
  const d = await promoteIfBetter(weak, { metric: "averagePrecision", margin: 0 }, { root });
  assert.equal(d.promoted, false, d.reason);
  assert.equal(d.championRun, good.id);
  // A huge negative margin is not allowed, but the same model retrained with margin 0 is not better either.
  const again = await trainRun({ data, model: "logreg", split: TIME_SPLIT }, { root, quiet: true });
  assert.equal(
    (await promoteIfBetter(again, { metric: "averagePrecision", margin: 0 }, { root })).promoted,
    false,
  );
  await promote(weak.id, { root, alias: "challenger" });
  const reg = await readRegistry(root);
  assert.deepEqual({ ...reg.models.txsim.aliases }, { champion: 1, challenger: 2 });
  assert.equal(reg.models.txsim.history.length, 2);

  // Tamper: flip one byte of the model file.
  const modelFile = join(good.dir, "model", "logreg.json");
  const bytes = await Deno.readFile(modelFile);
  bytes[10] ^= 1;
  await Deno.writeFile(modelFile, bytes);
  await assert.rejects(
    () => loadRun(good.id, root),
    /run refused: .*logreg\.json does not match its checksum/,
  );
  await assert.rejects(() => loadRunRef("champion", root), /run refused/);
  await assert.rejects(() => promote(good.id, { root }), /run refused/);
  // An extra file is refused as well.
  await Deno.writeTextFile(join(weak.dir, "extra.txt"), "x");
  await assert.rejects(() => loadRun(weak.id, root), /extra\.txt is not in the manifest/);
  await Deno.remove(root, { recursive: true });
  await Deno.remove(data);
});

Deno.test("registry: promotions at once never lose a version (in-process and across processes)", async () => {
  const { root, run } = await oneRun();
  for (let trial = 0; trial < 5; trial++) {
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => promote(run.id, { root, model: `m${trial}-${i}` })),
    );
  }
  const reg = await readRegistry(root);
  assert.equal(Object.keys(reg.models).length, 40, "every promotion kept");
  // Four `deno task promote` processes at once, each adding a model.
  const env = { FRAUDLAB_ARTIFACTS: root };
  const outs = await Promise.all(
    Array.from(
      { length: 4 },
      (_, i) => runTaskFile("promote", [run.id, "--model", `p${i}`], { env }),
    ),
  );
  for (const o of outs) assert.equal(o.code, 0, o.stderr);
  assert.equal(Object.keys((await readRegistry(root)).models).length, 44);
});

Deno.test("registry: names are checked, inherited properties are never looked up, refs take NAME@VERSION", async () => {
  const { root, run } = await oneRun();
  const env = { FRAUDLAB_ARTIFACTS: root };
  await promote(run.id, { root, model: "pay" });
  // An alias named like an Object.prototype property is a plain new alias.
  const r = await runTaskFile("promote", [run.id, "--model", "pay", "--alias", "constructor"], {
    env: env,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /pay v1 \(run .*\) is now constructor\n$/);
  await assert.rejects(
    () => resolveModelRef("pay@toString", root),
    /no version or alias "toString"|not a model reference/,
  );
  await assert.rejects(() => resolveModelRef("hasOwnProperty", root), /no model has the alias/);
  await assert.rejects(
    () => resolveModelRef("constructor@champion", root),
    /no registered model "constructor"/,
  );
  for (
    const [args, re] of [
      [["--model", "Pay!"], /--model: "Pay!" is not a valid model name/],
      [["--model", "pay", "--alias", "a b"], /--alias: "a b" is not a valid alias/],
      [["--model", "pay", "--alias", "__proto__"], /not a valid alias/],
    ] as const
  ) {
    const bad = await runTaskFile("promote", [run.id, ...args], { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, re);
    assert.equal(bad.stderr.trim().split("\n").length, 1);
  }
  // promote takes NAME@VERSION and NAME@ALIAS too.
  const byVersion = await runTaskFile("promote", ["pay@1", "--alias", "challenger"], { env });
  assert.equal(byVersion.code, 0, byVersion.stderr);
  assert.match(byVersion.stdout, /pay v1 .* is now challenger/);
  const byAlias = await runTaskFile("promote", ["pay@challenger", "--alias", "shadow"], {
    env: env,
  });
  assert.equal(byAlias.code, 0, byAlias.stderr);
  const reg = await readRegistry(root);
  assert.deepEqual({ ...reg.models.pay.aliases }, {
    champion: 1,
    constructor: 1,
    challenger: 1,
    shadow: 1,
  });
});
