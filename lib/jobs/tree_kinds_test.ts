import assert from "node:assert/strict";
import { Rng } from "../util/rng.ts";
import { runTaskFile, simFile, tempFile } from "../testing/helpers.ts";
import { trainRun } from "./train.ts";

const TREE_KINDS: Record<string, Record<string, number>> = {
  gbdt: { nEstimators: 30, maxDepth: 4 },
  rf: { nEstimators: 15, maxDepth: 8 },
  dt: { maxDepth: 6 },
};

/** Rows shaped like the ULB credit card data: Time, V1..V28, Amount, Class. */
function creditcardCsv(rng: Rng, rows: number): string {
  const head = ["Time", ...Array.from({ length: 28 }, (_, i) => `V${i + 1}`), "Amount", "Class"];
  const lines = [head.join(",")];
  for (let i = 0; i < rows; i++) {
    const v = Array.from({ length: 28 }, () => rng.normal());
    const fraud = v[0] > 1.2 && v[1] > 0 ? 1 : 0;
    lines.push(
      [i * 20, ...v.map((x) => x.toFixed(4)), (rng.random() * 200).toFixed(2), fraud].join(","),
    );
  }
  return lines.join("\n") + "\n";
}

/** Rows shaped like the payment fraud data. */
function paymentCsv(rng: Rng, rows: number): string {
  const lines = ["accountAgeDays,numItems,localTime,paymentMethod,paymentMethodAgeDays,label"];
  const methods = ["creditcard", "paypal", "storecredit"];
  for (let i = 0; i < rows; i++) {
    const age = Math.floor(rng.random() * 2000), method = methods[Math.floor(rng.random() * 3)];
    const fraud = age < 100 && method === "paypal" ? 1 : 0;
    lines.push(
      [
        age,
        1 + Math.floor(rng.random() * 5),
        (rng.random() * 24).toFixed(3),
        method,
        (rng.random() * 500).toFixed(1),
        fraud,
      ].join(","),
    );
  }
  return lines.join("\n") + "\n";
}

/** A user's own table: a categorical column with missing values, numbers with missing values. */
function userCsv(rng: Rng, rows: number): string {
  const lines = ["ref,at,card,merchant_type,amount,risk,chargeback"];
  const types = ["grocery", "travel", "gaming", ""];
  const start = Date.UTC(2025, 0, 1);
  for (let i = 0; i < rows; i++) {
    const type = types[Math.floor(rng.random() * 4)];
    const amount = rng.random() < 0.1 ? "" : (rng.random() * 300).toFixed(2);
    const riskValue = rng.random();
    const risk = rng.random() < 0.3 ? "" : riskValue.toFixed(3);
    const fraud = type === "gaming" && (risk === "" || riskValue > 0.6) ? 1 : 0;
    const at = new Date(start + i * 600_000).toISOString();
    lines.push([`r${i}`, at, `c${i % 97}`, type, amount, risk, fraud].join(","));
  }
  return lines.join("\n") + "\n";
}

const USER_SPEC = {
  name: "mytable",
  label: "chargeback",
  id: "ref",
  time: "at",
  amount: "amount",
  entities: ["card"],
  numeric: ["amount", "risk"],
  categorical: ["merchant_type"],
};

Deno.test("tree kinds train on every built-in spec and on a user spec with categorical columns and missing values", async () => {
  const rng = new Rng(8);
  const root = await Deno.makeTempDir();
  const cases = [
    { spec: "txsim", data: await simFile() },
    { spec: "creditcard", data: await tempFile(creditcardCsv(rng, 3000)) },
    { spec: "payment_fraud", data: await tempFile(paymentCsv(rng, 3000)) },
    {
      spec: await tempFile(JSON.stringify(USER_SPEC), ".json"),
      data: await tempFile(userCsv(rng, 4000)),
    },
  ];
  for (const c of cases) {
    for (const [model, params] of Object.entries(TREE_KINDS)) {
      const r = await trainRun({ ...c, model, params, seed: 1 }, { root, quiet: true });
      const what = `${model} on ${c.spec.endsWith(".json") ? "the user spec" : c.spec}`;
      assert.ok(r.test.positives > 0, `${what}: test rows hold fraud`);
      assert.ok(r.test.rocAuc > 0.8, `${what}: AUC ${r.test.rocAuc}`);
    }
  }
  // The user spec with missing numbers left to the trees (no imputation): still learned.
  const user = cases[3];
  for (const model of Object.keys(TREE_KINDS)) {
    const r = await trainRun(
      { ...user, model, params: TREE_KINDS[model], features: { impute: false }, seed: 1 },
      { root, quiet: true },
    );
    assert.equal(r.pipeline.impute, false);
    assert.ok(r.test.rocAuc > 0.8, `${model} without imputation: AUC ${r.test.rocAuc}`);
  }
});

Deno.test("deno task train --model gbdt on a user spec; a parameter out of range names itself and exits 2", async () => {
  const rng = new Rng(9);
  const spec = await tempFile(JSON.stringify(USER_SPEC), ".json");
  const data = await tempFile(userCsv(rng, 2000));
  const env = {
    FRAUDLAB_ARTIFACTS: await Deno.makeTempDir(),
    FRAUDLAB_REPORTS: await Deno.makeTempDir(),
  };
  const ok = await runTaskFile("train", [
    "--data",
    data,
    "--spec",
    spec,
    "--model",
    "gbdt",
    "--param",
    "nEstimators=20",
    "--json",
  ], { env });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout.trim().split("\n").at(-1)!).model, "gbdt");
  const bad = await runTaskFile("train", [
    "--data",
    data,
    "--spec",
    spec,
    "--model",
    "gbdt",
    "--param",
    "maxDepth=40",
  ], { env });
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split("\n").length, 1);
  assert.match(bad.stderr, /maxDepth/);
  assert.match(bad.stderr, /20/);
});
