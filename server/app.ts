/**
 * The scoring server's HTTP app: `createApp(deps)` returns a Hono app that
 * tests drive in-process with `app.request(...)` and `main.ts` serves.
 *
 * Routes: POST /v1/score, POST /v1/score/batch, POST /v1/feedback,
 * GET /v1/model, /healthz, /readyz, /metrics, /openapi.json, /docs.
 * Every error is JSON `{ error, field, detail }`; bad input gets a 4xx.
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { createHash, timingSafeEqual } from "node:crypto";
import { headline } from "../lib/registry/runs.ts";
import type { ModelHolder, Serving } from "../lib/serving/holder.ts";
import type { PredictionLog } from "../lib/serving/predlog.ts";
import {
  emptyBody,
  invalidJson,
  jsonSchemaOf,
  parseBatch,
  type ParsedRecord,
  parseJson,
  RequestError,
  validateFeedback,
  validateRecord,
} from "../lib/serving/schema.ts";
import { answerJson, scoreParsed, type ScoreResult } from "../lib/serving/scorer.ts";
import { ulid } from "../lib/util/ulid.ts";
import { openApiDocument } from "./openapi.ts";
import { docsAsset, docsPage } from "./docs.ts";
import { ServerMetrics } from "./metrics.ts";

/** What the app needs. */
export interface AppDeps {
  models: ModelHolder;
  /** Where predictions and feedback go (null: not logged, tests only). */
  log: PredictionLog | null;
  /** Metrics (a fresh set when omitted). */
  metrics?: ServerMetrics;
  /** Required in `Authorization: Bearer …` or `X-API-Key` for score and feedback when set. */
  apiKey?: string | null;
  /** Largest body of /v1/score and /v1/feedback, bytes. Default 64 KiB. */
  maxBodyBytes?: number;
  /** Largest body of /v1/score/batch, bytes. Default 16 MiB. */
  maxBatchBytes?: number;
  /** Most records in one batch. Default 10,000. */
  maxBatchRecords?: number;
  /** Clock (epoch ms), for tests. */
  now?: () => number;
}

const KNOWN_ROUTES: Record<string, string[]> = {
  "/v1/score": ["POST"],
  "/v1/score/batch": ["POST"],
  "/v1/feedback": ["POST"],
  "/v1/model": ["GET"],
  "/healthz": ["GET"],
  "/readyz": ["GET"],
  "/metrics": ["GET"],
  "/openapi.json": ["GET"],
  "/docs": ["GET"],
};

const JSON_TYPE = { "content-type": "application/json" };

function errorJson(c: Context, e: RequestError): Response {
  return c.json(e.toJSON(), e.status as 400);
}

function sha256(text: string): Uint8Array {
  return createHash("sha256").update(text).digest();
}

