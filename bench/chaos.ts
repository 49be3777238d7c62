/**
 * Chaos bench: the scoring service and the registry attacked and broken on
 * purpose, against real servers (`deno task serve` processes on 127.0.0.1)
 * and real `deno task promote` processes, with one table of counts at the end.
 *
 * Scenarios (each a row of the table; `--only NAME` runs some):
 * - `poison`: wrk for `--seconds` (default 10) where 1% of requests carry an
 *   amount of 1e308, -1e308 or 5e-324 at one terminal: answered = logged +
 *   quarantined, no non-finite score logged, every thread of the server idle
 *   (< 5% of a core) within 2 s after the load;
 * - `feedback-lock`: labels posted while another connection holds the log's
 *   write lock: `/healthz` p99 under 50 ms meanwhile;
 * - `sigterm`: SIGTERM under load with 100 clients stalled mid-body: exit
 *   within the shutdown deadline plus 1 s, every answered score logged;
 * - `promote`: 8 `deno task promote` processes at once, 20 trials: no
 *   version lost;
 * - `entities`: 2,000,000 transactions with unique customers and terminals
 *   through the batch endpoint, `--max-entities 200000`: entities held
 *   within the cap (a full column forgets its least recent tenth), and the
 *   resident memory added over the second million at most a quarter of what
 *   a server without a cap adds under the same load;
 * - `disk-full`: the log on a 3 MiB tmpfs (needs root to mount): `/readyz`
 *   503 with the reason while it cannot be written, answers go on (counted
 *   as unlogged), and the shutdown line's written + quarantined + dropped
 *   equals the answered scores;
 * - `methods`: 10,000 requests with made-up methods and paths: the number
 *   of `/metrics` series unchanged;
 * - `forged`: 5,000 labels for ids the log never held, then labels past
 *   the key's rate: 404 for the unknown, 429 with Retry-After past the rate.
 *
 * deno run -A bench/chaos.ts [--seconds 10] [--only NAME]... [--out chaos.json]
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { simulateTransactions } from "../lib/data/simulate.ts";
import { writeFrame } from "../lib/data/write.ts";
import { promote, readRegistry } from "../lib/registry/aliases.ts";

import { parseMetrics, seriesKey } from "../lib/serving/metrics.ts";
import { intFlag, parseFlags } from "../lib/util/cli.ts";
import { serverArgs } from "./server_args.ts";
import { trainRun } from "../lib/jobs/train.ts";

const flags = parseFlags(Deno.args, {
  seconds: { type: "string" },
  only: { type: "string", multiple: true, default: [] },
  out: { type: "string" },
});
const seconds = intFlag(flags.seconds, { name: "seconds", fallback: 10, min: 1 });
const only = new Set(flags.only as string[]);
const wanted = (name: string) => only.size === 0 || only.has(name);
const repo = new URL("../", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
  scenario: string;
  check: string;
  figures: string;
  ok: boolean;
}
const rows: Row[] = [];
function report(scenario: string, check: string, figures: string, ok: boolean) {
  rows.push({ scenario, check, figures, ok });
  console.log(`${ok ? "PASS" : "FAIL"} ${scenario}: ${check} — ${figures}`);
}

// ---- a world, a champion with velocity features, and runs to promote
const root = await Deno.makeTempDir({ prefix: "fraudlab_chaos_" });
const data = join(root, "tx.parquet");
writeFrame(simulateTransactions({ customers: 1000, days: 40, seed: 21, quiet: true }), data);
console.log(`chaos: artifacts in ${root}`);
const champion = await trainRun({
  data,
  model: "iforest",
  split: { method: "time", trainDays: 14, delayDays: 7, testDays: 7 },
  seed: 1,
}, { root, quiet: true });
await promote(champion.id, { root });

// ---- servers
interface Server {
  url: string;
  child: Deno.ChildProcess;
  log: string;
  output: () => string;
}

let nextPort = 18800;
async function serve(extra: string[] = [], env: Record<string, string> = {}): Promise<Server> {
  const port = nextPort++;
  const log = join(await Deno.makeTempDir({ dir: root }), "predictions.sqlite");
  const child = new Deno.Command(Deno.execPath(), {
    args: serverArgs(port, log, ["--model", "txsim@champion", ...extra]),
    cwd: repo,
    env: { FRAUDLAB_ARTIFACTS: root, NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const drain = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) text += chunk;
  };
  drain(child.stdout);
  drain(child.stderr);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(`${url}/healthz`);
      await r.body?.cancel();
      if (r.ok) return { url, child, log, output: () => text };
    } catch { /* not up yet */ }
    await sleep(100);
  }
  throw new Error(`server on ${port} never came up: ${text}`);
}

