import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { groupedRows } from "./frame.ts";
import { Rng } from "../util/rng.ts";

Deno.test("groupedRows: every row once, under its own value (missing is a value), ascending within a value", () => {
  const rng = new Rng(7), rand = () => rng.random();
  for (const [n, values] of [[1, 1], [50, 3], [5000, 400], [20_000, 19_000]]) {
    const v = Array.from({ length: n }, () => {
      const r = rand();
      return r < 0.05 ? null : `v${Math.floor(r * values)}`;
    });
    const g = groupedRows(pl.DataFrame({ c: pl.Series("c", v, pl.Utf8) }), "c");
    assert.equal(g.starts.length, g.keys.length + 1);
    assert.equal(g.starts[g.keys.length], n);
    assert.equal(new Set(g.keys).size, g.keys.length, "each value once");
    assert.equal(g.keys.length, new Set(v).size);
    const seen = new Uint8Array(n);
    for (let k = 0; k < g.keys.length; k++) {
      assert.ok(g.starts[k + 1] > g.starts[k], `value ${k} has rows`);
      for (let j = g.starts[k]; j < g.starts[k + 1]; j++) {
        const i = g.order[j];
        assert.equal(v[i], g.keys[k], `row ${i}`);
        if (j > g.starts[k]) assert.ok(i > g.order[j - 1], "ascending");
        seen[i]++;
      }
    }
    assert.ok(seen.every((s) => s === 1), "every row once");
  }
  // Numbers and text read as text.
  const g = groupedRows(pl.DataFrame({ c: pl.Series("c", [3, 1, 3, null], pl.Int64) }), "c");
  const byKey = Object.fromEntries(
    g.keys.map((key, k) => [String(key), [...g.order.subarray(g.starts[k], g.starts[k + 1])]]),
  );
  assert.deepEqual(byKey, { "3": [0, 2], "1": [1], "null": [3] });
});
