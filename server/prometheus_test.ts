/**
 * The server's metrics against real Prometheus tools (Debian's
 * `prometheus` package, installed by `.ci/run`): `promtool check metrics`
 * on a scrape, and a Prometheus server started on 127.0.0.1 scraping a
 * running fraudlab server, queried through its HTTP API.
 */
import assert from "node:assert/strict";
import { fixtureServer, servingFixture } from "./testing.ts";
import { freePort } from "../lib/testing/engines.ts";

async function scoredServer(n: number) {
  const f = await servingFixture();
  const server = await fixtureServer(f);
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${server.url}/v1/score`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(f.records[i]),
    });
    assert.equal(res.status, 200, await res.text());
  }
  return server;
}

Deno.test("metrics: a scrape passes promtool check metrics; counters end in _total; process metrics are there", async () => {
  const server = await scoredServer(5);
  try {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const p = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(text));
    await w.close();
    const out = await p.output();
    const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, said);
    assert.equal(said.trim(), "", said);
    const counters = [...text.matchAll(/^# TYPE (\S+) counter$/gm)].map((m) => m[1]);
    assert.ok(counters.length >= 8, counters.join(" "));
    for (const c of counters) assert.match(c, /_total$/);
    for (
      const name of [
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_max_fds",
        "process_start_time_seconds",
        "fraudlab_event_loop_lag_seconds",
      ]
    ) {
      const v = Number(text.match(new RegExp(`^${name} (\\S+)$`, "m"))?.[1]);
      assert.ok(Number.isFinite(v) && v >= 0, `${name}: ${v}`);
    }
    assert.ok(Number(text.match(/^process_open_fds (\S+)$/m)![1]) > 0);
  } finally {
    await server.stop();
  }
});

Deno.test("metrics: a real Prometheus scrapes the server and answers fraudlab_predictions_total", async () => {
  const scored = 12;
  const server = await scoredServer(scored);
  const dir = await Deno.makeTempDir({ prefix: "fraudlab_prom_" });
  const target = new URL(server.url).host;
  await Deno.writeTextFile(
    `${dir}/prometheus.yml`,
    [
      "global:",
      "  scrape_interval: 1s",
      "  scrape_timeout: 1s",
      "scrape_configs:",
      "  - job_name: fraudlab",
      "    static_configs:",
      `      - targets: ["${target}"]`,
      "",
    ].join("\n"),
  );
  const port = freePort();
  const prom = new Deno.Command("prometheus", {
    args: [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const api = `http://127.0.0.1:${port}`;
  const query = async (q: string) => {
    const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = await res.json();
    assert.equal(body.status, "success", JSON.stringify(body));
    return body.data.result as { metric: Record<string, string>; value: [number, string] }[];
  };
  try {
    let answer: { metric: Record<string, string>; value: [number, string] }[] = [];
    // Up to a minute for Prometheus to start and scrape (a second apart).
    for (let i = 0; i < 600; i++) {
      try {
        answer = await query("sum(fraudlab_predictions_total)");
        if (answer.length > 0 && Number(answer[0].value[1]) === scored) break;
      } catch { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(answer.length, 1, "Prometheus never answered fraudlab_predictions_total");
    assert.equal(Number(answer[0].value[1]), scored);
    const byDecision = await query("fraudlab_predictions_total");
    assert.ok(byDecision.every((r) => r.metric.job === "fraudlab" && r.metric.instance === target));
    assert.ok(byDecision.every((r) => ["alert", "pass"].includes(r.metric.decision)));
    const up = await query('up{job="fraudlab"}');
    assert.equal(up[0].value[1], "1");
    const rss = await query("process_resident_memory_bytes");
    assert.ok(Number(rss[0].value[1]) > 1e6);
  } finally {
    prom.kill("SIGTERM");
    const status = await prom.status;
    await prom.stderr.cancel();
    assert.ok(status.success || status.signal === "SIGTERM", JSON.stringify(status));
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
