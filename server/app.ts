/**
 * The scoring server's HTTP app: `createApp(deps)` returns a Hono app that
 * tests drive in-process with `app.request(...)` and `main.ts` serves.
 *
 * Routes: POST /v1/score, POST /v1/score/batch, POST /v1/feedback,
 * GET /v1/model, /healthz, /readyz, /metrics, /openapi.json, /docs.
 * Every error is JSON `{ error, field, detail }`; bad input gets a 4xx.
 *
 * Every client input is checked before it is used: API keys and their
 * scopes (when keys are configured), per-key rate limits, the body's
 * declared type (415 otherwise, which also refuses cross-origin simple
 * requests), its size and how long it takes to arrive (408), the record
 * against the model's schema, and its event time against the server
 * clock. Metric labels come from fixed sets.
 *
 * One file: the handlers share the app's body reads, limits, keys, rate
 * limits and the served model; routes are declared in `routes.ts`, HTTP
 * helpers in `http.ts`.
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { headline } from "../lib/registry/runs.ts";
import { type ApiKeys, findKey, type Rate, RateLimiter, type Scope } from "../lib/serving/auth.ts";
import type { ModelHolder, Serving } from "../lib/serving/holder.ts";
import { LogUnavailable, type PredictionLog } from "../lib/serving/predlog.ts";
import {
  InvalidInput,
  jsonSchemaOf,
  type ParsedRecord,
  validateFeedback,
  validateRecord,
} from "../lib/serving/schema.ts";
import {
  emptyBody,
  invalidJson,
  mediaType,
  parseBatch,
  parseJson,
  RequestError,
  requestErrorOf,
} from "./http.ts";
import { NonFiniteScore, sameVelocity, type ScoreResult } from "../lib/serving/scorer.ts";
import { ulid } from "../lib/util/ulid.ts";
import { openApiDocument } from "./openapi.ts";
import { DOCS_HEADERS, docsAsset, docsPage } from "./docs.ts";
import { ServerMetrics } from "./metrics.ts";
import { DAY_MS } from "../lib/util/time.ts";
import {
  PATH_METHODS,
  type Route,
  ROUTE_TABLE,
  type RouteKey,
  routeKey,
  routeLabel,
} from "./routes.ts";

/** What to do while the prediction log cannot be written. */
export type LogFailurePolicy = "serve" | "refuse";

/** Defaults of {@linkcode AppDeps} (the serve task's flags show these). */
export const APP_DEFAULTS = {
  maxBodyBytes: 64 * 1024,
  maxBatchBytes: 16 * 1024 * 1024,
  maxBatchRecords: 10_000,
  skewMs: 5 * 60_000,
  bodyTimeoutMs: 10_000,
  onLogFailure: "serve" as LogFailurePolicy,
  feedbackRate: { perSecond: 100, burst: 200 } as Rate | null,
  scoreRate: null as Rate | null,
  reasons: "always" as ReasonsPolicy,
};

/** Reasons on every answer, or only on alerts and on requests that ask (`?explain=true`). */
export type ReasonsPolicy = "always" | "flagged";

/** What the app needs. */
export interface AppDeps {
  models: ModelHolder;
  /** Where predictions and feedback go (null: not logged, tests only). */
  log: PredictionLog | null;
  /** Metrics (a fresh set when omitted). */
  metrics?: ServerMetrics;
  /**
   * API keys: when set, score, batch and feedback need a key with that
   * scope, and `/v1/model` and `/metrics` one with `admin`. Null: open.
   */
  keys?: ApiKeys | null;
  /** Largest body of /v1/score and /v1/feedback, bytes. Default 64 KiB. */
  maxBodyBytes?: number;
  /** Largest body of /v1/score/batch, bytes. Default 16 MiB. */
  maxBatchBytes?: number;
  /** Most records in one batch. Default 10,000. */
  maxBatchRecords?: number;
  /** Clock (epoch ms): request times, event-time checks. Default Date.now. */
  now?: () => number;
  /** How far ahead of the clock a record's own event time may be, ms. Default 5 minutes. */
  skewMs?: number;
  /** Longest time a request body may take to arrive, ms (408 past it). Default 10 s. */
  bodyTimeoutMs?: number;
  /** While the log cannot be written: keep answering (counting each unlogged answer) or 503. */
  onLogFailure?: LogFailurePolicy;
  /** Per-key feedback rate (null: none). Default 100/s, burst 200. */
  feedbackRate?: Rate | null;
  /** Per-key scoring rate, records a second (null: none, the default). */
  scoreRate?: Rate | null;
  /** The one origin browsers may call the API from (CORS); null: none. */
  cors?: string | null;
  /**
   * Reasons on every answer ("always", the default) or only on alerts and
   * requests with `?explain=true` ("flagged": a pass then answers
   * `"reasons": [], "reasons_skipped": true`, and costs only its score).
   */
  reasons?: ReasonsPolicy;
  /**
   * A shadow model (`serve --shadow NAME@challenger`): it scores every
   * request beside the served model, is logged as a shadow row and never
   * answers; its failures are counted and never reach the client.
   */
  shadow?: ModelHolder | null;
}

