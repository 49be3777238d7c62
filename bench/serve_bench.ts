/**
 * Serving benchmark, side by side in one run on the peer's dataset and load:
 *
 * 1. trains an iforest run on the peer's CSV (its spec and mod5 split) in a
 *    temporary artifacts root and promotes it to champion;
 * 2. in-process batch scoring through the server's code path (validation,
 *    features, score, reasons) in rows/s;
 * 3. wrk (2 threads, 32 connections, `--seconds`, `--latency`) against a bare
 *    Hono route that parses the JSON body and returns fixed JSON, and against
 *    `deno task serve`'s /v1/score (prediction log on), alternating for
 *    `--rounds` rounds with a fresh process each time, each process first
 *    warmed by `--warmup` seconds of the same load (not counted, so the
 *    measured window sees compiled code in both); the body is the peer's:
 *    the first test row (row 4 under mod5);
 * 4. with `--peer`, the FastAPI peer's serve task (`bench.py --task iforest`
 *    then `--task serve`) in the same run;
 * 5. with `--keys`, fraudlab runs with an API key file (three keys with
 *    scopes) and every request carries the scoring key (the bare route gets
 *    the same header and ignores it).
 *
 * deno run -A bench/serve_bench.ts --peer-spec ../shared/peers/specs/payment_fraud.json \
 *   --csv ../shared/data/payment_fraud.csv [--seconds 20] [--rounds 3] [--warmup 2] [--peer] [--keys]
 *
 * `--model KIND` trains the champion as that kind (default iforest);
 * `--reasons always|flagged` passes the server's reasons policy. *
 * With `--compare-repo DIR`, every round also serves the same run from the
 * checkout in DIR (the code before a change), after fraudlab's round, so
 * both ratios to the bare route come from the same run; `--compare-args
 * "ARGS"` serves it with these server flags added instead (or as well),
 * e.g. `--compare-args "--explain-threads 1"`; `--challenger KIND` trains a
 * second run as the challenger, e.g. for `--compare-args "--shadow NAME@challenger"`.
 */
import { join } from "node:path";
import { loadDataset } from "../lib/data/load.ts";

import { promote } from "../lib/registry/aliases.ts";
import { loadServedModel } from "../lib/serving/scorer.ts";
import { validateRecord } from "../lib/serving/schema.ts";
import { parseBatch } from "../server/http.ts";
import { datasetRecords } from "../lib/serving/records.ts";
import { intFlag, parseFlags } from "../lib/util/cli.ts";
import { loadPeerSpec, runPeerTask } from "./peer.ts";
import { serverArgs } from "./server_args.ts";
import { trainRun } from "../lib/jobs/train.ts";
import { DEFAULT_EXPLAIN_THREADS } from "../lib/models/treeshap_threads.ts";

const flags = parseFlags(Deno.args, {
  "peer-spec": { type: "string" },
  csv: { type: "string" },
  seconds: { type: "string" },
  rounds: { type: "string" },
  warmup: { type: "string" },
  peer: { type: "boolean" },
  keys: { type: "boolean" },
  out: { type: "string" },
  "compare-repo": { type: "string" },
  "compare-args": { type: "string" },
  challenger: { type: "string" },
  model: { type: "string" },
  reasons: { type: "string" },
  "in-process-rows": { type: "string" },
});
if (!flags["peer-spec"] || !flags.csv) {
  console.error(
    "usage: serve_bench.ts --peer-spec SPEC.json --csv FILE [--seconds 20] [--rounds 3] [--warmup 2] [--peer]",
  );
  Deno.exit(2);
}
const seconds = intFlag(flags.seconds, { name: "seconds", fallback: 20, min: 1 });
const rounds = intFlag(flags.rounds, { name: "rounds", fallback: 3, min: 1 });
const warmup = intFlag(flags.warmup, { name: "warmup", fallback: 2, min: 0 });
const repo = new URL("../", import.meta.url).pathname;
const peersDir = join(flags["peer-spec"], "..", "..");

