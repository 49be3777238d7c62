/**
 * Faults a real server meets: clients that stall or leave mid-body, a
 * shutdown with such clients connected, a prediction log another process
 * holds locked, and every way a start can fail.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { parseMetrics, seriesKey } from "../lib/serving/metrics.ts";
import { runScript } from "../lib/testing/helpers.ts";
import { startServer } from "./serve.ts";
import { servingFixture } from "./testing.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens a connection and sends a POST whose body stops after `sent` of `declared` bytes. */
async function stalled(url: string, declared = 200, sent = 20): Promise<Deno.TcpConn> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const head =
    `POST /v1/score HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\n` +
    `content-length: ${declared}\r\n\r\n`;
  await conn.write(new TextEncoder().encode(head + "{".padEnd(sent, " ")));
  return conn;
}

/** Everything a connection sends until it closes (or `ms` pass). */
async function readAll(conn: Deno.TcpConn, ms: number): Promise<string> {
  const buf = new Uint8Array(4096);
  let out = "";
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const n = await Promise.race([conn.read(buf), sleep(until - Date.now()).then(() => -1)]);
    if (n === null || n === -1) break;
    out += new TextDecoder().decode(buf.subarray(0, n as number));
    if (out.includes("\r\n\r\n") && out.includes("}")) break;
  }
  return out;
}

async function metricsOf(url: string): Promise<Map<string, number>> {
  return parseMetrics(await (await fetch(`${url}/metrics`)).text());
}

Deno.test("connections: a body that stalls gets 408 after the body timeout; a client gone mid-body is counted, not a 500", async () => {
  const f = await servingFixture();
  const server = await startServer({
    root: f.root,
    port: 0,
    logPath: join(await Deno.makeTempDir(), "log.sqlite"),
    pollSeconds: 0,
    log: () => {},
    now: f.now,
    bodyTimeoutMs: 300,
  });
  try {
    const conn = await stalled(server.url);
    const answer = await readAll(conn, 3000);
    conn.close();
    assert.match(answer, /^HTTP\/1.1 408/);
    assert.match(answer, /"error":"body_timeout"/);
    // Leave mid-body.
    for (let i = 0; i < 5; i++) (await stalled(server.url)).close();
    await sleep(200);
    const m = await metricsOf(server.url);
    assert.equal(m.get(seriesKey("fraudlab_http_body_aborts_total", { reason: "timeout" })), 1);
    assert.equal(m.get(seriesKey("fraudlab_http_body_aborts_total", { reason: "disconnect" })), 5);
    for (const [k] of m) assert.ok(!/status="5\d\d"/.test(k), k);
  } finally {
    await server.stop();
  }
});

Deno.test("shutdown: with stalled clients connected, stop() ends within the deadline (plus a second) and every answered score is logged", async () => {
  const f = await servingFixture();
  const logPath = join(await Deno.makeTempDir(), "log.sqlite");
  const lines: string[] = [];
  const server = await startServer({
    root: f.root,
    port: 0,
    logPath,
    pollSeconds: 0,
    log: (l) => lines.push(l),
    now: f.now,
    bodyTimeoutMs: 60_000,
    shutdownMs: 1000,
  });
  let answered = 0;
  for (const r of f.records.slice(0, 200)) {
    const res = await fetch(`${server.url}/v1/score`, {
      method: "POST",
      body: JSON.stringify(r),
      headers: { "content-type": "application/json" },
    });
    await res.body?.cancel();
    if (res.status === 200) answered++;
  }
  const conns = await Promise.all(Array.from({ length: 30 }, () => stalled(server.url)));
  await sleep(100);
  const t0 = performance.now();
  await server.stop();
  const took = performance.now() - t0;
  for (const c of conns) {
    try {
      c.close();
    } catch { /* closed by the server */ }
  }
  assert.ok(took < 2000, `stop took ${took.toFixed(0)} ms with a 1000 ms deadline`);
  assert.equal(answered, 200);
  assert.match(lines.at(-1)!, /200 rows written this run, 0 quarantined, 0 dropped/);
  const db = new DatabaseSync(logPath);
  assert.equal((db.prepare("SELECT count(*) AS n FROM scored").get() as { n: number }).n, 200);
  db.close();
});

