import assert from "node:assert/strict";
import { loadDatasetBytes } from "../data/load.ts";
import { simulateTransactions } from "../data/simulate.ts";
import { TXSIM_SPEC } from "../data/datasets.ts";
import { writeFrame } from "../data/write.ts";
import {
  featureFrame,
  fitPipeline,
  MISSING_CATEGORY,
  pipelineFromJSON,
  transformFrame,
  transformRecord,
  velocityOptionsFor,
} from "./pipeline.ts";
import { resolveRunConfig } from "../registry/config.ts";

const CSV = [
  "label,a,b,cat",
  "0,1,10,x",
  "0,,20,y",
  "1,3,,",
  "0,5,40,x",
  "1,100,50,z",
].join("\n");

function csvDataset() {
  return loadDatasetBytes(new TextEncoder().encode(CSV), {
    name: "t",
    label: "label",
    numeric: ["a", "b"],
    categorical: ["cat"],
  }, { name: "t.csv" });
}

Deno.test("pipeline: medians, std, one-hot fitted on training rows only", () => {
  const ds = csvDataset();
  const ff = featureFrame(ds, null);
  // Fit on rows 0..3 only; row 4 (a=100, cat=z) must not influence anything.
  const fp = fitPipeline(ff, [0, 1, 2, 3], { standardize: true });
  const a = fp.numeric.find((s) => s.name === "a")!;
  assert.equal(a.median, 3); // non-missing train values 1, 3, 5
  assert.equal(fp.numeric.find((s) => s.name === "b")!.median, 20); // 10, 20, 40
  assert.deepEqual(fp.categorical[0].categories, [MISSING_CATEGORY, "x", "y"]);
  assert.deepEqual(fp.columns, ["a", "b", `cat=${MISSING_CATEGORY}`, "cat=x", "cat=y"]);
  // Imputed a over train = [1, 3, 3, 5]: mean 3, population std sqrt(2).
  assert.equal(a.mean, 3);
  assert.ok(Math.abs(a.std - Math.sqrt(2)) < 1e-12);
  const m = transformFrame(fp, ff);
  // Row 4: unseen category z → all zeros; a standardized with train stats.
  const row4 = Array.from(m.data.subarray(4 * m.cols, 5 * m.cols));
  assert.ok(Math.abs(row4[0] - Math.fround((100 - 3) / Math.sqrt(2))) < 1e-4);
  assert.deepEqual(row4.slice(2), [0, 0, 0]);
  // Row 2: missing b → median 20; missing cat → __missing__ column.
  const row2 = Array.from(m.data.subarray(2 * m.cols, 3 * m.cols));
  assert.equal(row2[2], 1);
});

Deno.test("pipeline: impute false keeps missing numbers NaN in frames and records; categorical false drops one-hots", () => {
  const ff = featureFrame(csvDataset(), null);
  const fp = fitPipeline(ff, undefined, { impute: false, categorical: false });
  assert.deepEqual(fp.columns, ["a", "b"]);
  const m = transformFrame(fp, ff);
  assert.ok(Number.isNaN(m.data[1 * 2 + 0])); // row 1: a missing
  assert.ok(Number.isNaN(m.data[2 * 2 + 1])); // row 2: b missing
  assert.equal(m.data[0], 1);
  const rec = transformRecord(fp, { a: null, b: 20, cat: "x" });
  assert.ok(Number.isNaN(rec[0]));
  assert.equal(rec[1], 20);
  // Imputing (the default) fills the medians; a kind that cannot take NaN refuses impute false.
  assert.equal(transformRecord(fitPipeline(ff, undefined), { a: null, b: 20, cat: "x" })[0], 4); // median of 1, 3, 5, 100
  assert.throws(
    () => resolveRunConfig({ data: "x.csv", model: "logreg", features: { impute: false } }),
    /features\.impute: logreg needs missing values imputed \(only gbdt, rf, dt take them/,
  );
  assert.equal(
    resolveRunConfig({ data: "x.csv", model: "rf", features: { impute: false } }).features.impute,
    false,
  );
});

Deno.test("pipeline: a constant training column gets std 1 and log1p keeps order", () => {
  const ds = csvDataset();
  const ff = featureFrame(ds, null);
  const fp = fitPipeline(ff, [0, 3], { standardize: true, log1p: ["b"] });
  const a = fp.numeric.find((s) => s.name === "a")!;
  assert.equal(a.std, 2); // a is 1 and 5: population std 2
  const fp2 = fitPipeline(ff, [0], { standardize: true });
  assert.equal(fp2.numeric[0].std, 1);
  assert.equal(fp2.numeric[0].mean, 1);
  assert.ok(fp.numeric.find((s) => s.name === "b")!.log1p);
  assert.throws(() => fitPipeline(ff, [0], { log1p: ["cat"] }), /not a numeric feature/);
});

Deno.test("pipeline: one record and the same frame row give identical numbers (with velocity)", async () => {
  const frame = simulateTransactions({ customers: 150, days: 20, seed: 5, quiet: true });
  const path = await Deno.makeTempFile({ suffix: ".parquet" });
  writeFrame(frame, path);
  const ds = loadDatasetBytes(await Deno.readFile(path), TXSIM_SPEC, {
    name: path,
    format: "parquet",
  });
  const config = { standardize: true, log1p: ["amount"] };
  const ff = featureFrame(ds, velocityOptionsFor(ds.spec, config));
  const rows = Array.from({ length: Math.floor(ff.frame.height / 2) }, (_, i) => i);
  const fp = pipelineFromJSON(JSON.parse(JSON.stringify(fitPipeline(ff, rows, config))));
  assert.ok(fp.columns.includes("customer_id_n_7d"));
  const m = transformFrame(fp, ff);
  const records = ff.frame.toRecords() as Record<string, unknown>[];
  let checked = 0;
  for (let i = 0; i < records.length; i += 97) {
    // JSON round trip: what the server receives.
    const rec = JSON.parse(
      JSON.stringify(records[i], (_k, v) => (typeof v === "bigint" ? Number(v) : v)),
    );
    const v = transformRecord(fp, rec);
    assert.deepEqual(
      Array.from(v),
      Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)),
      `row ${i}`,
    );
    checked++;
  }
  assert.ok(checked > 20);
  assert.throws(
    () => transformRecord(fp, { ...records[0], amount: "12" }),
    /field "amount": expected a number/,
  );
  await Deno.remove(path);
});

