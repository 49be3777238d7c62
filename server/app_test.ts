import assert from "node:assert/strict";
import { featureFrame, transformFrame } from "../lib/features/pipeline.ts";
import { loadDataset } from "../lib/data/load.ts";
import { ModelHolder } from "../lib/serving/holder.ts";
import { parseMetrics, seriesKey } from "../lib/serving/metrics.ts";
import { PredictionLog } from "../lib/serving/predlog.ts";
import { type AppDeps, createApp } from "./app.ts";
import { constantTimeEqual, parseApiKeys } from "../lib/serving/auth.ts";
import { fixtureHolder, servingFixture } from "./testing.ts";
import pl from "nodejs-polars";

const JSON_HEADERS = { "content-type": "application/json" };

async function setup(opts: Partial<AppDeps> = {}) {
  const f = await servingFixture();
  const holder = await fixtureHolder(f);
  const log = PredictionLog.open(":memory:");
  const app = createApp({ models: holder, log, now: f.now, feedbackRate: null, ...opts });
  const post = (path: string, body: unknown, headers: Record<string, string> = JSON_HEADERS) =>
    app.request(path, {
      method: "POST",
      body: typeof body === "string" ? body : JSON.stringify(body),
      headers,
    });
  return { f, holder, log, app, post };
}

Deno.test("score: a record gets score, decision, three reasons and the model", async () => {
  const { f, post, log } = await setup();
  const res = await post("/v1/score", f.records[0]);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.transaction_id, f.records[0].tx_id);
  assert.equal(typeof body.score, "number");
  assert.equal(body.is_fraud, body.score >= body.threshold);
  // Answered at the shortest form that reads back as the same float32.
  assert.equal(Math.fround(body.threshold), f.model.threshold);
  assert.ok(String(body.threshold).replace(/^0\.0*|[.-]/g, "").length <= 9);
  assert.equal(body.reasons.length, 3);
  for (const r of body.reasons) assert.equal(r.contribution, Number(r.contribution.toPrecision(4)));
  for (let i = 1; i < 3; i++) {
    assert.ok(body.reasons[i - 1].contribution >= body.reasons[i].contribution);
  }
  for (const r of body.reasons) assert.ok("value" in r && typeof r.feature === "string");
  assert.deepEqual(body.model, { name: "txsim", version: 1, run_id: f.run.id });
  // Logged with the input record (its fields and values as received).
  const rows = log.predictions(0, Date.now() + 1000);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].transaction_id, body.transaction_id);
  assert.deepEqual(JSON.parse(rows[0].input), f.records[0]);
  assert.equal(rows[0].score, body.score);
});

Deno.test("score: replaying the next days one by one (with labels as feedback) equals batch scoring", async () => {
  const { f, post } = await setup();
  // The frame computation sees every label; online, each label arrives as feedback after scoring.
  const both = pl.concat([
    (await loadDataset(f.data, f.model.run.spec)).frame,
    f.ds.frame,
  ]);
  const ds = { ...f.ds, frame: both };
  const ff = featureFrame(ds, f.model.run.pipeline.velocity);
  const offset = both.height - f.ds.frame.height;
  const n = Math.min(f.records.length, 1500);
  const rows = Array.from({ length: n }, (_, i) => offset + i);
  const X = transformFrame(f.model.run.pipeline, ff, { rows });
  const expected = f.model.run.detector.score(X);
  const labels = f.ds.frame.getColumn("is_fraud").toArray() as number[];
  let worst = 0, sameDecision = 0;
  for (let i = 0; i < n; i++) {
    const res = await post("/v1/score", f.records[i]);
    assert.equal(res.status, 200);
    const body = await res.json();
    worst = Math.max(worst, Math.abs(body.score - expected[i]));
    if (body.is_fraud === expected[i] >= f.model.threshold) sameDecision++;
    const fb = await post("/v1/feedback", {
      transaction_id: body.transaction_id,
      label: labels[i],
    });
    assert.equal(fb.status, 200);
  }
  assert.ok(worst < 1e-6, `largest score difference ${worst}`);
  assert.equal(sameDecision, n);
});

