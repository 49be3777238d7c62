/**
 * Record validation: the hand-written validator (`validateRecord`, which
 * also extracts id, time, entities and amount) beside Ajv compiled from
 * the same JSON Schema (`jsonSchemaOf`; the check alone, no extraction),
 * on the same records in one run, alternating.
 *
 * deno run -A bench/validate_bench.ts [--records 2000000] [--rounds 5]
 */
import { parseArgs } from "node:util";
import { Ajv } from "ajv";
import { exampleRun } from "../lib/testing/examples.ts";
import { datasetRecords } from "../lib/serving/records.ts";
import {
  EVENT_TIME_FORMAT,
  inputSchema,
  isEventTime,
  jsonSchemaOf,
  validateRecord,
} from "../lib/serving/schema.ts";
import { intFlag } from "../lib/util/cli.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: { records: { type: "string" }, rounds: { type: "string" } },
});
const total = intFlag(flags.records, { name: "records", fallback: 2_000_000, min: 1000 });
const rounds = intFlag(flags.rounds, { name: "rounds", fallback: 5, min: 1 });

const run = await exampleRun();
const schema = inputSchema(run.ds.spec, run.pipeline);
const ajv = new Ajv({ ownProperties: true, strict: false });
ajv.addFormat(EVENT_TIME_FORMAT, { type: "string", validate: isEventTime });
const check = ajv.compile(jsonSchemaOf(schema));
// Fresh objects as a server gets them from JSON.parse.
const texts = datasetRecords(run.ds, schema).slice(0, 5000).map((r) => JSON.stringify(r));
const bodies = () => texts.map((t) => JSON.parse(t) as Record<string, unknown>);

function rate(fn: (r: Record<string, unknown>) => unknown): number {
  const records = bodies();
  let n = 0, sink = 0;
  const t0 = performance.now();
  while (n < total) {
    for (let i = 0; i < records.length && n < total; i++, n++) sink += fn(records[i]) ? 1 : 0;
  }
  const s = (performance.now() - t0) / 1000;
  if (sink < 0) console.log(sink);
  return n / s;
}

const ours: number[] = [], theirs: number[] = [];
for (let r = 0; r < rounds; r++) {
  ours.push(rate((rec) => validateRecord(schema, rec)));
  theirs.push(rate((rec) => check(rec)));
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
console.log(
  `records: ${texts.length} distinct, ${fmt(total)} validated per measure, ${rounds} rounds`,
);
console.log(
  `validateRecord (check + extract): ${fmt(median(ours))} records/s (${ours.map(fmt).join(", ")})`,
);
console.log(
  `Ajv from jsonSchemaOf (check only): ${fmt(median(theirs))} records/s (${
    theirs.map(fmt).join(", ")
  })`,
);
console.log(`ratio: ${(median(ours) / median(theirs)).toFixed(2)}x`);
