import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { writeFrame } from "./write.ts";
import { UserError } from "../util/errors.ts";

Deno.test("writeFrame: creates the missing folders; a path it cannot write is one user error", async () => {
  const dir = await Deno.makeTempDir();
  const frame = pl.DataFrame({ amount: [1.5, 2] });
  writeFrame(frame, `${dir}/a/b/x.parquet`);
  assert.equal(pl.readParquet(`${dir}/a/b/x.parquet`).height, 2);
  await Deno.writeTextFile(`${dir}/file`, "");
  let err: unknown = null;
  try {
    writeFrame(frame, `${dir}/file/x.csv`);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof UserError, String(err));
  assert.match(err.message, /^--out .*file\/x\.csv: cannot write \(/);
  assert.doesNotMatch(err.message, /unwrap|\n/);
  assert.throws(() => writeFrame(frame, `${dir}/x.txt`), /expected a \.parquet or \.csv/);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a", "file"]);
});
