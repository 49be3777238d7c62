import assert from "node:assert/strict";
import { Ajv } from "ajv";
import { exampleRun } from "../testing/examples.ts";
import { Rng } from "../util/rng.ts";
import { datasetRecords } from "./records.ts";
import {
  EVENT_TIME_FORMAT,
  inputSchema,
  InvalidInput,
  isEventTime,
  jsonSchemaOf,
  validateRecord,
} from "./schema.ts";

/** A record as the wire delivers it: JSON text parsed (own properties only, no undefined). */
function wire(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

Deno.test("the record's JSON Schema and the validator agree on 20,000 random and hostile records", async () => {
  const run = await exampleRun();
  const schema = inputSchema(run.ds.spec, run.pipeline);
  const ajv = new Ajv({ allErrors: true, ownProperties: true, strict: false });
  ajv.addFormat(EVENT_TIME_FORMAT, { type: "string", validate: isEventTime });
  const check = ajv.compile(jsonSchemaOf(schema));
  const valid = datasetRecords(run.ds, schema).slice(0, 500);
  const rng = new Rng(11);
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)];
  const names = schema.fields.map((f) => f.name);
  const hostile: unknown[] = [
    null,
    true,
    0,
    -0,
    1.5,
    2 ** 53,
    2 ** 60,
    -(2 ** 53),
    1e308,
    -1e308,
    5e-324,
    "",
    "x".repeat(300),
    "2025-02-30T00:00:00Z",
    "1899-12-31",
    "2200-01-01",
    "2025-03-02T14:05:00+01:00",
    "2025-03-02 14:05",
    "2025-3-2",
    "not a time",
    [],
    [1],
    {},
    { a: 1 },
    "12",
    "1e3",
    7.0e9,
  ];
  const mutate = (rec: Record<string, unknown>): unknown => {
    const r: Record<string, unknown> = { ...rec };
    const n = 1 + rng.int(3);
    for (let k = 0; k < n; k++) {
      const op = rng.int(10);
      if (op < 5) r[pick(names)] = pick(hostile);
      else if (op < 7) delete r[pick(names)];
      else if (op < 8) r[pick(["extra", "constructor", "toString", "__proto__", "label"])] = 1;
      else if (op < 9) r[pick(names)] = rng.random() * 1e6 - 5e5;
      else r[pick(names)] = String(rng.int(1000));
    }
    return rng.random() < 0.02 ? pick([[r], "text", 42, null]) : r;
  };
  let accepted = 0, refused = 0;
  for (let i = 0; i < 20_000; i++) {
    const base = pick(valid);
    const record = wire(i % 4 === 0 ? base : mutate(base));
    const ajvOk = check(structuredClone(record));
    let ours: InvalidInput | null = null;
    try {
      validateRecord(schema, structuredClone(record));
    } catch (e) {
      if (!(e instanceof InvalidInput)) throw e;
      ours = e;
    }
    assert.equal(
      ours === null,
      ajvOk,
      `${JSON.stringify(record)}: validator ${ours?.detail ?? "accepts"}, ajv ${
        ajvOk ? "accepts" : ajv.errorsText(check.errors)
      }`,
    );
    if (ours === null) {
      accepted++;
      continue;
    }
    refused++;
    // The field the validator names is one the schema's errors name too.
    const fields = (check.errors ?? []).map((e) =>
      e.params && "missingProperty" in e.params
        ? String(e.params.missingProperty)
        : e.params && "additionalProperty" in e.params
        ? String(e.params.additionalProperty)
        : e.instancePath.slice(1).split("/")[0]
    );
    if (ours.field !== null) assert.ok(fields.includes(ours.field), `${ours.field} in ${fields}`);
  }
  assert.ok(accepted > 5000 && refused > 5000, `${accepted} accepted, ${refused} refused`);
});