const { spec } = await loadPeerSpec(flags["peer-spec"]);
const root = await Deno.makeTempDir({ prefix: "fraudlab_serve_bench_" });
// --model: the champion's kind (default iforest; gbdt trains 300 trees of depth 6);
// --reasons: the server's --reasons (always or flagged).
const kind = (flags.model as string | undefined) ?? "iforest";
const serverExtra = flags.reasons ? ["--reasons", flags.reasons as string] : [];
console.log(`training ${kind} on ${flags.csv} (mod5 split) in ${root}`);
const run = await trainRun({
  data: flags.csv,
  spec: await writeSpec(spec),
  model: kind,
  split: { method: "mod5" },
  seed: 0,
}, { root, quiet: true });
await promote(run.id, { root });
// --challenger KIND: a second run (seed 1) as the challenger, for `--compare-args "--shadow NAME@challenger"`.
if (flags.challenger) {
  const c = await trainRun({
    data: flags.csv,
    spec: join(root, "spec.json"),
    model: flags.challenger as string,
    split: { method: "mod5" },
    seed: 1,
  }, { root, quiet: true });
  const p = await promote(c.id, { root, alias: "challenger" });
  console.log(`challenger: ${p.model}@challenger = v${p.version.version} (${flags.challenger})`);
}

async function writeSpec(s: unknown): Promise<string> {
  const p = join(root, "spec.json");
  await Deno.writeTextFile(p, JSON.stringify(s));
  return p;
}

// ---- in-process batch scoring through the server's path
// As the server loads it (reasons on as many threads as it would use).
const model = await loadServedModel("champion", root, { explainThreads: DEFAULT_EXPLAIN_THREADS });
const ds = await loadDataset(flags.csv, model.run.spec);
const records = datasetRecords(ds, model.schema);
const texts = records.map((r) => JSON.stringify(r));
// --in-process-rows: records for the in-process figure (fewer for models with costly reasons).
const batchRows = flags["in-process-rows"]
  ? intFlag(flags["in-process-rows"] as string, {
    name: "in-process-rows",
    fallback: 200_000,
    min: 1,
  })
  : Math.max(200_000, records.length);
const inProcess: number[] = [];
const oneByOne: number[] = [];
// The batch endpoint's path: each 500-record chunk arrives as a JSON array
// body (as /v1/score/batch takes it), parsed and validated whole, then
// scored record by record (velocity features, score, decision, reasons).
const CHUNK = 500;
const inProcessReasons = flags.reasons === "flagged" ? "flagged" : "all";
const bodies: string[] = [];
for (let start = 0; start < batchRows; start += CHUNK) {
  const chunk = [];
  for (let i = start; i < Math.min(start + CHUNK, batchRows); i++) {
    chunk.push(texts[i % texts.length]);
  }
  bodies.push(`[${chunk.join(",")}]`);
}
for (let rep = 0; rep < 3; rep++) {
  let t0 = performance.now();
  let alerts = 0, at = 0;
  for (const text of bodies) {
    const { values } = parseBatch(text, "application/json", CHUNK);
    const parsed = values.map((v, i) => validateRecord(model.schema, v, { where: `[${i}]` }));
    for (const p of parsed) {
      if (model.score(p, { history: null, id: `b${at++}`, reasons: inProcessReasons }).is_fraud) {
        alerts++;
      }
    }
  }
  let s = (performance.now() - t0) / 1000;
  inProcess.push(batchRows / s);
  console.log(
    `in-process batch: ${batchRows} records (${CHUNK}-record JSON array bodies parsed, validated, features, score, reasons) in ${
      s.toFixed(3)
    } s = ${Math.round(batchRows / s)} rows/s (${alerts} alerts)`,
  );
  // The same records one at a time (the /v1/score path), for comparison.
  t0 = performance.now();
  let alertsOne = 0;
  for (let i = 0; i < batchRows; i++) {
    const parsed = validateRecord(model.schema, JSON.parse(texts[i % texts.length]));
    if (model.score(parsed, { history: null, id: `b${i}`, reasons: inProcessReasons }).is_fraud) {
      alertsOne++;
    }
  }
  s = (performance.now() - t0) / 1000;
  oneByOne.push(batchRows / s);
  console.log(
    `in-process one by one: ${batchRows} records in ${s.toFixed(3)} s = ${
      Math.round(batchRows / s)
    } rows/s (${alertsOne} alerts)`,
  );
  if (alertsOne !== alerts) {
    throw new Error(`batch and one-by-one alerts differ: ${alerts} vs ${alertsOne}`);
  }
}