Deno.test("score: validation errors are 400/422 JSON naming the field", async () => {
  const { f, post } = await setup();
  const good = f.records[1];
  const cases: [unknown, number, string, string | null][] = [
    [{ ...good, amount: undefined }, 422, "missing_field", "amount"],
    [{ ...good, amount: "12" }, 422, "wrong_type", "amount"],
    // JSON has no Infinity: 1e999 parses to it.
    [
      JSON.stringify(good).replace(/"amount":[^,]+/, '"amount":-1e999'),
      422,
      "not_finite",
      "amount",
    ],
    [{ ...good, channel: 3 }, 422, "wrong_type", "channel"],
    [{ ...good, channel: "x".repeat(300) }, 422, "too_long", "channel"],
    [{ ...good, tx_id: "i".repeat(200) }, 422, "too_long", "tx_id"],
    [{ ...good, tx_time: "yesterday" }, 422, "invalid_time", "tx_time"],
    [{ ...good, tx_time: "2025-02-30T10:00:00Z" }, 422, "invalid_time", "tx_time"],
    [{ ...good, tx_time: true }, 422, "wrong_type", "tx_time"],
    [{ ...good, amount: 1e308 }, 422, "out_of_range", "amount"],
    [{ ...good, amount: -1.7976931348623157e308 }, 422, "out_of_range", "amount"],
    [{ ...good, is_fraud: 1 }, 422, "unknown_field", "is_fraud"],
    [{ ...good, customer_id_n_1d: 3 }, 422, "unknown_field", "customer_id_n_1d"],
    [{ ...good, amount: [1] }, 422, "wrong_type", "amount"],
    [[good], 400, "invalid_body", null],
    [42, 400, "invalid_body", null],
    ["null", 400, "invalid_body", null],
    ['{"amount": NaN}', 400, "invalid_json", null],
    ["{", 400, "invalid_json", null],
    ["", 400, "invalid_json", null],
  ];
  for (const [body, status, code, field] of cases) {
    const res = await post("/v1/score", body);
    assert.equal(
      res.status,
      status,
      `${code} ${field}: ${JSON.stringify(body).slice(-80)} → ${res.status}`,
    );
    const err = await res.json();
    assert.equal(err.error, code, JSON.stringify(err));
    assert.equal(err.field, field);
    assert.equal(typeof err.detail, "string");
  }
  // A null feature is a missing value (imputed), not an error.
  assert.equal((await post("/v1/score", { ...good, device_risk: null })).status, 200);
  // Numbers are accepted for ids and entities.
  assert.equal((await post("/v1/score", { ...good, tx_id: 77, customer_id: 5 })).status, 200);
});

Deno.test("routes: 413 oversized, 404 unknown, 405 wrong method, health, readiness", async () => {
  const { f, post, app } = await setup();
  const big = { ...f.records[0], tx_id: "x".repeat(70_000) };
  const r413 = await post("/v1/score", big);
  assert.equal(r413.status, 413);
  assert.equal((await r413.json()).error, "body_too_large");
  // A declared Content-Length is checked before the body is read; within
  // the limit the body is read whole (the path real clients take).
  const text = JSON.stringify(f.records[0]);
  const declared = (length: number) =>
    app.request("/v1/score", {
      method: "POST",
      body: text,
      headers: { ...JSON_HEADERS, "content-length": String(length) },
    });
  const within = await declared(text.length);
  assert.equal(within.status, 200);
  assert.equal(typeof (await within.json()).score, "number");
  const over = await declared(64 * 1024 + 1);
  assert.equal(over.status, 413);
  assert.equal((await over.json()).error, "body_too_large");
  const r404 = await app.request("/v2/anything");
  assert.equal(r404.status, 404);
  assert.equal((await r404.json()).error, "not_found");
  const r405 = await app.request("/v1/score");
  assert.equal(r405.status, 405);
  assert.equal(r405.headers.get("allow"), "POST");
  assert.equal((await app.request("/healthz")).status, 200);
  const ready = await (await app.request("/readyz")).json();
  assert.equal(ready.model.run_id, f.run.id);
  // Without a model: not ready, and scoring answers 503 (not a crash).
  const empty = createApp({ models: new ModelHolder(), log: null });
  assert.equal((await empty.request("/readyz")).status, 503);
  const r503 = await empty.request("/v1/score", {
    method: "POST",
    body: "{}",
    headers: JSON_HEADERS,
  });
  assert.equal(r503.status, 503);
  assert.equal((await r503.json()).error, "not_ready");
  assert.equal((await empty.request("/healthz")).status, 200);
});