async function stop(s: Server): Promise<number> {
  const t0 = performance.now();
  try {
    s.child.kill("SIGTERM");
  } catch { /* already gone */ }
  await s.child.status;
  return (performance.now() - t0) / 1000;
}

async function metricsOf(url: string, headers: Record<string, string> = {}) {
  const text = await (await fetch(`${url}/metrics`, { headers })).text();
  return { text, m: parseMetrics(text) };
}

/** CPU seconds of each thread of a process (Linux /proc). */
async function threadCpu(pid: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const t of Deno.readDir(`/proc/${pid}/task`)) {
    try {
      const stat = await Deno.readTextFile(`/proc/${pid}/task/${t.name}/stat`);
      const after = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      out.set(`${t.name} ${name}`, (Number(after[11]) + Number(after[12])) / 100);
    } catch { /* thread ended */ }
  }
  return out;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024);
}

function count(db: DatabaseSync, sql: string): number {
  return Number((db.prepare(sql).get() as { n: number }).n);
}

const JSON_TYPE = { "content-type": "application/json" };

function record(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    customer_id: `C${i % 1000}`,
    terminal_id: `T${String(i % 200).padStart(5, "0")}`,
    amount: 20 + (i % 97),
    device_risk: null,
    distance_from_home: 3.2,
    channel: i % 3 ? "card_present" : "online",
    merchant_category: "grocery",
    ...extra,
  };
}

async function score(url: string, body: unknown, headers: Record<string, string> = JSON_TYPE) {
  const res = await fetch(`${url}/v1/score`, {
    method: "POST",
    body: JSON.stringify(body),
    headers,
  });
  return { status: res.status, body: await res.json() };
}

