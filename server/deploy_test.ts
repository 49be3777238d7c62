/**
 * The deploy files against the server they describe: every metric and
 * label the Grafana dashboard queries is one a running server exposes, and
 * every YAML file passes `yamllint` (Debian's, installed by `.ci/run`).
 */
import assert from "node:assert/strict";
import { fixtureServer, servingFixture } from "./testing.ts";

const DEPLOY = new URL("../deploy/", import.meta.url);

/** Labels Prometheus adds to every series, or a histogram's bucket bound. */
const ADDED = new Set(["instance", "job", "le"]);

Deno.test("deploy: the Grafana dashboard queries only metrics and labels the server exposes", async () => {
  const f = await servingFixture();
  const server = await fixtureServer(f);
  let text: string;
  try {
    await fetch(`${server.url}/v1/score`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(f.records[0]),
    }).then((r) => r.body?.cancel());
    text = await (await fetch(`${server.url}/metrics`)).text();
  } finally {
    await server.stop();
  }
  const types = new Map(
    [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]] as const),
  );
  /** Label names seen on a metric's samples. */
  const labelsOf = (name: string) => {
    const seen = new Set<string>();
    const re = new RegExp(`^${name}(?:_bucket|_sum|_count)?\\{([^}]*)\\}`, "gm");
    for (const m of text.matchAll(re)) {
      for (const pair of m[1].matchAll(/(\w+)="/g)) seen.add(pair[1]);
    }
    return seen;
  };
  const dashboard = JSON.parse(
    await Deno.readTextFile(new URL("grafana/dashboards/fraudlab.json", DEPLOY)),
  );
  const exprs: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) =>
    p.targets.map((t) => t.expr)
  );
  assert.ok(exprs.length >= 8, `${exprs.length} queries`);
  let checked = 0;
  for (const expr of exprs) {
    const names = [...expr.matchAll(/\b((?:fraudlab|process)_\w+)/g)].map((m) => m[1]);
    assert.ok(names.length > 0, `no metric in ${expr}`);
    const by = [...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) => m[1].split(/,\s*/));
    const matchers = [...expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) =>
      [...m[1].matchAll(/(\w+)=/g)].map((x) => x[1])
    );
    for (const full of names) {
      const base = types.has(full) ? full : full.replace(/_(bucket|sum|count)$/, "");
      assert.ok(types.has(base), `${expr}: the server exposes no ${full}`);
      if (base !== full) assert.equal(types.get(base), "histogram", `${full}: not a histogram`);
      const labels = labelsOf(base);
      for (const l of [...by, ...matchers]) {
        if (!ADDED.has(l)) assert.ok(labels.has(l), `${expr}: ${base} has no label "${l}"`);
      }
      checked++;
    }
  }
  assert.ok(checked >= 10, `${checked} metrics checked`);
});

Deno.test("deploy: every YAML file passes yamllint", async () => {
  const files: string[] = [];
  const walk = async (dir: URL) => {
    for await (const e of Deno.readDir(dir)) {
      const url = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
      if (e.isDirectory) await walk(url);
      else if (/\.ya?ml$/.test(e.name)) files.push(url.pathname);
    }
  };
  await walk(DEPLOY);
  assert.ok(files.length >= 2, files.join(" "));
  const out = await new Deno.Command("yamllint", {
    args: ["-s", "-d", "{extends: default, rules: {line-length: {max: 100}}}", ...files],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, said);
});