/** Method labels of the request metrics; any other method counts as "other". */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);

const JSON_TYPE = { "content-type": "application/json" };

function errorJson(c: Context, e: RequestError): Response {
  return c.json(e.toJSON(), e.status as 400);
}

/** A body read that has not finished: rejected when its deadline passes. */
interface PendingRead {
  deadline: number;
  reject: (e: unknown) => void;
}

/** The app: the handler to serve, and what the server needs beyond it. */
export interface ScoringApp {
  /** The routes (requests sent straight to it are not counted in the metrics). */
  hono: Hono;
  /**
   * The handler `Deno.serve` gets: CORS preflights, then the routes; every
   * request is counted and timed here, around the whole app.
   */
  fetch(req: Request): Response | Promise<Response>;
  /** A request to a path (`/v1/score`) or a Request, through {@linkcode ScoringApp.fetch} (tests). */
  request(input: string | Request, init?: RequestInit): Promise<Response>;
  /** Fails every body read still under way (shutdown past its deadline): they answer 503. */
  abortReads(reason: string): void;
}

/** A route's handler: the context and the caller's key name ("anonymous" without keys). */
type Handler = (c: Context, caller: string) => Response | Promise<Response>;

/** Builds the app (see the module doc). */
export function createApp(deps: AppDeps): ScoringApp {
  const metrics = deps.metrics ?? new ServerMetrics();
  const now = deps.now ?? Date.now;
  const maxBody = deps.maxBodyBytes ?? APP_DEFAULTS.maxBodyBytes;
  const maxBatchBytes = deps.maxBatchBytes ?? APP_DEFAULTS.maxBatchBytes;
  const maxBatchRecords = deps.maxBatchRecords ?? APP_DEFAULTS.maxBatchRecords;
  const skewMs = deps.skewMs ?? APP_DEFAULTS.skewMs;
  const bodyTimeoutMs = deps.bodyTimeoutMs ?? APP_DEFAULTS.bodyTimeoutMs;
  const onLogFailure = deps.onLogFailure ?? APP_DEFAULTS.onLogFailure;
  const keys = deps.keys && deps.keys.keys.length ? deps.keys : null;
  const feedbackRate = deps.feedbackRate === undefined
    ? APP_DEFAULTS.feedbackRate
    : deps.feedbackRate;
  const scoreRate = deps.scoreRate === undefined ? APP_DEFAULTS.scoreRate : deps.scoreRate;
  const limiters: Partial<Record<Scope, RateLimiter>> = {};
  if (feedbackRate) limiters.feedback = new RateLimiter(feedbackRate);
  if (scoreRate) limiters.score = new RateLimiter(scoreRate);
  const cors = deps.cors ?? null;
  const started = now();
  metrics.watch(deps.models, deps.log);

  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof RequestError) return errorJson(c, err);
    if (err instanceof InvalidInput) return errorJson(c, requestErrorOf(err));
    if (err instanceof NonFiniteScore) {
      console.error(`internal error on ${c.req.method} ${c.req.path}: ${err.message}`);
      return c.json({ error: "non_finite_score", field: null, detail: err.message }, 500);
    }
    if (err instanceof LogUnavailable) {
      return c.json({
        error: "log_unavailable",
        field: null,
        detail: `the prediction log cannot be written: ${err.message}`,
      }, 503);
    }
    console.error(`internal error on ${c.req.method} ${c.req.path}: ${err.stack ?? err}`);
    return c.json({ error: "internal", field: null, detail: "internal server error" }, 500);
  });

  app.notFound((c) => {
    const methods = PATH_METHODS.get(c.req.path);
    if (methods) {
      c.header("Allow", methods.join(", "));
      return c.json({
        error: "method_not_allowed",
        field: null,
        detail: `${c.req.method.slice(0, 20)} is not allowed on ${c.req.path} (allowed: ${
          methods.join(", ")
        })`,
      }, 405);
    }
    return c.json({
      error: "not_found",
      field: null,
      detail: `no route ${c.req.method.slice(0, 20)} ${c.req.path.slice(0, 200)}`,
    }, 404);
  });

  const tooLarge = (bytes: number) =>
    new RequestError(413, "body_too_large", null, `the request body is larger than ${bytes} bytes`);

  // Body reads under way, with their deadlines; one timer (armed while any
  // is pending) fails those past it, so a read costs no timer of its own.
  const reads = new Set<PendingRead>();
  let sweeper: number | null = null;
  // Deadlines are on the monotonic clock (not `now`, which tests may fix).
  const sweep = () => {
    sweeper = null;
    const t = performance.now();
    for (const r of reads) {
      if (r.deadline <= t) {
        reads.delete(r);
        metrics.bodyAborted("timeout");
        r.reject(
          new RequestError(
            408,
            "body_timeout",
            null,
            `the request body did not arrive within ${bodyTimeoutMs} ms`,
          ),
        );
      }
    }
    if (reads.size > 0) arm();
  };
  const arm = () => {
    if (sweeper !== null) return;
    sweeper = setTimeout(sweep, Math.min(1000, bodyTimeoutMs)) as unknown as number;
    Deno.unrefTimer(sweeper);
  };
  const abortReads = (reason: string) => {
    for (const r of reads) {
      r.reject(new RequestError(503, "shutting_down", null, reason));
    }
    reads.clear();
  };

  /** A body read with the body timeout; a client gone mid-body is a counted 400, not a 500. */
  const timed = <T>(read: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const entry: PendingRead = { deadline: performance.now() + bodyTimeoutMs, reject };
      reads.add(entry);
      arm();
      read.then((v) => {
        reads.delete(entry);
        resolve(v);
      }, (e) => {
        if (!reads.delete(entry)) return; // already timed out or aborted
        if (e instanceof SyntaxError) reject(invalidJson(e));
        else if (e instanceof RequestError || e instanceof InvalidInput) reject(e);
        else {
          metrics.bodyAborted("disconnect");
          reject(
            new RequestError(
              400,
              "body_incomplete",
              null,
              "the connection ended before the whole body arrived",
            ),
          );
        }
      });
    });

  /**
   * The body as text, refusing more than `bytes`: a declared Content-Length
   * is checked before reading; a body without one is counted as it streams.
   */
  const readBody = (c: Context, bytes: number): Promise<string> => {
    const declared = c.req.header("content-length");
    if (declared === undefined) return timed(readCounted(c.req.raw.body, bytes));
    if (!(Number(declared) <= bytes)) return Promise.reject(tooLarge(bytes));
    return timed(c.req.raw.text());
  };

  /**
   * The body parsed as JSON, with the same limits as {@linkcode readBody}.
   * With a declared length the body goes to `Request.json()`, which takes a
   * small body the server already holds in one synchronous step, where
   * `text()` reads it through a stream.
   */
  const readJson = (c: Context, bytes: number): Promise<unknown> => {
    const declared = c.req.header("content-length");
    if (declared === undefined) return timed(readCounted(c.req.raw.body, bytes)).then(parseJson);
    const size = Number(declared);
    if (!(size <= bytes)) return Promise.reject(tooLarge(bytes));
    if (size === 0) return Promise.reject(emptyBody());
    return timed(c.req.raw.json());
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

  /**
   * The caller's name when it may use `scope`: the key's name, or
   * "anonymous" when no keys are configured. 401 without a valid key, 403
   * when the key lacks the scope, 429 past the key's rate.
   */
  const authorized = (c: Context, scope: Scope): string => {
    let name = "anonymous";
    if (keys) {
      const auth = c.req.header("authorization");
      const given = auth !== undefined && auth.startsWith("Bearer ")
        ? auth.slice(7)
        : c.req.header("x-api-key");
      const key = given === undefined ? null : findKey(keys, given);
      if (!key) {
        throw new RequestError(
          401,
          "unauthorized",
          null,
          "a valid API key is required (Authorization: Bearer KEY or X-API-Key: KEY)",
        );
      }
      if (!key.scopes.has(scope)) {
        throw new RequestError(
          403,
          "forbidden",
          null,
          `the key "${key.name}" lacks the "${scope}" scope`,
        );
      }
      name = key.name;
    }
    const limiter = limiters[scope];
    if (limiter) {
      const wait = limiter.take(name, now());
      if (wait > 0) {
        c.header("Retry-After", String(Math.max(1, Math.ceil(wait))));
        throw new RequestError(
          429,
          "rate_limited",
          null,
          `over the ${scope} rate of ${limiter.rate.perSecond}/s for "${name}"; retry in ${
            Math.ceil(wait * 1000)
          } ms`,
        );
      }
    }
    return name;
  };

  /** 415 unless the body is declared as one of the route's media types. */
  const bodyType = (c: Context, allowed: readonly string[]): void => {
    const type = mediaType(c.req.header("content-type"));
    if (!allowed.includes(type)) {
      throw new RequestError(
        415,
        "unsupported_media_type",
        null,
        `the body must be sent as ${allowed.join(" or ")} (Content-Type), got ${
          JSON.stringify(type.slice(0, 60) || "none")
        }`,
      );
    }
  };

  const serving = (): Serving => {
    const s = deps.models.current;
    if (!s) throw new RequestError(503, "not_ready", null, "no model is loaded yet");
    return s;
  };

  /** Under the refuse policy, 503 while the log cannot be written (nothing is scored). */
  const logWritable = (): void => {
    const log = deps.log;
    if (!log || onLogFailure !== "refuse") return;
    const st = log.status;
    if (!st.available) {
      throw new RequestError(
        503,
        "log_unavailable",
        null,
        `the prediction log cannot be written (${st.reason}); scoring is refused until it can`,
      );
    }
  };

  /**
   * The record's event time: the server clock when it has none; its own
   * when that lies within the history's retention before the clock and at
   * most the skew after it; else 422. Models without velocity features
   * keep any valid time (it only goes to the log).
   */
  const eventTime = (s: Serving, parsed: ParsedRecord, at: number, where: string): void => {
    const h = s.history;
    if (!h) return;
    const t = parsed.timeMs;
    if (t === null) {
      parsed.timeMs = at;
      return;
    }
    if (t < at - h.retainMs || t > at + skewMs) {
      const field = s.model.schema.timeField ?? "time";
      const name = where ? `${where}.${field}` : field;
      throw new RequestError(
        422,
        "time_out_of_window",
        name,
        `"${field}" must lie within the last ${h.retainMs / DAY_MS} days and at most ${
          skewMs / 1000
        } s after the server clock (${new Date(at).toISOString()}), got ${
          new Date(t).toISOString()
        }; omit it to use the server clock`,
      );
    }
  };

  /** Scores one validated record, logs it and counts it (one clock read for its id and log time). */
  const flagged = (deps.reasons ?? APP_DEFAULTS.reasons) === "flagged";
  /** "all" unless the policy is flagged and the request did not ask (`?explain=true`). */
  const reasonsFor = (c: Context): "all" | "flagged" => {
    if (!flagged) return "all";
    const q = c.req.query("explain");
    return q === "true" || q === "1" ? "all" : "flagged";
  };
  const scoreOne = (
    s: Serving,
    parsed: ParsedRecord,
    at: number,
    reasons: "all" | "flagged" = "all",
  ): ScoreResult => {
    const model = s.model;
    const id = parsed.id ?? ulid(at);
    const result = model.score(parsed, { history: s.history, id, reasons });
    const log = deps.log;
    if (log) {
      log.append(model.logRow(parsed, result, at));
      if (!log.status.available) metrics.unloggedAnswer();
    }
    metrics.scored(s.model, result.score, result.is_fraud);
    const shadow = deps.shadow?.current;
    if (shadow) shadowScore(s, shadow, parsed, { id, at });
    return result;
  };

  /**
   * The shadow model's score of a request the served model answered: from
   * the served model's history when both read the same velocity features
   * (the transaction is already in it; its windows end before its own time),
   * else from its own history. Logged as a shadow row; a failure is counted.
   */
  const sharedFor: { served: unknown; shadow: unknown; shared: boolean } = {
    served: null,
    shadow: null,
    shared: false,
  };
  const shadowScore = (
    served: Serving,
    shadow: Serving,
    parsed: ParsedRecord,
    at: { id: string; at: number },
  ): void => {
    const m = shadow.model;
    // Whether the two read the same features: decided once per pair of models, not per request.
    if (sharedFor.served !== served.model || sharedFor.shadow !== m) {
      sharedFor.served = served.model;
      sharedFor.shadow = m;
      sharedFor.shared = sameVelocity(served.model.run.pipeline.velocity, m.run.pipeline.velocity);
    }
    const shared = sharedFor.shared;
    try {
      const r = m.score(parsed, {
        history: shared ? served.history : shadow.history,
        id: at.id,
        reasons: "none",
        remember: !shared,
      });
      deps.log?.append(m.logRow(parsed, { ...r, transaction_id: at.id }, at.at, "shadow"));
      metrics.shadow.inc([m.name, String(m.version), r.is_fraud ? "alert" : "pass"]);
    } catch {
      metrics.shadow.inc([m.name, String(m.version), "failed"]);
    }
  };

  const handlers: Record<RouteKey, Handler> = {
    "POST /v1/score": async (c) => {
      logWritable();
      const s = serving(); // read once: this request finishes on this model
      const parsed = validateRecord(s.model.schema, await readJson(c, maxBody));
      const at = now();
      eventTime(s, parsed, at, "");
      return new Response(s.model.answerJson(scoreOne(s, parsed, at, reasonsFor(c))), {
        headers: JSON_TYPE,
      });
    },

    "POST /v1/score/batch": async (c) => {
      logWritable();
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
      const at = now();
      const parsed = values.map((v, i) => {
        const p = validateRecord(s.model.schema, v, { where: `[${i}]` });
        s.model.refuseOutOfRange(p, `[${i}]`);
        eventTime(s, p, at, `[${i}]`);
        return p;
      });
      const reasons = reasonsFor(c);
      const enc = new TextEncoder();
      const CHUNK = 500;
      let next = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          const end = Math.min(next + CHUNK, parsed.length);
          let out = next === 0 && !ndjson ? "[" : "";
          for (let i = next; i < end; i++) {
            const r = s.model.answerJson(scoreOne(s, parsed[i], now(), reasons));
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
    },

    "POST /v1/feedback": async (c, source) => {
      const body = await readJson(c, maxBody);
      const at = now();
      const fb = validateFeedback(body, at);
      const log = deps.log;
      const history = deps.models.current?.history ?? null;
      // Only transactions the log holds can be labeled: a label for an
      // unknown id could only be a mistake or an attempt to steer features.
      const known = log ? log.hasPrediction(fb.transaction_id) : history?.label(
        fb.transaction_id,
        fb.label === 1,
      ) ?? false;
      if (!known) {
        throw new RequestError(
          404,
          "unknown_transaction",
          "transaction_id",
          `no scored transaction has the id ${JSON.stringify(fb.transaction_id.slice(0, 128))}`,
        );
      }
      if (log) {
        await log.addFeedbackAsync(fb, { receivedAt: at, source });
        history?.label(fb.transaction_id, fb.label === 1);
      }
      metrics.feedback(fb.label);
      return c.json({
        transaction_id: fb.transaction_id,
        label: fb.label,
        labeled_at: new Date(fb.labeled_at).toISOString(),
        known: true,
        source,
      });
    },

    "GET /healthz": (c) => c.json({ status: "ok", uptime_s: (now() - started) / 1000 }),

    "GET /readyz": (c) => {
      const s = deps.models.current;
      if (!s) {
        return c.json({ error: "not_ready", field: null, detail: "no model is loaded yet" }, 503);
      }
      const st = deps.log?.status;
      if (st && !st.available) {
        return c.json({
          error: "log_unavailable",
          field: null,
          detail: `the prediction log cannot be written since ${
            new Date(st.since!).toISOString()
          }: ${st.reason}`,
        }, 503);
      }
      return c.json({
        status: "ready",
        model: { name: s.model.name, version: s.model.version, run_id: s.model.run.id },
      });
    },

    "GET /v1/model": (c) => {
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
        entity_history: history
          ? { transactions_with_id: history.idsHeld, ...history.stats }
          : null,
        input_schema: jsonSchemaOf(model.schema),
      });
    },

    "GET /metrics": async (c) => {
      await metrics.sampleLag();
      return c.body(metrics.render(), 200, { "content-type": "text/plain; version=0.0.4" });
    },

    "GET /openapi.json": (c) => c.json(openApiDocument(deps.models.current?.model ?? null)),

    "GET /docs": (c) => c.html(docsPage(), 200, DOCS_HEADERS),

    "GET /docs/:asset": async (c) => {
      const asset = await docsAsset(c.req.param("asset") ?? "");
      if (!asset) {
        return c.json(
          { error: "not_found", field: null, detail: "no such documentation asset" },
          404,
        );
      }
      return c.body(asset.body, 200, {
        ...DOCS_HEADERS,
        "content-type": asset.type,
        "cache-control": "max-age=3600",
      });
    },
  };

  // Each route of the table gets its handler, behind its key scope and
  // body media types (the same order for every route: 401/403/429, 415).
  for (const r of ROUTE_TABLE as readonly Route[]) {
    const handle = handlers[routeKey(r)];
    const access = r.access;
    const types = r.bodyTypes;
    app.on(r.method, r.path, (c) => {
      const caller = access === "open" ? "anonymous" : authorized(c, access);
      if (types) bodyType(c, types);
      return handle(c, caller);
    });
  }

  // Clients call the same URL over and over: the last label is kept.
  let lastUrl = "", lastRoute = "";
  const routeOf = (url: string): string => {
    if (url === lastUrl) return lastRoute;
    lastRoute = routeLabel(pathOf(url));
    lastUrl = url;
    return lastRoute;
  };

  // Requests are counted and timed around the whole app rather than in a
  // Hono middleware: a middleware sends every request through Hono's
  // compose chain (an extra async step each), where a single handler is
  // called directly.
  const record = (req: Request, res: Response, t0: number) => {
    if (cors) withCors(req, res, cors);
    metrics.request(
      routeOf(req.url),
      METHODS.has(req.method) ? req.method : "other",
      res.status,
      (performance.now() - t0) / 1000,
    );
  };
  const fetch = (req: Request): Response | Promise<Response> => {
    const t0 = performance.now();
    if (cors && req.method === "OPTIONS") {
      const res = preflight(req, cors);
      record(req, res, t0);
      return res;
    }
    const res = app.fetch(req);
    if (res instanceof Promise) {
      return res.then((r) => {
        record(req, r, t0);
        return r;
      });
    }
    record(req, res, t0);
    return res;
  };
  const request = (input: string | Request, init?: RequestInit): Promise<Response> =>
    Promise.resolve(
      fetch(
        typeof input === "string" ? new Request(new URL(input, "http://localhost"), init) : input,
      ),
    );
  return { hono: app, fetch, request, abortReads };
}

/** CORS headers on an answer to the allowed origin (nothing for any other). */
function withCors(req: Request, res: Response, origin: string): void {
  if (req.headers.get("origin") !== origin) return;
  try {
    res.headers.set("access-control-allow-origin", origin);
    res.headers.set("vary", "Origin");
  } catch { /* immutable headers (a static asset answer): left as they are */ }
}

/** The answer to a CORS preflight: allowed for the configured origin only. */
function preflight(req: Request, origin: string): Response {
  if (req.headers.get("origin") !== origin || !PATH_METHODS.has(new URL(req.url).pathname)) {
    return new Response(null, { status: 403 });
  }
  return new Response(null, {
    status: 204,
    headers: {
      "access-control-allow-origin": origin,
      "access-control-allow-methods": "GET, POST",
      "access-control-allow-headers": "authorization, content-type, x-api-key",
      "access-control-max-age": "600",
      "vary": "Origin",
    },
  });
}

/** The path of a request URL (no query). */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "";
  const q = url.indexOf("?", start);
  return q < 0 ? url.slice(start) : url.slice(start, q);
}