Deno.test("model card, OpenAPI document and local Swagger UI", async () => {
  const { f, app } = await setup();
  const card = await (await app.request("/v1/model")).json();
  assert.equal(card.run_id, f.run.id);
  assert.equal(card.kind, "iforest");
  assert.equal(card.threshold.threshold, f.model.threshold);
  assert.ok(card.metrics.test.averagePrecision > 0);
  assert.ok(!card.input_schema.required.includes("tx_time"));
  assert.ok(card.input_schema.required.includes("amount"));
  assert.equal(card.input_schema.additionalProperties, false);
  assert.ok(card.features.includes("customer_id_n_7d"));
  const doc = await (await app.request("/openapi.json")).json();
  assert.equal(doc.openapi, "3.1.0");
  for (const p of ["/v1/score", "/v1/score/batch", "/v1/feedback", "/v1/model", "/metrics"]) {
    assert.ok(doc.paths[p], `OpenAPI has ${p}`);
  }
  assert.deepEqual(doc.components.schemas.Transaction, card.input_schema);
  const page = await app.request("/docs");
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.ok(html.includes("/docs/swagger-ui-bundle.js") && !html.includes("https://"));
  const js = await app.request("/docs/swagger-ui-bundle.js");
  assert.equal(js.status, 200);
  assert.ok((await js.arrayBuffer()).byteLength > 100_000);
  for (const bad of ["package.json", "..%2Fpackage.json", "%2Fetc%2Fpasswd", "index.html"]) {
    assert.equal((await app.request(`/docs/${bad}`)).status, 404, bad);
  }
});

Deno.test("batch: JSON array and NDJSON, streamed, same answers as single scoring", async () => {
  const a = await setup(), b = await setup();
  const recs = a.f.records.slice(0, 700);
  const singles = [];
  for (const r of recs) singles.push(await (await a.post("/v1/score", r)).json());
  const res = await b.post("/v1/score/batch", recs);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json");
  const batch = await res.json();
  assert.deepEqual(batch, singles);
  // NDJSON in, NDJSON out (a fresh history: same records, same answers).
  const c = await setup();
  const nd = await c.post("/v1/score/batch", recs.map((r) => JSON.stringify(r)).join("\n") + "\n", {
    "content-type": "application/x-ndjson",
  });
  assert.equal(nd.status, 200);
  const lines = (await nd.text()).trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines, singles);
  assert.equal(c.log.count(), recs.length);
  // One bad record refuses the whole batch, naming it.
  const bad = recs.slice(0, 5).map((r, i) => (i === 3 ? { ...r, amount: "x" } : r));
  const r422 = await c.post("/v1/score/batch", bad);
  assert.equal(r422.status, 422);
  assert.equal((await r422.json()).field, "[3].amount");
  assert.equal(c.log.count(), recs.length, "a refused batch logs nothing");
  const ndBad = await c.post("/v1/score/batch", "{}\n{oops\n", {
    "content-type": "application/x-ndjson",
  });
  assert.equal(ndBad.status, 400);
  assert.equal((await ndBad.json()).field, "line 2");
  assert.equal((await c.post("/v1/score/batch", [])).status, 400);
  assert.equal((await c.post("/v1/score/batch", { a: 1 })).status, 400);
  const small = createApp({ models: c.holder, log: null, maxBatchRecords: 10 });
  const tooMany = await small.request("/v1/score/batch", {
    method: "POST",
    body: JSON.stringify(recs.slice(0, 11)),
    headers: JSON_HEADERS,
  });
  assert.equal(tooMany.status, 413);
  assert.equal((await tooMany.json()).error, "batch_too_large");
});

