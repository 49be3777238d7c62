/**
 * The folder order of lib/ (DESIGN.md): a folder imports only from folders
 * before it, so orchestration stays in `jobs/` and no two folders import
 * each other. This test reads every module's imports and fails on any that
 * point later in the order.
 */
import assert from "node:assert/strict";
import { join } from "node:path";

/** lib/'s folders, lowest first; `notebook` and `testing` compose everything, like `jobs`. */
const ORDER = [
  "util",
  "data",
  "features",
  "eval",
  "models",
  "drift",
  "registry",
  "report",
  "serving",
  "jobs",
  "notebook",
  "testing",
];

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"(\.{1,2}\/[^"]+)"/g;

Deno.test("lib/: every folder imports only from folders before it in the order", async () => {
  const lib = new URL(".", import.meta.url).pathname;
  const upward: string[] = [];
  let modules = 0;
  for await (const dir of Deno.readDir(lib)) {
    if (!dir.isDirectory) continue;
    const rank = ORDER.indexOf(dir.name);
    assert.ok(rank >= 0, `lib/${dir.name} has no place in the folder order`);
    for await (const f of Deno.readDir(join(lib, dir.name))) {
      if (!f.name.endsWith(".ts") || f.name.endsWith("_test.ts")) continue;
      modules++;
      const text = await Deno.readTextFile(join(lib, dir.name, f.name));
      for (const m of text.matchAll(IMPORT)) {
        const target = m[1];
        if (!target.startsWith("../")) continue; // same folder
        const folder = target.slice(3).split("/")[0];
        const to = ORDER.indexOf(folder);
        assert.ok(to >= 0, `lib/${dir.name}/${f.name} imports ${target}, outside lib's folders`);
        if (to > rank) upward.push(`lib/${dir.name}/${f.name} → ${target}`);
      }
    }
  }
  assert.ok(modules > 50, `read ${modules} modules`);
  assert.deepEqual(upward, [], `imports against the folder order:\n${upward.join("\n")}`);
});