Deno.test("pipeline: transform names a missing input column", () => {
  const ds = csvDataset();
  const ff = featureFrame(ds, null);
  const fp = fitPipeline(ff, undefined, {});
  assert.throws(
    () => transformFrame(fp, { frame: ds.frame.drop("b") }),
    /lacks numeric feature column "b"/,
  );
});

Deno.test("medianOf matches sorting, with ties, NaN and even counts", async () => {
  const { medianOf } = await import("./pipeline.ts");
  const { Rng } = await import("../util/rng.ts");
  const r = new Rng(8);
  for (let t = 0; t < 200; t++) {
    const n = 1 + (t % 10 === 0 ? 5000 + r.int(3000) : r.int(60));
    const a = Float64Array.from(
      { length: n },
      () => (r.random() < 0.1 ? NaN : t % 3 ? r.int(10) - 5 : r.normal() * 1e3),
    );
    const present = Array.from(a).filter((v) => !Number.isNaN(v)).sort((x, y) => x - y);
    const m = present.length >> 1;
    const want = present.length === 0
      ? 0
      : present.length % 2
      ? present[m]
      : (present[m - 1] + present[m]) / 2;
    assert.equal(medianOf(a), want, `case ${t} (n ${n})`);
  }
});

Deno.test("fitOnRows: iforest transforms only its sample and fits the same forest", async () => {
  const { fitOnRows, getKind } = await import("../models/mod.ts");
  const { labelsOf } = await import("../data/frame.ts");
  const frame = simulateTransactions({ customers: 200, days: 20, seed: 8, quiet: true });
  const path = await Deno.makeTempFile({ suffix: ".parquet" });
  writeFrame(frame, path);
  const ds = loadDatasetBytes(await Deno.readFile(path), TXSIM_SPEC, {
    name: path,
    format: "parquet",
  });
  await Deno.remove(path);
  const ff = featureFrame(ds, velocityOptionsFor(ds.spec, {}));
  const labels = labelsOf(ds);
  const rows = Array.from({ length: ff.frame.height }, (_, i) => i);
  const fp = fitPipeline(ff, rows, {});
  const kind = getKind("iforest");
  const params = { trees: 20, maxSamples: 64 };
  const viaSample = await fitOnRows({ kind, params }, { pipeline: fp, ff, rows, labels }, {
    seed: 4,
    quiet: true,
  });
  const negatives = rows.filter((i) => labels[i] === 0);
  assert.equal(viaSample.fitRows, negatives.length);
  assert.ok(viaSample.transformedRows <= 20 * 64, `${viaSample.transformedRows} rows transformed`);
  const direct = kind.create(params);
  await direct.fit(transformFrame(fp, ff, { rows: negatives }), undefined, {
    seed: 4,
    quiet: true,
  });
  const X = transformFrame(fp, ff);
  assert.deepEqual(Array.from(viaSample.detector.score(X)), Array.from(direct.score(X)));
});