Deno.test("feedback: joins the log by transaction id; bad bodies are refused", async () => {
  const { f, post, log } = await setup();
  const scored = await (await post("/v1/score", f.records[2])).json();
  const ok = await post("/v1/feedback", {
    transaction_id: scored.transaction_id,
    label: 1,
    labeled_at: "2025-02-10T12:00:00Z",
  });
  assert.equal(ok.status, 200);
  const body = await ok.json();
  assert.equal(body.known, true);
  assert.equal(body.labeled_at, "2025-02-10T12:00:00.000Z");
  const rows = log.predictions(0, Date.now() + 1000);
  assert.equal(rows[0].label, 1);
  assert.equal(rows[0].labeled_at, Date.UTC(2025, 1, 10, 12));
  // The latest label wins.
  await post("/v1/feedback", { transaction_id: scored.transaction_id, label: false });
  assert.equal(log.predictions(0, Date.now() + 1000)[0].label, 0);
  const unknown = await post("/v1/feedback", { transaction_id: "never-seen", label: 0 });
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).field, "transaction_id");
  const cases: [unknown, number, string | null][] = [
    [{ label: 1 }, 422, "transaction_id"],
    [{ transaction_id: "a" }, 422, "label"],
    [{ transaction_id: "a", label: 2 }, 422, "label"],
    [{ transaction_id: "a", label: "1" }, 422, "label"],
    [{ transaction_id: "", label: 1 }, 422, "transaction_id"],
    [{ transaction_id: "a", label: 1, labeled_at: "soon" }, 422, "labeled_at"],
    [{ transaction_id: "a", label: 1, note: "x" }, 422, "note"],
    [[1], 400, null],
  ];
  for (const [b, status, field] of cases) {
    const res = await post("/v1/feedback", b);
    assert.equal(res.status, status, JSON.stringify(b));
    assert.equal((await res.json()).field, field);
  }
});

const KEYS = parseApiKeys(
  JSON.stringify({
    keys: [
      { name: "checkout", key: "score-key-0123456789", scopes: ["score"] },
      { name: "analysts", key: "label-key-0123456789", scopes: ["feedback"] },
      { name: "ops", key: "admin-key-0123456789", scopes: ["admin", "score"] },
    ],
  }),
  "test keys",
);

Deno.test("API keys: scopes for score, feedback and admin; health stays open; the key's name goes with the label", async () => {
  const { f, post, app, log } = await setup({ keys: KEYS });
  const rec = f.records[0];
  const as = (key: string) => ({ ...JSON_HEADERS, authorization: `Bearer ${key}` });
  assert.equal((await post("/v1/score", rec)).status, 401);
  const wrong = await post("/v1/score", rec, as("score-key-0123456788"));
  assert.equal(wrong.status, 401);
  assert.equal((await wrong.json()).error, "unauthorized");
  const ok = await post("/v1/score", rec, as("score-key-0123456789"));
  assert.equal(ok.status, 200);
  const id = (await ok.json()).transaction_id;
  assert.equal(
    (await post("/v1/score", rec, { ...JSON_HEADERS, "x-api-key": "admin-key-0123456789" }))
      .status,
    200,
  );
  const noScope = await post("/v1/score", rec, as("label-key-0123456789"));
  assert.equal(noScope.status, 403);
  assert.equal((await noScope.json()).error, "forbidden");
  assert.equal((await post("/v1/score/batch", [rec])).status, 401);
  assert.equal((await post("/v1/feedback", { transaction_id: id, label: 1 })).status, 401);
  assert.equal(
    (await post("/v1/feedback", { transaction_id: id, label: 1 }, as("score-key-0123456789")))
      .status,
    403,
  );
  const fb = await post(
    "/v1/feedback",
    { transaction_id: id, label: 1 },
    as("label-key-0123456789"),
  );
  assert.equal(fb.status, 200);
  assert.equal((await fb.json()).source, "analysts");
  assert.equal(
    log.predictions(0, Date.now() + 1e12).find((r) => r.transaction_id === id)?.label,
    1,
  );
  // Health stays open; the model card and metrics need admin.
  assert.equal((await app.request("/healthz")).status, 200);
  assert.equal((await app.request("/readyz")).status, 200);
  assert.equal((await app.request("/metrics")).status, 401);
  assert.equal((await app.request("/v1/model")).status, 401);
  const admin = { headers: { authorization: "Bearer admin-key-0123456789" } };
  assert.equal((await app.request("/metrics", admin)).status, 200);
  assert.equal((await app.request("/v1/model", admin)).status, 200);
  assert.equal(
    (await app.request("/metrics", { headers: { "x-api-key": "score-key-0123456789" } })).status,
    403,
  );
});