/** Builds the app (see the module doc). */
export function createApp(deps: AppDeps): Hono {
  const metrics = deps.metrics ?? new ServerMetrics();
  const now = deps.now ?? Date.now;
  const maxBody = deps.maxBodyBytes ?? 64 * 1024;
  const maxBatchBytes = deps.maxBatchBytes ?? 16 * 1024 * 1024;
  const maxBatchRecords = deps.maxBatchRecords ?? 10_000;
  const keyDigest = deps.apiKey ? sha256(deps.apiKey) : null;
  const started = now();
  metrics.watch(deps.models, deps.log);

  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof RequestError) return errorJson(c, err);
    console.error(`internal error on ${c.req.method} ${c.req.path}: ${err.stack ?? err}`);
    return c.json({ error: "internal", field: null, detail: "internal server error" }, 500);
  });

  app.notFound((c) => {
    const methods = KNOWN_ROUTES[c.req.path];
    if (methods) {
      c.header("Allow", methods.join(", "));
      return c.json({
        error: "method_not_allowed",
        field: null,
        detail: `${c.req.method} is not allowed on ${c.req.path} (allowed: ${methods.join(", ")})`,
      }, 405);
    }
    return c.json({
      error: "not_found",
      field: null,
      detail: `no route ${c.req.method} ${c.req.path.slice(0, 200)}`,
    }, 404);
  });

  const tooLarge = (bytes: number) =>
    new RequestError(413, "body_too_large", null, `the request body is larger than ${bytes} bytes`);

  /**
   * The body as text, refusing more than `bytes`: a declared Content-Length
   * is checked before reading; a body without one is counted as it streams.
   */
  const readBody = (c: Context, bytes: number): Promise<string> => {
    const declared = c.req.header("content-length");
    if (declared === undefined) return readCounted(c.req.raw.body, bytes);
    if (Number(declared) > bytes) return Promise.reject(tooLarge(bytes));
    return c.req.raw.text();
  };

  /**
   * The body parsed as JSON, with the same limits as {@linkcode readBody}.
   * With a declared length the body goes to `Request.json()`, which takes a
   * small body the server already holds in one synchronous step, where
   * `text()` reads it through a stream. Not an async function: the common
   * case hands back that promise itself.
   */
  const readJson = (c: Context, bytes: number): Promise<unknown> => {
    const declared = c.req.header("content-length");
    if (declared === undefined) return readCounted(c.req.raw.body, bytes).then(parseJson);
    const size = Number(declared);
    if (size > bytes) return Promise.reject(tooLarge(bytes));
    if (size === 0) return Promise.reject(emptyBody());
    return c.req.raw.json().catch(notJson);
  };

  const notJson = (e: unknown): never => {
    throw e instanceof SyntaxError ? invalidJson(e) : e;
  };

  const readCounted = async (
    body: ReadableStream<Uint8Array> | null,
    bytes: number,
  ): Promise<string> => {
    if (!body) return "";
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += chunk.byteLength;
      if (size > bytes) throw tooLarge(bytes);
      chunks.push(chunk);
    }
    const all = new Uint8Array(size);
    let at = 0;
    for (const ch of chunks) {
      all.set(ch, at);
      at += ch.byteLength;
    }
    return new TextDecoder().decode(all);
  };

  const authorized = (c: Context): void => {
    if (!keyDigest) return;
    const auth = c.req.header("authorization");
    const given = auth?.startsWith("Bearer ") ? auth.slice(7) : c.req.header("x-api-key");
    // Compare digests: equal lengths, constant time whatever the key sent.
    if (given === undefined || !timingSafeEqual(sha256(given), keyDigest)) {
      throw new RequestError(
        401,
        "unauthorized",
        null,
        "a valid API key is required (Authorization: Bearer KEY or X-API-Key: KEY)",
      );
    }
  };

  const serving = (): Serving => {
    const s = deps.models.current;
    if (!s) throw new RequestError(503, "not_ready", null, "no model is loaded yet");
    return s;
  };

  /** Scores one validated record, logs it and counts it (one clock read for its id and log time). */
  const scoreOne = (s: Serving, parsed: ParsedRecord): ScoreResult => {
    const at = now();
    const result = scoreParsed(s.model, s.history, parsed, parsed.id ?? ulid(at));
    deps.log?.append({
      transaction_id: result.transaction_id,
      scored_at: at,
      event_time: parsed.timeMs,
      model: s.model.name,
      version: s.model.version,
      run_id: s.model.run.id,
      score: result.score,
      threshold: s.model.threshold,
      is_fraud: result.is_fraud,
      input: JSON.stringify(parsed.values),
    });
    metrics.scored(s.model, result.score, result.is_fraud);
    return result;
  };

  app.post("/v1/score", async (c) => {
    authorized(c);
    const s = serving(); // read once: this request finishes on this model
    const parsed = validateRecord(s.model.schema, await readJson(c, maxBody));
    return new Response(answerJson(s.model, scoreOne(s, parsed)), { headers: JSON_TYPE });
  });

  app.post("/v1/score/batch", async (c) => {
    authorized(c);
    const s = serving();
    const text = await readBody(c, maxBatchBytes);
    const { ndjson, values } = parseBatch(
      text,
      c.req.header("content-type") ?? "",
      maxBatchRecords,
    );
    if (values.length > maxBatchRecords) {
      throw new RequestError(
        413,
        "batch_too_large",
        null,
        `a batch holds at most ${maxBatchRecords} transactions`,
      );
    }
    // Validate everything first: a batch is scored whole or not at all.
    const parsed = values.map((v, i) => validateRecord(s.model.schema, v, `[${i}]`));
    const enc = new TextEncoder();
    const CHUNK = 500;
    let next = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const end = Math.min(next + CHUNK, parsed.length);
        let out = next === 0 && !ndjson ? "[" : "";
        for (let i = next; i < end; i++) {
          const r = answerJson(s.model, scoreOne(s, parsed[i]));
          out += ndjson ? r + "\n" : (i > 0 ? "," : "") + r;
        }
        next = end;
        if (next >= parsed.length && !ndjson) out += "]";
        controller.enqueue(enc.encode(out));
        if (next >= parsed.length) controller.close();
      },
    });
    return new Response(stream, {
      headers: {
        "content-type": ndjson ? "application/x-ndjson" : "application/json",
        "x-batch-size": String(parsed.length),
      },
    });
  });

  app.post("/v1/feedback", async (c) => {
    authorized(c);
    const body = await readJson(c, maxBody);
    const fb = validateFeedback(body, now());
    const known = deps.log ? deps.log.addFeedback(fb, now()).known : false;
    const inHistory = deps.models.current?.history?.label(fb.transaction_id, fb.label === 1) ??
      false;
    metrics.feedback(fb.label);
    return c.json({
      transaction_id: fb.transaction_id,
      label: fb.label,
      labeled_at: new Date(fb.labeled_at).toISOString(),
      known: known || inHistory,
    });
  });

  app.get("/healthz", (c) => c.json({ status: "ok", uptime_s: (now() - started) / 1000 }));

  app.get("/readyz", (c) => {
    const s = deps.models.current;
    if (!s) {
      return c.json({ error: "not_ready", field: null, detail: "no model is loaded yet" }, 503);
    }
    return c.json({
      status: "ready",
      model: { name: s.model.name, version: s.model.version, run_id: s.model.run.id },
    });
  });

  app.get("/v1/model", (c) => {
    const { model, history } = serving();
    const run = model.run;
    return c.json({
      name: model.name,
      version: model.version,
      alias: model.alias,
      run_id: run.id,
      kind: run.config.model,
      params: run.detector.params,
      loaded_at: model.loadedAt,
      threshold: run.threshold,
      metrics: {
        validation: headline(run.metrics.validation),
        test: headline(run.metrics.test),
      },
      dataset: run.dataset,
      features: run.pipeline.columns,
      velocity: run.pipeline.velocity,
      entity_history: history ? { transactions_with_id: history.idsHeld } : null,
      input_schema: jsonSchemaOf(model.schema),
    });
  });

  app.get("/metrics", (c) => {
    return c.body(metrics.render(), 200, { "content-type": "text/plain; version=0.0.4" });
  });

  app.get("/openapi.json", (c) => c.json(openApiDocument(deps.models.current?.model ?? null)));

  app.get("/docs", (c) => c.html(docsPage()));
  app.get("/docs/:asset", async (c) => {
    const asset = await docsAsset(c.req.param("asset"));
    if (!asset) {
      return c.json(
        { error: "not_found", field: null, detail: "no such documentation asset" },
        404,
      );
    }
    return c.body(asset.body, 200, { "content-type": asset.type, "cache-control": "max-age=3600" });
  });

  // Requests are counted and timed around the whole app rather than in a
  // Hono middleware: a middleware sends every request through Hono's
  // compose chain (an extra async step each), where a single handler is
  // called directly. `app.request` (tests) goes through `app.fetch` too.
  const dispatch = app.fetch;
  const record = (req: Request, res: Response, t0: number) => {
    metrics.request(routeOf(req.url), req.method, res.status, (performance.now() - t0) / 1000);
  };
  app.fetch = (req, env, ctx) => {
    const t0 = performance.now();
    const res = dispatch(req, env, ctx);
    if (res instanceof Promise) {
      return res.then((r) => {
        record(req, r, t0);
        return r;
      });
    }
    record(req, res, t0);
    return res;
  };
  return app;
}

let lastUrl = "", lastRoute = "";

/** The route label of a request URL: a known path, `/docs/:asset`, or "unmatched". */
function routeOf(url: string): string {
  // Clients call the same URL over and over: the last answer is kept.
  if (url === lastUrl) return lastRoute;
  lastRoute = routeLabel(url);
  lastUrl = url;
  return lastRoute;
}

function routeLabel(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "unmatched";
  const q = url.indexOf("?", start);
  const path = q < 0 ? url.slice(start) : url.slice(start, q);
  return KNOWN_ROUTES[path] ? path : path.startsWith("/docs/") ? "/docs/:asset" : "unmatched";
}
