import assert from "node:assert/strict";
import { join } from "node:path";
import { Rng } from "../lib/util/rng.ts";
import { PredictionLog } from "../lib/serving/predlog.ts";
import { promote } from "../lib/registry/aliases.ts";

import { createApp } from "./app.ts";
import { startServer } from "./serve.ts";
import { fixtureHolder, fixtureServer, recordsNow, servingFixture } from "./testing.ts";
import { trainRun } from "../lib/jobs/train.ts";

/** A random malformed (or occasionally valid) body derived from a valid record. */
function mutate(rng: Rng, good: Record<string, unknown>): string {
  const keys = Object.keys(good);
  const pick = <T>(a: T[]) => a[Math.floor(rng.random() * a.length)];
  const weird: unknown[] = [
    null,
    true,
    0,
    -1,
    1e308,
    "",
    "x".repeat(1 + Math.floor(rng.random() * 400)),
    "\u0000\uffff\ud800",
    [],
    [1, 2],
    {},
    { nested: { deep: [1] } },
    "2025-13-45T99:99:99Z",
    "NaN",
    -0,
    Number.MAX_SAFE_INTEGER + 2,
  ];
  const rec: Record<string, unknown> = { ...good };
  const ops = 1 + Math.floor(rng.random() * 3);
  for (let k = 0; k < ops; k++) {
    const op = Math.floor(rng.random() * 6);
    if (op === 0) delete rec[pick(keys)];
    else if (op === 1) rec[pick(keys)] = pick(weird);
    else if (op === 2) {
      rec[pick(["__proto__", "constructor", "extra", "is_fraud", "hour"])] = pick(weird);
    } else if (op === 3) rec[pick(keys)] = String(rec[pick(keys)]);
    else if (op === 4) rec[pick(keys)] = rng.random() * 1e6 - 5e5;
    else rec[pick(keys)] = pick(weird);
  }
  let text = JSON.stringify(rec);
  const textOp = Math.floor(rng.random() * 8);
  if (textOp === 0) text = text.slice(0, Math.floor(rng.random() * text.length)); // truncated
  else if (textOp === 1) {
    const at = Math.floor(rng.random() * text.length);
    text = text.slice(0, at) + pick(["NaN", "Infinity", "}", "{", '"', "\\", ",,", "1e999"]) +
      text.slice(at);
  } else if (textOp === 2) text = pick(["[", "]", "null", "42", '"str"', "[{}]", "{}", " "]);
  else if (textOp === 3) {
    const bytes = new Uint8Array(1 + Math.floor(rng.random() * 64));
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rng.random() * 256);
    text = new TextDecoder().decode(bytes);
  }
  return text;
}

/** The i-th fuzz request: score, batch or feedback, with a mutated body and random headers. */
function fuzzCase(
  rng: Rng,
  good: Record<string, unknown>,
  i: number,
): { path: string; body: string; headers: Record<string, string> } {
  const kind = i % 4;
  let path = "/v1/score", body = mutate(rng, good);
  if (kind === 1) {
    path = "/v1/score/batch";
    body = rng.random() < 0.5 ? `[${body},${mutate(rng, good)}]` : `${body}\n${mutate(rng, good)}`;
  } else if (kind === 2) {
    path = "/v1/feedback";
    body = mutate(rng, { transaction_id: "t", label: 1, labeled_at: "2025-01-01" });
  }
  // Mostly the route's own media type; sometimes another, a made-up one or none (415).
  const own = kind === 1 && rng.random() < 0.5 ? "application/x-ndjson" : "application/json";
  const u = rng.random();
  const headers: Record<string, string> = u < 0.85
    ? { "content-type": own }
    : u < 0.9
    ? { "content-type": rng.random() < 0.5 ? "text/plain" : "application/x-ndjson" }
    : u < 0.95
    ? { "content-type": String.fromCharCode(33 + Math.floor(rng.random() * 90)).repeat(3) }
    : {};
  return { path, body, headers };
}

/** Checks one fuzz answer: below 500, JSON, and an error body naming the problem. */
async function checkFuzzAnswer(res: Response, path: string, body: string): Promise<void> {
  assert.ok(res.status < 500, `${path} ${JSON.stringify(body).slice(0, 200)} → ${res.status}`);
  const ct = res.headers.get("content-type") ?? "";
  assert.ok(ct.includes("json"), `${path} answered ${ct}`);
  const text = await res.text();
  if (res.status >= 400) {
    const err = JSON.parse(text);
    assert.ok(typeof err.error === "string" && typeof err.detail === "string");
  }
}

Deno.test("fuzz: 12,000 random malformed bodies on score, batch and feedback: no 5xx", async () => {
  const f = await servingFixture();
  const app = createApp({
    models: await fixtureHolder(f),
    log: PredictionLog.open(":memory:"),
    now: f.now,
  });
  const rng = new Rng(11);
  const statuses = new Map<number, number>();
  const enc = new TextEncoder();
  for (let i = 0; i < 12_000; i++) {
    const { path, body, headers } = fuzzCase(rng, f.records[0], i);
    // Half declare their length (the body is read whole), half stream it (counted as read).
    if (i % 2 === 0) headers["content-length"] = String(enc.encode(body).length);
    const res = await app.request(path, { method: "POST", body, headers });
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    await checkFuzzAnswer(res, path, body);
  }
  const total = [...statuses.values()].reduce((a, b) => a + b, 0);
  assert.equal(total, 12_000);
  assert.ok(
    (statuses.get(422) ?? 0) > 1000 && (statuses.get(400) ?? 0) > 1000,
    JSON.stringify([...statuses]),
  );
});