Deno.test("API keys: a key file is checked whole (names, lengths, scopes, duplicates) with one-line errors", () => {
  const bad: [unknown, RegExp][] = [
    [{ keys: [] }, /with a key/],
    [{ keys: [{ name: "A", key: "x".repeat(16), scopes: ["score"] }] }, /"name" must match/],
    [{ keys: [{ name: "a", key: "short", scopes: ["score"] }] }, /at least 16/],
    [{ keys: [{ name: "a", key: "x".repeat(16), scopes: ["root"] }] }, /unknown scope "root"/],
    [{ keys: [{ name: "a", key: "x".repeat(16), scopes: [] }] }, /"scopes" must list/],
    [{
      keys: [{ name: "a", key: "x".repeat(16), scopes: ["score"] }, {
        name: "a",
        key: "y".repeat(16),
        scopes: ["score"],
      }],
    }, /used twice/],
    [{ keys: [{ name: "a", key: "x".repeat(16), scopes: ["score"], extra: 1 }] }, /unknown field/],
  ];
  for (const [value, re] of bad) {
    assert.throws(() => parseApiKeys(JSON.stringify(value), "k.json"), re, JSON.stringify(value));
  }
  assert.throws(() => parseApiKeys("{", "k.json"), /k.json: not valid JSON/);
  assert.equal(constantTimeEqual("abc", "abc"), true);
  assert.equal(constantTimeEqual("abd", "abc"), false);
  assert.equal(constantTimeEqual("ab", "abc"), false);
  assert.equal(constantTimeEqual("abcd", "abc"), false);
  assert.equal(constantTimeEqual("", "abc"), false);
});

Deno.test("feedback: only logged transactions can be labeled (404 otherwise); a key over its rate gets 429 with Retry-After", async () => {
  const { f, post } = await setup({ feedbackRate: { perSecond: 1, burst: 5 } });
  const ids: string[] = [];
  for (const r of f.records.slice(0, 3)) {
    ids.push((await (await post("/v1/score", r)).json()).transaction_id);
  }
  const unknown = await post("/v1/feedback", { transaction_id: "forged-1", label: 1 });
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).error, "unknown_transaction");
  for (const id of ids) {
    assert.equal((await post("/v1/feedback", { transaction_id: id, label: 0 })).status, 200);
  }
  // The burst of 5 is spent (one 404, three labels, this one): the next is refused.
  assert.equal((await post("/v1/feedback", { transaction_id: ids[0], label: 1 })).status, 200);
  const over = await post("/v1/feedback", { transaction_id: ids[0], label: 1 });
  assert.equal(over.status, 429);
  assert.ok(Number(over.headers.get("retry-after")) >= 1);
  assert.equal((await over.json()).error, "rate_limited");
});

