import assert from "node:assert/strict";
import { loadDataset } from "./load.ts";
import { type DatasetChunk, readDatasetChunks } from "./chunks.ts";
import type { DatasetSpec } from "./spec.ts";

const spec: DatasetSpec = {
  name: "notes",
  label: "y",
  id: "id",
  numeric: ["x"],
  categorical: ["note"],
};

/** A CSV whose quoted fields hold commas, doubled quotes and line breaks. */
function csv(rows: number): string {
  const lines = ["id,x,note,y"];
  for (let i = 0; i < rows; i++) {
    const note = i % 7 === 0
      ? `"a ""quoted"", multi-line\nnote ${i}"`
      : i % 5 === 0
      ? `"comma, ${i}"`
      : `plain${i % 3}`;
    lines.push(`r${i},${i % 11 === 0 ? "" : (i * 0.5).toFixed(1)},${note},${i % 2}`);
  }
  return lines.join(i18n(rows)) + "\n";
}
const i18n = (n: number) => (n % 2 === 0 ? "\n" : "\r\n"); // LF or CRLF record ends

Deno.test("chunks: parts of a CSV with quoted commas and line breaks hold exactly the whole file's rows", async () => {
  const dir = await Deno.makeTempDir();
  for (const rows of [3, 4, 999, 4000]) {
    const path = `${dir}/notes_${rows}.csv`;
    await Deno.writeTextFile(path, csv(rows));
    const whole = await loadDataset(path, spec);
    for (const per of rows < 10 ? [1, 2, 100_000] : [97, 100_000]) {
      const parts: DatasetChunk[] = [];
      let hash: string | null = null;
      for await (const p of readDatasetChunks(path, spec, { rows: per, onHash: (h) => hash = h })) {
        parts.push(p);
      }
      const ids = parts.flatMap((p) => p.ds.frame.getColumn("id").toArray());
      const notes = parts.flatMap((p) => p.ds.frame.getColumn("note").toArray());
      assert.deepEqual(
        ids,
        whole.frame.getColumn("id").toArray(),
        `${rows} rows in parts of ${per}`,
      );
      assert.deepEqual(notes, whole.frame.getColumn("note").toArray());
      assert.deepEqual(
        parts.map((p) => p.firstRow),
        parts.map((_, k) => parts.slice(0, k).reduce((s, q) => s + q.ds.frame.height, 0)),
      );
      assert.equal(hash, (await import("./fingerprint.ts")).sha256Hex(await Deno.readFile(path)));
    }
  }
});

Deno.test("chunks: a CSV without quotes, and one whose first quote comes after the first block, read as the whole file", async () => {
  const dir = await Deno.makeTempDir();
  const plain = ["id,x,note,y"];
  for (let i = 0; i < 2000; i++) plain.push(`r${i},${i},plain${i % 3},${i % 2}`);
  // About 9 MB without a quote, then quoted fields with line breaks: the first 8 MB block
  // is cut without looking for quotes, the rest byte by byte.
  const late = ["id,x,note,y"];
  for (let i = 0; i < 260_000; i++) {
    late.push(`r${i},${i},${i < 250_000 ? `plain${i % 3}` : `"late, ""quoted""\nnote"`},${i % 2}`);
  }
  for (
    const [name, lines, pers] of [["plain", plain, [1, 333]], ["late", late, [50_000]]] as const
  ) {
    const path = `${dir}/${name}.csv`;
    await Deno.writeTextFile(path, lines.join("\n") + "\n");
    const whole = await loadDataset(path, spec);
    for (const per of pers) {
      const ids: unknown[] = [], notes: unknown[] = [];
      for await (const p of readDatasetChunks(path, spec, { rows: per })) {
        ids.push(...p.ds.frame.getColumn("id").toArray());
        notes.push(...p.ds.frame.getColumn("note").toArray());
      }
      // Joined: deepEqual on 260,000 values takes seconds.
      const join = (v: unknown[]) => v.map(String).join("\u0001");
      assert.equal(ids.length, whole.frame.height, `${name} in parts of ${per}`);
      assert.ok(join(ids) === join(whole.frame.getColumn("id").toArray()), `${name}: ids`);
      assert.ok(join(notes) === join(whole.frame.getColumn("note").toArray()), `${name}: notes`);
    }
  }
});

