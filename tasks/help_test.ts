import assert from "node:assert/strict";
import { runScript } from "../lib/testing/helpers.ts";

const TASKS = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)))
  .tasks as Record<
    string,
    string
  >;

Deno.test("every deno task answers --help: usage, each flag, an example; exit 0", async () => {
  const scripts = Object.entries(TASKS)
    .map(([name, cmd]) => [name, /deno run -A (\S+\.ts)/.exec(cmd)?.[1]] as const)
    .filter((e): e is readonly [string, string] =>
      e[1] !== undefined && !e[1].startsWith("bench/")
    );
  assert.ok(scripts.length >= 12, `${scripts.length} tasks`);
  await Promise.all(scripts.map(async ([name, script]) => {
    const r = await runScript(script, ["--help"]);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.match(r.stdout, /^usage: deno task /, name);
    assert.match(r.stdout, /\n {2}--\S+/, `${name} lists its flags`);
    const source = await Deno.readTextFile(new URL(`../${script}`, import.meta.url));
    // Every flag the task parses is in its help.
    for (const m of source.matchAll(/^\s{4}"?([a-z][a-z-]*)"?: \{ type: "(?:string|boolean)"/gm)) {
      assert.ok(r.stdout.includes(`--${m[1]}`), `${name}: --${m[1]} missing from --help`);
    }
  }));
});

Deno.test("an unknown flag is one error line that points at --help", async () => {
  const r = await runScript("tasks/train.ts", ["--nope"]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split("\n").length, 1);
  assert.match(r.stderr, /^error: .*--nope.*see --help/);
});