// ---- poison load
if (wanted("poison")) {
  const s = await serve();
  const lua = join(root, "poison.lua");
  await Deno.writeTextFile(
    lua,
    `math.randomseed(7)
local poison = { "1e308", "-1e308", "5e-324" }
request = function()
  local amount, terminal
  if math.random() < 0.01 then
    amount = poison[math.random(3)]
    terminal = "T00042"
  else
    amount = string.format("%.2f", math.random() * 200)
    terminal = string.format("T%05d", math.random(400))
  end
  local body = '{"customer_id":"C' .. math.random(2000) .. '","terminal_id":"' .. terminal ..
    '","amount":' .. amount .. ',"device_risk":null,"distance_from_home":3.2,' ..
    '"channel":"online","merchant_category":"grocery"}'
  return wrk.format("POST", "/v1/score", { ["Content-Type"] = "application/json" }, body)
end
`,
  );
  const running = new Deno.Command("wrk", {
    args: ["-t2", "-c32", `-d${seconds}s`, "-s", lua, `${s.url}/v1/score`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  /** The busiest thread's share of a core over one second, and all threads' sum. */
  const cpuOverOneSecond = async () => {
    const a = await threadCpu(s.child.pid);
    await sleep(1000);
    const b = await threadCpu(s.child.pid);
    let busiest = 0, name = "-", sum = 0;
    for (const [k, v] of b) {
      const used = v - (a.get(k) ?? v);
      sum += used;
      if (used > busiest) [busiest, name] = [used, k];
    }
    return { busiest, name, sum, threads: b.size };
  };
  // The same measure during the load's last seconds, to show it reads real use.
  await sleep(Math.max(0, (seconds - 2) * 1000));
  const during = await cpuOverOneSecond();
  const w = await running;
  const wrkText = new TextDecoder().decode(w.stdout);
  const ended = performance.now();
  // Threads idle within 2 s: CPU used between 1 s and 2 s after the load.
  await sleep(Math.max(0, 1000 - (performance.now() - ended)));
  const idle = await cpuOverOneSecond();
  const busiest = idle.busiest, busiestName = idle.name;
  const { m } = await metricsOf(s.url);
  const answered = m.get(
    seriesKey("fraudlab_http_requests_total", {
      route: "/v1/score",
      method: "POST",
      status: "200",
    }),
  ) ?? 0;
  const refused = m.get(
    seriesKey("fraudlab_http_requests_total", {
      route: "/v1/score",
      method: "POST",
      status: "422",
    }),
  ) ?? 0;
  const other = [...m].filter(([k, v]) =>
    k.startsWith("fraudlab_http_requests_total") && !/status="(200|422)"/.test(k) && v > 0
  );
  const scoreSum = m.get(seriesKey("fraudlab_score_sum", { model: "txsim", version: "1" }));
  await stop(s);
  const db = new DatabaseSync(s.log);
  const logged = count(db, "SELECT count(*) AS n FROM scored");
  const quarantined = count(db, "SELECT count(*) AS n FROM quarantine");
  const nonFinite = count(
    db,
    "SELECT count(*) AS n FROM scored WHERE score IS NULL OR NOT (score BETWEEN -3.5e38 AND 3.5e38)",
  );
  db.close();
  const lastLine = s.output().trim().split("\n").at(-1) ?? "";
  report(
    "poison",
    "answered = logged + quarantined, no non-finite score",
    `${answered} answered (${
      /Requests\/sec:\s*([\d.]+)/.exec(wrkText)?.[1]
    } req/s), ${refused} refused 422, ${logged} logged, ${quarantined} quarantined, ${nonFinite} non-finite, score sum finite: ${
      Number.isFinite(scoreSum)
    }, other statuses: ${other.length ? other.map(([k, v]) => `${k} ${v}`).join("; ") : "none"}`,
    answered > 0 && answered === logged + quarantined && nonFinite === 0 &&
      Number.isFinite(scoreSum) && refused > 0 && other.length === 0,
  );
  report(
    "poison",
    "every thread idle (< 5% of a core) 1–2 s after the load",
    `1–2 s after: busiest of ${idle.threads} threads ${busiestName} ${
      (100 * busiest).toFixed(1)
    }% of a core, all ${(100 * idle.sum).toFixed(1)}%; under load: busiest ${during.name} ${
      (100 * during.busiest).toFixed(0)
    }%, all ${(100 * during.sum).toFixed(0)}%`,
    busiest < 0.05,
  );
  report(
    "poison",
    "shutdown line states the true counts",
    lastLine,
    lastLine.includes(`${logged} rows written`),
  );
}

// ---- feedback while another connection holds the write lock
if (wanted("feedback-lock")) {
  const s = await serve(["--feedback-rate", "0"]);
  const ids: string[] = [];
  for (let i = 0; i < 200; i++) ids.push((await score(s.url, record(i))).body.transaction_id);
  await sleep(200); // written
  const other = new DatabaseSync(s.log);
  other.exec("PRAGMA busy_timeout = 5000; BEGIN EXCLUSIVE");
  const outcomes = new Map<number, number>();
  let stopLabels = false;
  const labeler = async (w: number) => {
    for (let i = w; i < ids.length && !stopLabels; i += 8) {
      const res = await fetch(`${s.url}/v1/feedback`, {
        method: "POST",
        body: JSON.stringify({ transaction_id: ids[i], label: i % 2 }),
        headers: JSON_TYPE,
      });
      await res.body?.cancel();
      outcomes.set(res.status, (outcomes.get(res.status) ?? 0) + 1);
    }
  };
  const labels = Promise.all(Array.from({ length: 8 }, (_, w) => labeler(w)));
  const lat: number[] = [];
  const until = performance.now() + 6000;
  while (performance.now() < until) {
    const t0 = performance.now();
    const r = await fetch(`${s.url}/healthz`);
    await r.body?.cancel();
    lat.push(performance.now() - t0);
    await sleep(10);
  }
  const ready = await fetch(`${s.url}/readyz`);
  const readyStatus = ready.status;
  await ready.body?.cancel();
  other.exec("ROLLBACK");
  other.close();
  stopLabels = true;
  await labels;
  lat.sort((a, b) => a - b);
  const p99 = lat[Math.floor(0.99 * (lat.length - 1))];
  await stop(s);
  report(
    "feedback-lock",
    "/healthz p99 < 50 ms while labels wait on a locked log; /readyz 503",
    `${lat.length} health checks over 6 s: p50 ${
      lat[Math.floor(lat.length / 2)].toFixed(2)
    } ms, p99 ${p99.toFixed(2)} ms, max ${lat.at(-1)!.toFixed(2)} ms; labels: ${
      [...outcomes].map(([k, v]) => `${v}× ${k}`).join(", ")
    }; /readyz during the lock ${readyStatus}`,
    p99 < 50 && readyStatus === 503,
  );
}

// ---- SIGTERM with stalled clients
if (wanted("sigterm")) {
  const deadline = 5;
  const s = await serve(["--shutdown-timeout", String(deadline), "--body-timeout", "60"]);
  const { hostname, port } = new URL(s.url);
  const stalled: Deno.TcpConn[] = [];
  for (let i = 0; i < 100; i++) {
    const c = await Deno.connect({ hostname, port: Number(port) });
    await c.write(
      new TextEncoder().encode(
        `POST /v1/score HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{"amount":`,
      ),
    );
    stalled.push(c);
  }
  let answered = 0, running = true;
  const loader = async (w: number) => {
    for (let i = w; running; i += 8) {
      try {
        const res = await fetch(`${s.url}/v1/score`, {
          method: "POST",
          body: JSON.stringify(record(i)),
          headers: JSON_TYPE,
        });
        const b = await res.text();
        if (res.status === 200 && b.includes('"score"')) answered++;
      } catch {
        return; // the listener closed
      }
    }
  };
  const load = Promise.all(Array.from({ length: 8 }, (_, w) => loader(w)));
  await sleep(1500);
  const took = await stop(s);
  running = false;
  await load;
  for (const c of stalled) {
    try {
      c.close();
    } catch { /* closed by the server */ }
  }
  const db = new DatabaseSync(s.log);
  const logged = count(db, "SELECT count(*) AS n FROM scored");
  db.close();
  report(
    "sigterm",
    `exit within the ${deadline}-s deadline + 1 s with 100 stalled clients; every answered score logged`,
    `exited in ${took.toFixed(2)} s; ${answered} answered, ${logged} logged; ${
      s.output().trim().split("\n").at(-1)
    }`,
    took <= deadline + 1 && answered > 0 && logged === answered,
  );
}

// ---- concurrent promotions
if (wanted("promote")) {
  const runs: string[] = [];
  for (let i = 0; i < 8; i++) {
    const r = await trainRun({
      data,
      model: "iforest",
      params: { trees: 10 + i },
      split: { method: "time", trainDays: 14, delayDays: 7, testDays: 7 },
      seed: 100 + i,
    }, { root, quiet: true });
    runs.push(r.id);
  }
  let lost = 0, failed = 0;
  const trials = 20;
  for (let t = 0; t < trials; t++) {
    const outs = await Promise.all(runs.map((id) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "tasks/promote.ts", id, "--model", `chaos-${t}`, "--alias", "chaos"],
        cwd: repo,
        env: { FRAUDLAB_ARTIFACTS: root, NO_COLOR: "1" },
        stdout: "null",
        stderr: "null",
      }).output()
    ));
    failed += outs.filter((o) => !o.success).length;
    const reg = await readRegistry(root);
    lost += 8 - (reg.models[`chaos-${t}`]?.versions.length ?? 0);
  }
  report(
    "promote",
    "8 promote processes at once × 20 trials: no version lost",
    `${trials * 8} promotions, ${lost} versions lost, ${failed} failed`,
    lost === 0 && failed === 0,
  );
}

