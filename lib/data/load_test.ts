import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { loadDataset, loadDatasetBytes, parseCsvHeader } from "./load.ts";
import { loadSpec } from "./datasets.ts";
import { type DatasetSpec, validateSpec } from "./spec.ts";
import { UserError } from "../util/errors.ts";
import { runTaskFile, tempFile } from "../testing/helpers.ts";

const SPEC: DatasetSpec = { name: "t", label: "y", numeric: ["a"], categorical: ["c"] };
const enc = new TextEncoder();

function load(text: string, spec: DatasetSpec = SPEC) {
  return loadDatasetBytes(enc.encode(text), spec, { name: "t.csv" });
}

function loadError(text: string, spec: DatasetSpec = SPEC): string {
  try {
    load(text, spec);
  } catch (e) {
    assert.ok(e instanceof UserError, `expected a UserError, got ${e}`);
    return e.message;
  }
  throw new Error("expected a UserError");
}

Deno.test("parseCsvHeader: quotes, embedded commas, CRLF, BOM", () => {
  assert.deepEqual(parseCsvHeader('"Time","V1",x\r\n1,2,3'), ["Time", "V1", "x"]);
  assert.deepEqual(parseCsvHeader('\ufeffa,"b,c","d""e"\n'), ["a", "b,c", 'd"e']);
  assert.deepEqual(parseCsvHeader(" a ,b "), [" a ", "b "]);
});

Deno.test("load: CRLF, quoted header, empty field = missing, spaces are not missing", () => {
  const ds = load('"y","a","c"\r\n0,1.5,x\r\n1,,\r\n"0",2e3," "\r\n');
  assert.equal(ds.frame.height, 3);
  assert.deepEqual(ds.frame.getColumn("y").toArray(), [0, 1, 0]);
  assert.deepEqual(ds.frame.getColumn("a").toArray(), [1.5, null, 2000]);
  assert.deepEqual(ds.frame.getColumn("c").toArray(), ["x", null, " "]);
});

Deno.test("load: labels accept 0/1 and true/false", () => {
  const ds = load("y,a,c\ntrue,1,x\nFalse,2,y\n1,3,z\n");
  assert.deepEqual(ds.frame.getColumn("y").toArray(), [1, 0, 1]);
});

Deno.test("load: infers numeric and categorical columns when the spec omits them", () => {
  const ds = load("id,y,n,s,t\n1,0,1.5,a,2025-01-01T00:00:00\n2,1,2,b,2025-01-02T10:00:00\n", {
    name: "t",
    label: "y",
    id: "id",
    time: "t",
  });
  assert.deepEqual(ds.spec.numeric, ["n"]);
  assert.deepEqual(ds.spec.categorical, ["s"]);
  assert.equal(ds.frame.getColumn("t").dtype.variant, "Datetime");
  assert.deepEqual(ds.frame.getColumn("t").cast(pl.Int64).toArray(), [
    Date.UTC(2025, 0, 1),
    Date.UTC(2025, 0, 2, 10),
  ]);
});

Deno.test("load: optional spec columns join when present", async () => {
  const spec = await loadSpec("payment_fraud");
  const header = "accountAgeDays,numItems,localTime,paymentMethod,paymentMethodAgeDays,label";
  const plain = load(`${header}\n1,1,4.7,paypal,0.5,0\n`, spec);
  assert.deepEqual(plain.spec.categorical, ["paymentMethod"]);
  const extra = load(`${header},Category,isWeekend\n1,1,4.7,paypal,0.5,0,shopping,1\n`, spec);
  assert.deepEqual(extra.spec.categorical, ["paymentMethod", "Category"]);
  assert.ok(extra.spec.numeric.includes("isWeekend"));
});

Deno.test("load: a spec's drop columns may be absent; a row with more fields than the header names its line", () => {
  const spec: DatasetSpec = { ...SPEC, drop: ["scenario"] };
  assert.equal(load("y,a,c\n0,1,x\n1,2,y\n", spec).frame.height, 2);
  assert.equal(load("y,a,c,scenario\n0,1,x,s1\n1,2,y,s2\n", spec).frame.height, 2);
  assert.match(loadError("y,a,c\n0,1,x\n1,2,y,9\n"), /t\.csv: row 2 \(line 3\) has 4 fields/);
  // Quoted commas and line breaks are data, not fields or records.
  assert.equal(load('y,a,c\n0,1,"x,\ny"\n1,2,"a,b"\n').frame.height, 2);
  assert.match(
    loadError('y,a,c\n0,1,"x,\ny"\n1,2,b,\n'),
    /row 2 \(line 4\) has 4 fields, the header 3/,
  );
});

Deno.test("load: each bad input names the file, column and row", async () => {
  assert.match(loadError(""), /t\.csv: empty file/);
  assert.match(loadError("y,a,c\n"), /t\.csv: no data rows/);
  assert.match(loadError("y,a\n0,1\n"), /t\.csv: spec "t" needs column "c" not in the header/);
  assert.match(
    loadError("y,a,c,a\n0,1,x,2\n"),
    /duplicate column name "a" in header \(columns 2 and 4\)/,
  );
  assert.match(
    loadError("y,a,c\n0,1,x\n2,1,x\n"),
    /column "y", row 2 \(line 3\): label "2" is not 0\/1/,
  );
  assert.match(loadError("y,a,c\n0,1,x\n,1,x\n"), /column "y", row 2 \(line 3\): label is missing/);
  assert.match(
    loadError("y,a,c\n0,1,x\n1,abc,x\n"),
    /column "a", row 2 \(line 3\): "abc" is not a number/,
  );
  assert.match(
    loadError("y,a,c\n0,1,\n1,2,\n"),
    /column "c" is entirely missing \(all 2 rows empty\)/,
  );
  await assert.rejects(
    loadDataset("/nonexistent/x.csv", SPEC),
    /\/nonexistent\/x.csv: no such file/,
  );
  await assert.rejects(loadDataset("x.txt", SPEC), /unknown file type ".txt"/);
});