Deno.test("bodies must declare their media type (415), which also refuses cross-origin simple requests; CORS only for --cors", async () => {
  const { f, post, app } = await setup({ cors: "https://ops.example" });
  const rec = f.records[0];
  for (
    const type of [
      undefined,
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data",
    ]
  ) {
    const res = await post("/v1/score", rec, type ? { "content-type": type } : {});
    assert.equal(res.status, 415, String(type));
    assert.equal((await res.json()).error, "unsupported_media_type");
  }
  assert.equal(
    (await post("/v1/score", rec, { "content-type": "application/json; charset=utf-8" })).status,
    200,
  );
  assert.equal(
    (await post("/v1/score/batch", JSON.stringify(rec), { "content-type": "application/x-ndjson" }))
      .status,
    200,
  );
  assert.equal(
    (await post("/v1/score/batch", [rec], { "content-type": "text/plain" })).status,
    415,
  );
  const pre = await app.request("/v1/score", {
    method: "OPTIONS",
    headers: { origin: "https://ops.example", "access-control-request-method": "POST" },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get("access-control-allow-origin"), "https://ops.example");
  const other = await app.request("/v1/score", {
    method: "OPTIONS",
    headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
  });
  assert.equal(other.status, 403);
  const res = await post("/v1/score", rec, { ...JSON_HEADERS, origin: "https://evil.example" });
  assert.equal(res.headers.get("access-control-allow-origin"), null);
  const none = await setup();
  const plain = await none.app.request("/v1/score", {
    method: "OPTIONS",
    headers: { origin: "https://ops.example" },
  });
  assert.equal(plain.status, 405);
  assert.equal(plain.headers.get("access-control-allow-origin"), null);
});

Deno.test("docs: served with CSP, nosniff and no framing; no inline script; the validator is off", async () => {
  const { app } = await setup();
  const page = await app.request("/docs");
  assert.match(page.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
  assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
  assert.equal(page.headers.get("x-content-type-options"), "nosniff");
  const html = await page.text();
  assert.ok(!/<script>/.test(html), "no inline script");
  const init = await app.request("/docs/init.js");
  assert.equal(init.status, 200);
  assert.match(await init.text(), /validatorUrl: "none"/);
});

Deno.test("metrics: made-up methods and paths add no series", async () => {
  const { app } = await setup();
  const madeUp = async (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      await app.request(`/x${i}`, { method: `M${i}` });
      await app.request("/v1/score", { method: `Z${i}` });
    }
  };
  const lines = async () => (await (await app.request("/metrics")).text()).split("\n").length;
  await madeUp(0, 3);
  await app.request("/metrics");
  const before = await lines();
  await madeUp(3, 500);
  const text = await (await app.request("/metrics")).text();
  assert.equal(text.split("\n").length, before);
  assert.ok(!/method="M\d/.test(text) && !/x\d/.test(text));
  assert.match(text, /route="unmatched",method="other",status="404"/);
  assert.match(text, /route="\/v1\/score",method="other",status="405"/);
});

Deno.test("metrics: request counts and latency by route and status, scores, alert rate, model info", async () => {
  const { f, post, app } = await setup();
  for (const r of f.records.slice(0, 50)) await post("/v1/score", r);
  await post("/v1/score", { bad: 1 });
  await app.request("/nowhere");
  const text = await (await app.request("/metrics")).text();
  const m = parseMetrics(text);
  const ok = { route: "/v1/score", method: "POST", status: "200" };
  assert.equal(m.get(seriesKey("fraudlab_http_requests_total", ok)), 50);
  assert.equal(m.get(seriesKey("fraudlab_http_request_duration_seconds_count", ok)), 50);
  assert.equal(
    m.get(seriesKey("fraudlab_http_requests_total", { ...ok, status: "422" })),
    1,
  );
  assert.equal(
    m.get(
      seriesKey("fraudlab_http_requests_total", {
        route: "unmatched",
        method: "GET",
        status: "404",
      }),
    ),
    1,
  );
  assert.equal(m.get(seriesKey("fraudlab_score_count", { model: "txsim", version: "1" })), 50);
  const alerts = m.get(
    seriesKey("fraudlab_predictions_total", { model: "txsim", version: "1", decision: "alert" }),
  ) ?? 0;
  const passes = m.get(
    seriesKey("fraudlab_predictions_total", { model: "txsim", version: "1", decision: "pass" }),
  ) ?? 0;
  assert.equal(alerts + passes, 50);
  assert.equal(m.get("fraudlab_alert_rate"), alerts / 50);
  assert.equal(
    m.get(
      seriesKey("fraudlab_model_info", {
        model: "txsim",
        version: "1",
        run_id: f.run.id,
        kind: "iforest",
        alias: "champion",
      }),
    ),
    1,
  );
  assert.ok(text.includes("# TYPE fraudlab_http_request_duration_seconds histogram"));
  // Buckets are cumulative and end at the count.
  const inf = m.get(
    `fraudlab_http_request_duration_seconds_bucket{route="/v1/score",method="POST",status="200",le="+Inf"}`,
  );
  assert.equal(inf, 50);
});

Deno.test("event time: the server clock unless the record's own lies within the retention and the skew; history pruning cannot be steered", async () => {
  const { f, post, log } = await setup();
  const rec = f.records[f.records.length - 1];
  const now = f.now();
  const at = (ms: number) => ({ ...rec, tx_id: `w${ms}`, tx_time: new Date(ms).toISOString() });
  const before = await (await post("/v1/model", {})).status; // (GET route: a POST is refused)
  assert.equal(before, 405);
  const future = await post("/v1/score", { ...rec, tx_id: "f1", tx_time: "2199-12-31T00:00:00Z" });
  assert.equal(future.status, 422);
  const err = await future.json();
  assert.equal(err.error, "time_out_of_window");
  assert.equal(err.field, "tx_time");
  assert.equal((await post("/v1/score", at(now + 6 * 60_000))).status, 422, "past the skew");
  assert.equal((await post("/v1/score", at(now + 4 * 60_000))).status, 200, "within the skew");
  assert.equal(
    (await post("/v1/score", at(now - 38 * 86_400_000))).status,
    422,
    "older than retention",
  );
  const { tx_time: _, ...timeless } = rec;
  const res = await post("/v1/score", { ...timeless, tx_id: "no-time" });
  assert.equal(res.status, 200);
  const row = log.predictions(0, Infinity).find((r) => r.transaction_id === "no-time")!;
  assert.equal(row.event_time, now);
  // Batches refuse a bad time whole, naming the record.
  const batch = await post("/v1/score/batch", [rec, { ...rec, tx_time: "2199-01-01T00:00:00Z" }]);
  assert.equal(batch.status, 422);
  assert.equal((await batch.json()).field, "[1].tx_time");
});

Deno.test("reasons flagged: passes answer no reasons and say so, alerts and ?explain=true get them, scores unchanged", async () => {
  const f = await servingFixture();
  const always = await setup();
  const flagged = await setup({ reasons: "flagged" });
  let passes = 0, alerts = 0;
  for (const rec of f.records.slice(0, 300)) {
    const a = await (await always.post("/v1/score", rec)).json();
    const b = await (await flagged.post("/v1/score", rec)).json();
    assert.equal(b.score, a.score);
    assert.equal(b.is_fraud, a.is_fraud);
    if (b.is_fraud) {
      alerts++;
      assert.deepEqual(b.reasons, a.reasons);
      assert.equal(b.reasons_skipped, undefined);
    } else {
      passes++;
      assert.deepEqual(b.reasons, []);
      assert.equal(b.reasons_skipped, true);
    }
  }
  assert.ok(passes > 0 && alerts > 0, `${passes} passes, ${alerts} alerts`);
  const pass = f.records.find((_, i) => i >= 300) as Record<string, unknown>;
  const asked = await flagged.app.request("/v1/score?explain=true", {
    method: "POST",
    body: JSON.stringify({ ...pass, tx_id: "asked-1" }),
    headers: { "content-type": "application/json" },
  });
  const body = await asked.json();
  assert.equal(body.reasons.length, 3);
  assert.equal(body.reasons_skipped, undefined);
  const doc = await (await flagged.app.request("/openapi.json")).json();
  assert.ok(doc.components.schemas.Score.properties.reasons_skipped);
  assert.ok(
    doc.paths["/v1/score"].post.parameters.some((p: { name: string }) => p.name === "explain"),
  );
  always.log.close();
  flagged.log.close();
});