// ---- unique entities
if (wanted("entities")) {
  const total = 2_000_000, cap = 200_000, batch = 1000;
  const feed = async (s: Server, label: string) => {
    const marks: string[] = [];
    let next = 0, rss1M = 0, rss2M = 0;
    const sender = async () => {
      for (;;) {
        const start = next;
        next += batch;
        if (start >= total) return;
        let body = "";
        for (let i = start; i < start + batch; i++) {
          body += `{"customer_id":"u${i}","terminal_id":"v${i}","amount":${
            10 + (i % 90)
          },"device_risk":null,"distance_from_home":1,"channel":"online","merchant_category":"grocery"}\n`;
        }
        const res = await fetch(`${s.url}/v1/score/batch`, {
          method: "POST",
          body,
          headers: { "content-type": "application/x-ndjson" },
        });
        await res.body?.cancel();
        if (res.status !== 200) throw new Error(`${label}: batch answered ${res.status}`);
        const done = start + batch;
        if (done === 200_000 || done === 1_000_000 || done === total) {
          const rss = await rssMiB(s.child.pid);
          if (done === 1_000_000) rss1M = rss;
          if (done === total) rss2M = rss;
          marks.push(`${done / 1e6}M: ${rss} MiB`);
        }
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 4 }, sender));
    const secs = (performance.now() - t0) / 1000;
    const { m } = await metricsOf(s.url);
    return {
      marks,
      rss1M,
      rss2M,
      held: m.get(seriesKey("fraudlab_entity_history_entities", { entity: "customer_id" })) ?? -1,
      evicted:
        m.get(seriesKey("fraudlab_entity_history_evictions_total", { entity: "customer_id" })) ??
          -1,
      rate: total / secs,
      heap: Math.round((m.get("fraudlab_heap_used_bytes") ?? 0) / 2 ** 20),
    };
  };
  const capped = await serve(["--max-entities", String(cap)]);
  const a = await feed(capped, "capped");
  await stop(capped);
  const open = await serve(["--max-entities", String(100_000_000)]);
  const b = await feed(open, "uncapped");
  await stop(open);
  report(
    "entities",
    `2,000,000 unique customers and terminals, --max-entities ${cap}: held within the cap; RSS growth over the second million ≤ 25% of an uncapped server's`,
    `capped: ${a.held} customers held, ${a.evicted} evicted, RSS ${
      a.marks.join(", ")
    }, heap in use ${a.heap} MiB (${Math.round(a.rate)} records/s); uncapped, same load: RSS ${
      b.marks.join(", ")
    }, heap in use ${b.heap} MiB`,
    a.held <= cap && a.held >= 0.9 * cap && a.evicted === total - a.held &&
      a.rss2M - a.rss1M <= 0.25 * (b.rss2M - b.rss1M),
  );
}

