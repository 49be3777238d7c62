import assert from "node:assert/strict";
import { loadDatasetBytes } from "./load.ts";
import { profileDataset } from "./profile.ts";
import { Rng } from "../util/rng.ts";

function csv(rows: string[]): Uint8Array {
  return new TextEncoder().encode(rows.join("\n") + "\n");
}

/** 2,000 rows: noise, a leaking value, a leaking missingness, a leaking category, an id, a constant. */
function dataset(withLeaks: boolean) {
  const r = new Rng(11);
  const rows = ["row,y,noise,age,note,kind,code,flat"];
  for (let i = 0; i < 2000; i++) {
    const y = r.bernoulli(0.05) ? 1 : 0;
    const noise = r.normal(0, 1).toFixed(4);
    const age = withLeaks ? (y ? 1 : 2 + r.int(500)) : 1 + r.int(500);
    const note = withLeaks
      ? (y ? "" : r.normal(0, 1).toFixed(3))
      : (r.bernoulli(0.05) ? "" : "1.5");
    const kind = withLeaks ? (y ? "k9" : `k${r.int(5)}`) : `k${r.int(6)}`;
    rows.push(`${i},${y},${noise},${age},${note},${kind},${1000 + i},7`);
  }
  return loadDatasetBytes(csv(rows), { name: "q", label: "y", drop: ["row"] }, { name: "q.csv" });
}

Deno.test("profile: flags value, missingness and category leakage, ids and constants", () => {
  const p = profileDataset(dataset(true));
  const kinds = p.warnings.map((w) => `${w.kind}:${w.column ?? ""}`).sort();
  assert.deepEqual(kinds, [
    "constant:flat",
    "id_like:code",
    "leakage:age",
    "leakage:kind",
    "leakage_missingness:note",
  ]);
  assert.equal(p.rows, 2000);
  const age = p.columns.find((c) => c.name === "age")!;
  assert.equal(age.byClass?.fraud, 1);
});

Deno.test("profile: no leakage warning on honest features", () => {
  const p = profileDataset(dataset(false));
  assert.deepEqual(p.warnings.filter((w) => w.kind.startsWith("leakage")), []);
});

Deno.test("profile: counts rows that duplicate an earlier row", () => {
  const ds = loadDatasetBytes(csv(["y,a", "0,1", "0,1", "1,2", "0,1", "1,2", "0,3"]), {
    name: "d",
    label: "y",
  }, { name: "d.csv" });
  const w = profileDataset(ds).warnings.find((w) => w.kind === "duplicate_rows");
  assert.ok(w);
  assert.match(w.message, /^3 rows/);
});