Deno.test("fuzz over HTTP: 3,000 malformed bodies to a running server (bodies read natively): no 5xx", async () => {
  const f = await servingFixture();
  const server = await fixtureServer(f);
  try {
    const rng = new Rng(12);
    const statuses = new Map<number, number>();
    for (let i = 0; i < 3_000; i++) {
      const { path, body, headers } = fuzzCase(rng, f.records[0], i);
      const res = await fetch(`${server.url}${path}`, { method: "POST", body, headers });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      await checkFuzzAnswer(res, path, body);
    }
    assert.ok(
      (statuses.get(200) ?? 0) > 100 && (statuses.get(422) ?? 0) > 200 &&
        (statuses.get(400) ?? 0) > 200,
      JSON.stringify([...statuses]),
    );
  } finally {
    await server.stop();
  }
});

Deno.test("hot swap: promoting during a burst of requests loses none; a tampered run is refused", async () => {
  const f = await servingFixture();
  // Another iforest on the fixture's data, as a retrain would produce.
  const retrain = (trees: number, seed: number) =>
    trainRun({
      data: f.data,
      model: "iforest",
      params: { trees },
      split: { method: "time", trainDays: 14, delayDays: 7, testDays: 7 },
      seed,
    }, { root: f.root, quiet: true });
  const other = await retrain(50, 2);
  const logPath = join(await Deno.makeTempDir(), "log.sqlite");
  const server = await startServer({
    root: f.root,
    port: 0,
    logPath,
    history: f.data,
    pollSeconds: 0,
    log: () => {},
    now: f.now,
  });
  try {
    const seen = new Set<number>();
    let failures = 0, done = 0;
    let promoted = false;
    const worker = async (w: number) => {
      for (let i = w; i < 1600; i += 16) {
        const res = await fetch(`${server.url}/v1/score`, {
          method: "POST",
          body: JSON.stringify(f.records[i % f.records.length]),
          headers: { "content-type": "application/json" },
        });
        const body = await res.json();
        if (res.status !== 200) failures++;
        else seen.add(body.model.version);
        done++;
        if (!promoted && done >= 400) {
          promoted = true;
          // Move the alias and let the server pick it up while requests keep coming.
          await promote(other.id, { root: f.root, reason: "test swap" });
          const out = await server.reload();
          assert.equal(out.status, "swapped");
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
    assert.equal(failures, 0);
    assert.equal(done, 1600);
    assert.deepEqual([...seen].sort(), [1, 2], "both versions answered");
    const card = await (await fetch(`${server.url}/v1/model`)).json();
    assert.equal(card.run_id, other.id);

    // A run whose files no longer match their checksums is refused; v2 keeps serving.
    const bad = await retrain(20, 3);
    await promote(bad.id, { root: f.root });
    const bin = join(bad.dir, "model", "iforest.bin");
    const bytes = await Deno.readFile(bin);
    bytes[bytes.length - 1] ^= 0xff;
    await Deno.writeFile(bin, bytes);
    const out = await server.reload();
    assert.equal(out.status, "refused");
    assert.match(out.error ?? "", /checksum|sha256|manifest/i);
    const res = await fetch(`${server.url}/v1/score`, {
      method: "POST",
      body: JSON.stringify(f.records[0]),
      headers: { "content-type": "application/json" },
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).model.run_id, other.id);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /fraudlab_model_reloads_total\{result="refused"\} 1/);
    // Put the fixture's champion back for other tests in this process.
    await promote(f.run.id, { root: f.root });
  } finally {
    await server.stop();
  }
});

Deno.test("SIGTERM: in-flight requests finish and every answered score is in the log", async () => {
  const f = await servingFixture();
  const dir = await Deno.makeTempDir();
  const logPath = join(dir, "log.sqlite");
  const root = new URL("../", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "server/main.ts", "--port", "0", "--log", logPath, "--history", f.data],
    cwd: root,
    env: { FRAUDLAB_ARTIFACTS: f.root, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!/at (http:\/\/\S+)/.test(out)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited: ${out}`);
    out += value;
  }
  const url = /at (http:\/\/\S+)/.exec(out)![1];
  const records = recordsNow(f);
  let answered = 0, refused = 0, otherStatus = 0;
  let sent = 0;
  const worker = async () => {
    while (sent < 4000) {
      const i = sent++;
      try {
        const res = await fetch(`${url}/v1/score/batch`, {
          method: "POST",
          body: JSON.stringify([
            records[i % records.length],
            records[(i + 1) % records.length],
          ]),
          headers: { "content-type": "application/json" },
        });
        const text = await res.text();
        if (res.status === 200) answered += JSON.parse(text).length;
        else otherStatus++;
      } catch {
        refused++; // the listener is closed: not an answered request
        if (refused > 50) return;
      }
    }
  };
  const workers = Promise.all(Array.from({ length: 24 }, worker));
  // Terminate while requests are in flight.
  const until = Date.now() + 60_000;
  while (answered < 1000 && otherStatus === 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill("SIGTERM");
  await workers;
  const status = await child.status;
  (async () => {
    for (;;) if ((await reader.read()).done) break;
  })();
  await child.stderr.cancel();
  assert.equal(status.code, 0);
  assert.equal(otherStatus, 0);
  assert.ok(
    refused > 0,
    "requests after SIGTERM were refused (the test really stopped the server mid-burst)",
  );
  const log = PredictionLog.open(logPath);
  assert.equal(log.count(), answered, `answered ${answered}, logged ${log.count()}`);
  log.close();
});