// ---- the log's disk fills up
if (wanted("disk-full")) {
  const dir = await Deno.makeTempDir({ dir: root });
  const mounted = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=3m", "tmpfs", dir],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!mounted.success) {
    report("disk-full", "a log on a full disk", "skipped: cannot mount a small tmpfs here", false);
  } else {
    try {
      const s = await serve(["--log", join(dir, "log.sqlite")]);
      let answered = 0, sawNotReady = "";
      const loader = async (w: number) => {
        for (let i = w; i < 60_000; i += 8) {
          const res = await fetch(`${s.url}/v1/score`, {
            method: "POST",
            body: JSON.stringify(record(i)),
            headers: JSON_TYPE,
          });
          await res.body?.cancel();
          if (res.status === 200) answered++;
          if (w === 0 && i % 800 === 0 && !sawNotReady) {
            const r = await fetch(`${s.url}/readyz`);
            if (r.status === 503) sawNotReady = (await r.json()).detail;
            else await r.body?.cancel();
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, (_, w) => loader(w)));
      const { m } = await metricsOf(s.url);
      const unlogged = m.get("fraudlab_unlogged_answers_total") ?? 0;
      await stop(s);
      const line = s.output().trim().split("\n").at(-1) ?? "";
      const [, w, q, d] =
        /: (\d+) rows written this run, (\d+) quarantined, (\d+) dropped/.exec(line) ??
          [];
      const db = new DatabaseSync(join(dir, "log.sqlite"));
      const inDb = count(db, "SELECT count(*) AS n FROM scored");
      db.close();
      report(
        "disk-full",
        "log on a 3 MiB disk: /readyz 503 with the reason; written + quarantined + dropped = answered",
        `${answered} answered, ${unlogged} while the log was unavailable; /readyz: ${
          sawNotReady.slice(0, 90) || "never 503"
        }; shutdown: ${w} written (${inDb} in the file), ${q} quarantined, ${d} dropped`,
        sawNotReady !== "" && Number(w) + Number(q) + Number(d) === answered &&
          Number(w) === inDb && unlogged > 0,
      );
    } finally {
      await new Deno.Command("umount", { args: [dir] }).output();
    }
  }
}

// ---- made-up methods
if (wanted("methods")) {
  const s = await serve();
  const series = async () => {
    const { text } = await metricsOf(s.url);
    return text.split("\n").filter((l) => l && !l.startsWith("#")).length;
  };
  const odd = async (i: number) => {
    const res = await fetch(`${s.url}/p${i}`, { method: `M${i}` });
    await res.body?.cancel();
  };
  await odd(-1);
  await (await fetch(`${s.url}/metrics`)).body?.cancel();
  const before = await series();
  for (let i = 0; i < 10_000; i += 8) {
    await Promise.all(Array.from({ length: 8 }, (_, k) => odd(i + k)));
  }
  const after = await series();
  await stop(s);
  report(
    "methods",
    "10,000 made-up methods and paths: /metrics series count unchanged",
    `${before} series before, ${after} after`,
    before === after,
  );
}