Deno.test("log failure: locked past the busy timeout, /readyz answers 503 with the reason; serve keeps answering and counts unlogged answers, refuse answers 503; rows arrive once the lock goes", async () => {
  const f = await servingFixture();
  for (const policy of ["serve", "refuse"] as const) {
    const logPath = join(await Deno.makeTempDir(), "log.sqlite");
    const server = await startServer({
      root: f.root,
      port: 0,
      logPath,
      pollSeconds: 0,
      log: () => {},
      now: f.now,
      onLogFailure: policy,
    });
    const score = (r: unknown) =>
      fetch(`${server.url}/v1/score`, {
        method: "POST",
        body: JSON.stringify(r),
        headers: { "content-type": "application/json" },
      });
    try {
      const other = new DatabaseSync(logPath);
      other.exec("BEGIN EXCLUSIVE");
      await (await score(f.records[0])).body?.cancel(); // the row that finds the lock
      const until = Date.now() + 10_000;
      let ready: Response;
      for (;;) {
        ready = await fetch(`${server.url}/readyz`);
        if (ready.status === 503 || Date.now() > until) break;
        await ready.body?.cancel();
        await sleep(50);
      }
      assert.equal(ready.status, 503, policy);
      assert.match((await ready.json()).detail, /cannot be written since .*locked/);
      const res = await score(f.records[1]);
      const body = await res.json();
      if (policy === "serve") {
        assert.equal(res.status, 200);
        const m = await metricsOf(server.url);
        assert.ok((m.get("fraudlab_unlogged_answers_total") ?? 0) >= 1);
        assert.equal(m.get("fraudlab_prediction_log_up"), 0);
      } else {
        assert.equal(res.status, 503);
        assert.equal(body.error, "log_unavailable");
      }
      other.exec("ROLLBACK");
      other.close();
      const expected = policy === "serve" ? 2 : 1;
      const until2 = Date.now() + 15_000;
      // Counts are shared memory, the writer's "done" a message: wait for both.
      while (
        (server.log.stats.written < expected || !server.log.status.available) &&
        Date.now() < until2
      ) await sleep(50);
      assert.equal(server.log.stats.written, expected);
      const back = await fetch(`${server.url}/readyz`);
      assert.equal(back.status, 200);
      await back.body?.cancel();
    } finally {
      await server.stop();
    }
  }
});

Deno.test("start: port in use, unresolvable host, missing history, unwritable log, public host without keys: one line error, exit 2", async () => {
  const f = await servingFixture();
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = String((busy.addr as Deno.NetAddr).port);
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "file"), "x");
  const env = { FRAUDLAB_ARTIFACTS: f.root, FRAUDLAB_LOG: join(dir, "log.sqlite") };
  const cases: [string[], RegExp][] = [
    [["--port", port], /--port \d+: address 127.0.0.1:\d+ is already in use/],
    [
      ["--port", "0", "--host", "no-such-host.invalid", "--insecure"],
      /--host no-such-host.invalid: cannot listen/,
    ],
    [
      ["--port", "0", "--history", join(dir, "missing.parquet")],
      /--history .*missing.parquet: no such file/,
    ],
    [["--port", "0", "--log", join(dir, "file", "log.sqlite")], /prediction log .*cannot open/],
    [["--port", "0", "--host", "0.0.0.0"], /--host 0.0.0.0 is reachable from other machines/],
    [["--port", "0", "--keys", join(dir, "nokeys.json")], /--keys .*nokeys.json: no such file/],
    [["--port", "0", "--on-log-failure", "maybe"], /--on-log-failure: expected serve or refuse/],
    [["--port", "0", "--feedback-rate", "fast"], /--feedback-rate: expected RATE/],
    [["--port", "0", "--explain-threads", "3"], /--explain-threads/],
  ];
  try {
    for (const [args, re] of cases) {
      const r = await runScript("server/main.ts", args, { env });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^error: /);
      assert.match(lines[0], re);
    }
  } finally {
    busy.close();
  }
});