// ---- wrk
const body = JSON.stringify(records[4]);
const lua = join(root, "wrk_post.lua");
const scoringKey = "bench-score-key-" + crypto.randomUUID();
const keyFile = join(root, "keys.json");
await Deno.writeTextFile(
  keyFile,
  JSON.stringify({
    keys: [
      { name: "checkout", key: scoringKey, scopes: ["score"] },
      { name: "analysts", key: "bench-label-key-" + crypto.randomUUID(), scopes: ["feedback"] },
      { name: "ops", key: "bench-admin-key-" + crypto.randomUUID(), scopes: ["admin"] },
    ],
  }),
);
const headers: Record<string, string> = { "content-type": "application/json" };
if (flags.keys) headers.authorization = `Bearer ${scoringKey}`;
await Deno.writeTextFile(
  lua,
  `wrk.method = "POST"\nwrk.body = [[${body}]]\n` +
    Object.entries(headers).map(([k, v]) => `wrk.headers["${k}"] = "${v}"\n`).join(""),
);
console.log(`request body (row 4): ${body}`);

interface Wrk {
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  requests: number;
  non2xx: number;
  socketErrors: string | null;
}

function ms(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) return NaN;
  // wrk prints 2 decimals in its unit: 3 decimals of ms keep them all.
  return Math.round(Number(m[1]) * (m[2] === "us" ? 1 : m[2] === "s" ? 1e6 : 1000)) / 1000;
}