// ---- forged feedback
if (wanted("forged")) {
  const keyFile = join(root, "keys.json");
  const labelKey = "chaos-label-key-" + crypto.randomUUID();
  const scoreKey = "chaos-score-key-" + crypto.randomUUID();
  await Deno.writeTextFile(
    keyFile,
    JSON.stringify({
      keys: [
        { name: "checkout", key: scoreKey, scopes: ["score"] },
        { name: "analysts", key: labelKey, scopes: ["feedback"] },
      ],
    }),
  );
  const s = await serve(["--keys", keyFile, "--feedback-rate", "10000:10000"]);
  const labelHeaders = { ...JSON_TYPE, authorization: `Bearer ${labelKey}` };
  const scoreHeaders = { ...JSON_TYPE, authorization: `Bearer ${scoreKey}` };
  // The same probes on a server that gets no forged labels: the scores must match.
  const probe = record(7, { terminal_id: "T00042" });
  const control = await serve(["--keys", keyFile]);
  await score(control.url, probe, scoreHeaders);
  const expected = (await score(control.url, probe, scoreHeaders)).body.score;
  await stop(control);
  await score(s.url, probe, scoreHeaders);
  const statuses = new Map<number, number>();
  const forge = async (w: number) => {
    for (let i = w; i < 5000; i += 8) {
      const res = await fetch(`${s.url}/v1/feedback`, {
        method: "POST",
        body: JSON.stringify({ transaction_id: `forged-${i}`, label: 1 }),
        headers: labelHeaders,
      });
      await res.body?.cancel();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 8 }, (_, w) => forge(w)));
  const after = (await score(s.url, probe, scoreHeaders)).body.score;
  const noKey = await fetch(`${s.url}/v1/feedback`, {
    method: "POST",
    body: JSON.stringify({ transaction_id: "forged-x", label: 1 }),
    headers: JSON_TYPE,
  });
  await noKey.body?.cancel();
  await stop(s);
  // The default rate (100/s, burst 200) on a fresh server: labels past it get 429.
  const r = await serve(["--keys", keyFile]);
  const id = (await score(r.url, record(1), scoreHeaders)).body.transaction_id;
  const rated = new Map<number, number>();
  let retryAfter: string | null = null;
  for (let i = 0; i < 400; i += 8) {
    await Promise.all(Array.from({ length: 8 }, async () => {
      const res = await fetch(`${r.url}/v1/feedback`, {
        method: "POST",
        body: JSON.stringify({ transaction_id: id, label: 0 }),
        headers: labelHeaders,
      });
      if (res.status === 429) retryAfter ??= res.headers.get("retry-after");
      await res.body?.cancel();
      rated.set(res.status, (rated.get(res.status) ?? 0) + 1);
    }));
  }
  await stop(r);
  const fmt = (m: Map<number, number>) => [...m].map(([k, v]) => `${v}× ${k}`).join(", ");
  report(
    "forged",
    "labels for unknown ids → 404 and move no score",
    `${
      fmt(statuses)
    }; the terminal's next score ${after}, ${expected} without the forged labels; without a key ${noKey.status}`,
    statuses.get(404) === 5000 && expected === after && noKey.status === 401,
  );
  report(
    "forged",
    "labels past the key's rate (default 100/s, burst 200) → 429 with Retry-After",
    `400 labels at once: ${fmt(rated)}; Retry-After ${retryAfter}`,
    (rated.get(429) ?? 0) > 0 && retryAfter !== null && (rated.get(200) ?? 0) >= 200,
  );
}

// ---- the table
const w = [14, 64];
console.log(`\n${"scenario".padEnd(w[0])}  ${"check".padEnd(w[1])}  result  figures`);
for (const r of rows) {
  console.log(
    `${r.scenario.padEnd(w[0])}  ${r.check.slice(0, w[1]).padEnd(w[1])}  ${
      r.ok ? "pass  " : "FAIL  "
    }  ${r.figures}`,
  );
}
const failed = rows.filter((r) => !r.ok).length;
console.log(`\n${rows.length - failed} passed, ${failed} failed`);
if (flags.out) await Deno.writeTextFile(flags.out, JSON.stringify(rows, null, 2));
await Deno.remove(root, { recursive: true });
Deno.exit(failed ? 1 : 0);
