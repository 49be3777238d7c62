/**
 * The documentation stays readable and true: README at most 100 characters
 * a line (code included), the pages' prose too; no page but the benchmark
 * page sends a user to files outside the repository; every relative link
 * resolves; every deno task is in the README's task table.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";

const root = new URL("../", import.meta.url).pathname;
const WIDTH = 100;

/** The user-facing Markdown pages. */
function pages(): string[] {
  const docs = [...Deno.readDirSync(join(root, "docs"))]
    .filter((e) => e.isFile && e.name.endsWith(".md"))
    .map((e) => `docs/${e.name}`);
  return ["README.md", "server/README.md", "notebooks/README.md", ...docs.sort()];
}

/** Lines over the width: everywhere in README, outside fenced code elsewhere. */
function longLines(path: string): string[] {
  const strict = path === "README.md";
  const out: string[] = [];
  let code = false;
  Deno.readTextFileSync(join(root, path)).split("\n").forEach((line, i) => {
    if (line.startsWith("```")) code = !code;
    else if ([...line].length > WIDTH && (strict || !code)) {
      out.push(`${path}:${i + 1} (${[...line].length})`);
    }
  });
  return out;
}

Deno.test("docs: README lines fit 100 characters, and the pages' prose does", () => {
  assert.deepEqual(pages().flatMap(longLines), []);
});

Deno.test("docs: only the benchmark page names files outside the repository", () => {
  const outside = pages().filter((p) =>
    p !== "docs/benchmarks.md" && Deno.readTextFileSync(join(root, p)).includes("../shared")
  );
  assert.deepEqual(outside, []);
});

Deno.test("docs: every relative link resolves", () => {
  const broken: string[] = [];
  for (const p of pages()) {
    const text = Deno.readTextFileSync(join(root, p));
    for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      const target = m[1];
      if (/^[a-z]+:/.test(target)) continue;
      try {
        Deno.statSync(join(root, dirname(p), target));
      } catch {
        broken.push(`${p} → ${target}`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

Deno.test("docs: every deno task is in the README's task table", () => {
  const tasks = Object.keys(JSON.parse(Deno.readTextFileSync(join(root, "deno.json"))).tasks);
  const readme = Deno.readTextFileSync(join(root, "README.md"));
  const table = readme.slice(readme.indexOf("## Tasks"), readme.indexOf("## The scoring API"));
  assert.deepEqual(tasks.filter((t) => !table.includes(`\`${t}\``)), []);
});

Deno.test("docs: every deno task a GitHub workflow runs exists, with the flags it passes", async () => {
  const tasks = JSON.parse(Deno.readTextFileSync(join(root, "deno.json"))).tasks;
  const dir = join(root, ".github/workflows");
  const used: string[] = [];
  for (const f of Deno.readDirSync(dir)) {
    const text = Deno.readTextFileSync(join(dir, f.name));
    for (const m of text.matchAll(/deno task ([a-z:-]+)((?: --[a-z-]+)*)/g)) {
      assert.ok(m[1] in tasks, `${f.name}: deno task ${m[1]} is not a task`);
      used.push(m[1]);
      for (const flag of m[2].trim().split(/\s+/).filter(Boolean)) {
        const cmd = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", tasks[m[1]].split(" ").pop(), "--help"],
          cwd: root,
          stdout: "piped",
        });
        const help = new TextDecoder().decode((await cmd.output()).stdout);
        assert.ok(help.includes(flag), `${f.name}: deno task ${m[1]} has no flag ${flag}`);
      }
    }
  }
  assert.ok(used.includes("pipeline"));
});