Deno.test("chunks: a bad value names its row and line in the whole file", async () => {
  const dir = await Deno.makeTempDir();
  const text = csv(300).split("\n");
  // Data row 250 (its line, after the quoted line breaks before it).
  const line = text.findIndex((l) => l.startsWith("r249,"));
  text[line] = text[line].replace(/^r249,[^,]*,/, "r249,twelve,");
  const path = `${dir}/bad.csv`;
  await Deno.writeTextFile(path, text.join("\n"));
  const whole = await loadDataset(path, spec).catch((e) => e.message);
  let inParts = "";
  try {
    for await (const _ of readDatasetChunks(path, spec, { rows: 40 })) { /* read on */ }
  } catch (e) {
    inParts = (e as Error).message;
  }
  assert.match(whole, /row 250 \(line \d+\): "twelve" is not a number/);
  assert.equal(inParts.replace(/^[^:]*:/, ""), whole.replace(/^[^:]*:/, ""));
  await Deno.writeTextFile(`${dir}/empty.csv`, "");
  await assert.rejects(async () => {
    for await (const _ of readDatasetChunks(`${dir}/empty.csv`, spec)) { /* */ }
  }, /empty file/);
  await Deno.writeTextFile(`${dir}/header.csv`, "id,x,note,y\n");
  await assert.rejects(async () => {
    for await (const _ of readDatasetChunks(`${dir}/header.csv`, spec)) { /* */ }
  }, /no data rows/);
});

Deno.test("chunks ahead: read on a worker, the parts, groups, hash and errors are those read here", async () => {
  const { readDatasetChunksAhead } = await import("./chunks_ahead.ts");
  const { groupedRows } = await import("./frame.ts");
  const { UserError } = await import("../util/errors.ts");
  const dir = await Deno.makeTempDir();
  const path = `${dir}/notes.csv`;
  await Deno.writeTextFile(path, csv(999));
  for (const file of [path, await asParquet(path)]) {
    const here: DatasetChunk[] = [];
    let hashHere: string | null = "unset", hashThere: string | null = "unset";
    for await (
      const p of readDatasetChunks(file, spec, {
        rows: 97,
        onHash: (h) => hashHere = h,
      })
    ) {
      here.push(p);
    }
    let k = 0;
    for await (
      const p of readDatasetChunksAhead(file, spec, {
        rows: 97,
        group: ["note"],
        columns: ["id", "x"],
        onHash: (h) => hashThere = h,
      })
    ) {
      const mine = here[k++];
      assert.equal(p.firstRow, mine.firstRow);
      assert.equal(p.done, mine.done);
      assert.deepEqual(p.ds.frame.columns, ["id", "x"]);
      assert.deepEqual(p.ds.frame.getColumn("x").toArray(), mine.ds.frame.getColumn("x").toArray());
      // Every column in the IPC bytes, typed as here.
      const all = (await import("nodejs-polars")).default.readIPC(
        (await import("node:buffer")).Buffer.from(p.ipc!),
      );
      assert.ok(all.frameEqual(mine.ds.frame, true), `part ${k} of ${file}`);
      const g = p.groups!.note, want = groupedRows(mine.ds.frame, "note");
      assert.deepEqual(g.keys, want.keys);
      assert.deepEqual([...g.starts], [...want.starts]);
      assert.deepEqual([...g.order], [...want.order]);
    }
    assert.equal(k, here.length);
    assert.equal(hashThere, hashHere);
  }
  // A bad value: the same user error, named the same.
  const bad = `${dir}/bad.csv`;
  await Deno.writeTextFile(bad, csv(300).replace(/\nr249,[^,]*,/, "\nr249,twelve,"));
  const messages: string[] = [];
  for (const read of [readDatasetChunks, readDatasetChunksAhead]) {
    try {
      for await (const _ of read(bad, spec, { rows: 40 })) { /* read on */ }
    } catch (e) {
      assert.ok(e instanceof UserError, String(e));
      messages.push(e.message);
    }
  }
  assert.equal(messages.length, 2);
  assert.match(messages[1], /row 250 \(line \d+\): "twelve" is not a number/);
  assert.equal(messages[1], messages[0]);
  await Deno.remove(dir, { recursive: true });
});

/** The same rows as a Parquet file next to the CSV. */
async function asParquet(path: string): Promise<string> {
  const pl = (await import("nodejs-polars")).default;
  const out = path.replace(/\.csv$/, ".parquet");
  pl.readCSV(path, { inferSchemaLength: 0 }).writeParquet(out);
  return out;
}