function parseWrk(out: string): Wrk {
  const pct = (p: string) => ms(new RegExp(`^\\s*${p}%\\s+(\\S+)`, "m").exec(out)?.[1] ?? "");
  return {
    rps: Number(/Requests\/sec:\s*([\d.]+)/.exec(out)?.[1] ?? NaN),
    p50: pct("50"),
    p90: pct("90"),
    p99: pct("99"),
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN),
    non2xx: Number(/Non-2xx or 3xx responses:\s*(\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: /Socket errors: (.*)/.exec(out)?.[1] ?? null,
  };
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      const r = await fetch(url);
      await r.body?.cancel();
      if (r.ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never came up`);
}

async function load(
  name: string,
  args: string[],
  env: Record<string, string>,
  port: number,
  cwd = repo,
): Promise<Wrk & { rssMiB: number | null }> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { ...env, NO_COLOR: "1" },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor(`${base}/healthz`);
    const check = await fetch(`${base}/v1/score`, { method: "POST", body, headers });
    const answer = await check.json();
    if (!check.ok) throw new Error(`${name}: check request failed: ${JSON.stringify(answer)}`);
    if (warmup > 0) {
      // The same load, not counted: the JIT compiles the hot path before the measured window.
      const w = await new Deno.Command("wrk", {
        args: ["-t2", "-c32", `-d${warmup}s`, "-s", lua, `${base}/v1/score`],
        stdout: "null",
        stderr: "null",
      }).output();
      if (!w.success) throw new Error(`${name}: warm-up wrk failed`);
    }
    const out = await new Deno.Command("wrk", {
      args: ["-t2", "-c32", `-d${seconds}s`, "--latency", "-s", lua, `${base}/v1/score`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    let rssMiB: number | null = null;
    try {
      const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
      const kib = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
      rssMiB = Number.isFinite(kib) ? Math.round(kib / 1024) : null;
    } catch { /* not on Linux */ }
    const r = parseWrk(text);
    console.log(
      `${name}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p90 ${r.p90} ms, p99 ${r.p99} ms, ` +
        `${r.requests} requests, non-2xx ${r.non2xx}${
          r.socketErrors ? `, socket errors ${r.socketErrors}` : ""
        }, ` +
        `peak RSS ${rssMiB} MiB`,
    );
    return { ...r, rssMiB };
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

const bare: Wrk[] = [], ours: Wrk[] = [], other: Wrk[] = [];
// --compare-repo DIR: each round also serves the same run from another
// checkout (the code before a change), so both ratios come from one run.
const compareRepo = flags["compare-repo"] as string | undefined;
const compareArgs = ((flags["compare-args"] as string | undefined) ?? "").split(/\s+/).filter((a) =>
  a
);
const compared = compareRepo || compareArgs.length;
const logDir = await Deno.makeTempDir();
for (let r = 0; r < rounds; r++) {
  bare.push(await load("bare Hono", ["run", "-A", "bench/hono_bare.ts"], { PORT: "8772" }, 8772));
  ours.push(
    await load(
      "fraudlab /v1/score",
      serverArgs(
        8773,
        join(logDir, `round${r}.sqlite`),
        [...(flags.keys ? ["--keys", keyFile] : []), ...serverExtra],
      ),
      { FRAUDLAB_ARTIFACTS: root },
      8773,
    ),
  );
  if (compared) {
    other.push(
      await load(
        "compared /v1/score",
        serverArgs(8774, join(logDir, `other${r}.sqlite`), [
          ...(flags.keys ? ["--keys", keyFile] : []),
          ...serverExtra,
          ...compareArgs,
        ]),
        { FRAUDLAB_ARTIFACTS: root },
        8774,
        compareRepo ?? repo,
      ),
    );
  }
}

let peer: { rps: number; p99: number } | null = null;
if (flags.peer) {
  const out = await Deno.makeTempDir();
  console.log("peer: bench.py --task iforest, then --task serve (FastAPI + uvicorn, wrk 20 s)");
  const fit = await runPeerTask(peersDir, flags["peer-spec"], "iforest", flags.csv, out);
  const serve = fit
    ? await runPeerTask(peersDir, flags["peer-spec"], "serve", flags.csv, out)
    : null;
  if (serve?.wrk) {
    peer = { rps: serve.wrk.requests_per_s, p99: serve.wrk.p99_ms };
    console.log(`peer FastAPI /score: ${peer.rps} req/s, p99 ${peer.p99} ms`);
  }
  await Deno.remove(out, { recursive: true });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const summary = {
  bareRps: median(bare.map((w) => w.rps)),
  oursRps: median(ours.map((w) => w.rps)),
  oursP99: median(ours.map((w) => w.p99)),
  oursP50: median(ours.map((w) => w.p50)),
  bareP99: median(bare.map((w) => w.p99)),
  ratioToBare: 0,
  perRoundRatio: ours.map((w, i) => w.rps / bare[i].rps),
  inProcessRowsPerS: median(inProcess),
  inProcessOneByOneRowsPerS: median(oneByOne),
  peer,
  ratioToPeer: peer ? 0 : null as number | null,
};
summary.ratioToBare = summary.oursRps / summary.bareRps;
if (peer) summary.ratioToPeer = summary.oursRps / peer.rps;
console.log(
  `\n== summary (medians over ${rounds} rounds, wrk -t2 -c32 -d${seconds}s after a ${warmup}-s warm-up${
    flags.keys ? "; fraudlab with API keys, requests carrying the scoring key" : ""
  })`,
);
console.log(`bare Hono          ${summary.bareRps.toFixed(0)} req/s, p99 ${summary.bareP99} ms`);
console.log(
  `fraudlab /v1/score ${
    summary.oursRps.toFixed(0)
  } req/s, p50 ${summary.oursP50} ms, p99 ${summary.oursP99} ms ` +
    `= ${(100 * summary.ratioToBare).toFixed(1)}% of bare Hono (rounds: ${
      summary.perRoundRatio.map((x) => (100 * x).toFixed(1) + "%").join(", ")
    })`,
);
if (compared) {
  const ratios = other.map((w, i) => w.rps / bare[i].rps);
  console.log(
    `compared (${[compareRepo, ...compareArgs].filter(Boolean).join(" ")}) ${
      median(other.map((w) => w.rps)).toFixed(0)
    } req/s, p99 ${median(other.map((w) => w.p99))} ms = ${
      (100 * median(other.map((w) => w.rps)) / summary.bareRps).toFixed(1)
    }% of bare Hono (rounds: ${ratios.map((x) => (100 * x).toFixed(1) + "%").join(", ")})`,
  );
}
if (peer) {
  console.log(
    `FastAPI peer       ${peer.rps} req/s, p99 ${peer.p99} ms → fraudlab ${
      summary.ratioToPeer!.toFixed(0)
    }×`,
  );
}
model.close();
console.log(
  `in-process batch scoring: ${
    Math.round(summary.inProcessRowsPerS)
  } rows/s (median of 3); one by one ${Math.round(summary.inProcessOneByOneRowsPerS)} rows/s`,
);
if (flags.out) {
  await Deno.writeTextFile(
    flags.out,
    JSON.stringify({ summary, bare, ours, inProcess, oneByOne }, null, 2),
  );
}
await Deno.remove(root, { recursive: true });
await Deno.remove(logDir, { recursive: true });