Deno.test("load: a Parquet file loads like its CSV twin", async () => {
  const frame = pl.DataFrame({ y: [0, 1, 0], a: [1.5, null, 3], c: ["x", "y", null] });
  const path = await tempFile(new Uint8Array(), ".parquet");
  frame.writeParquet(path);
  const pq = await loadDataset(path, SPEC);
  const csv = load("y,a,c\n0,1.5,x\n1,,y\n0,3,\n");
  assert.deepEqual(pq.frame.getColumn("a").toArray(), csv.frame.getColumn("a").toArray());
  assert.deepEqual(pq.frame.getColumn("c").toArray(), csv.frame.getColumn("c").toArray());
  assert.deepEqual(pq.frame.getColumn("y").toArray(), csv.frame.getColumn("y").toArray());
  await Deno.remove(path);
});

Deno.test("data:info: a user error prints one line and exits with code 2", async () => {
  const bad = await tempFile("y,a,c\n0,1,x\n1,oops,y\n");
  const cases: [string[], RegExp][] = [
    [["--data", bad, "--spec", "nope"], /unknown spec "nope"/],
    [["--data", "/nonexistent.csv", "--spec", "creditcard"], /no such file/],
    [["--data", bad, "--spec", "creditcard"], /needs columns/],
    [["--spec", "creditcard"], /--data FILE is required/],
    [["--data", bad, "--spec", "creditcard", "--bogus"], /Unknown option '--bogus'/],
  ];
  const specPath = await tempFile(JSON.stringify(SPEC), ".json");
  cases.push([
    ["--data", bad, "--spec", specPath],
    /column "a", row 2 \(line 3\): "oops" is not a number/,
  ]);
  const files: string[] = [bad, specPath];
  const badFiles: [string, RegExp][] = [
    ["", /empty file/],
    ["y,a,c,a\n0,1,x,2\n", /duplicate column name "a"/],
    ["y,a,c\n0,1,x\nyes,1,x\n", /column "y", row 2 \(line 3\): label "yes" is not 0\/1/],
    ["y,a,c\n0,,x\n1,,y\n", /column "a" is entirely missing/],
    ["y,a,c\n0,1,x\n1,2,y,\n", /row 2 \(line 3\) has 4 fields, the header 3/],
  ];
  for (const [text, pattern] of badFiles) {
    const path = await tempFile(text);
    files.push(path);
    cases.push([["--data", path, "--spec", specPath], pattern]);
  }
  for (const [args, pattern] of cases) {
    const r = await runTaskFile("data_info", args);
    assert.equal(r.code, 2, `exit code for ${args.join(" ")}: ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, `one line for ${args.join(" ")}, got:\n${r.stderr}`);
    assert.match(lines[0], /^error: /);
    assert.match(lines[0], pattern);
  }
  for (const f of files) await Deno.remove(f);
});

Deno.test("load: a spec's range clamps a numeric column; a bad range is refused naming it", () => {
  const spec: DatasetSpec = { ...SPEC, range: { a: [0, 10] } };
  const ds = load("y,a,c\n0,5,x\n1,1e308,y\n0,-3,x\n", spec);
  assert.deepEqual(ds.frame.getColumn("a").toArray(), [5, 10, 0]);
  assert.match(
    loadError("y,a,c\n0,5,x\n", { ...SPEC, range: { c: [0, 1] } }),
    /range given for "c", which is not a numeric column/,
  );
  for (const range of [{ a: [1, 1] }, { a: [0] }, { a: [0, "9"] }, { a: "0..1" }, [0, 1]]) {
    assert.throws(
      () => validateSpec({ ...SPEC, range }, "s.json"),
      /s\.json: (spec key "range"|range of "a")/,
      JSON.stringify(range),
    );
  }
  assert.deepEqual(validateSpec({ ...SPEC, range: { a: [0, 10] } }, "s.json").range, {
    a: [0, 10],
  });
  // A column named like an Object.prototype property has no inherited range.
  const proto = load("y,constructor,c\n0,5,x\n1,7,y\n", {
    name: "t",
    label: "y",
    numeric: ["constructor"],
    categorical: ["c"],
    range: {},
  });
  assert.deepEqual(proto.frame.getColumn("constructor").toArray(), [5, 7]);
});

Deno.test("load: text times with Z or an offset read as UTC; a time that is no datetime names its row", async () => {
  const { timesMs } = await import("../features/velocity.ts");
  const spec: DatasetSpec = { name: "t", label: "y", time: "at", numeric: ["a"], categorical: [] };
  const ds = load(
    "y,a,at\n0,1,2025-01-01T00:00:00.000Z\n1,2,2025-01-01T03:00:00+02:00\n0,3,2025-01-02T00:00:00Z\n",
    spec,
  );
  assert.deepEqual(Array.from(timesMs(ds.frame, "at")), [
    Date.UTC(2025, 0, 1),
    Date.UTC(2025, 0, 1, 1),
    Date.UTC(2025, 0, 2),
  ]);
  assert.match(
    loadError("y,a,at\n0,1,yesterday\n", spec),
    /column "at", row 1 \(line 2\): "yesterday" is not a datetime/,
  );
});
