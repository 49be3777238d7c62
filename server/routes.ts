/**
 * The route table of the scoring API, the one place a route is declared:
 * the app registers a handler for each entry (and fails to type-check
 * without one), answers 405 with an `Allow` header from it, takes only its
 * body media types, labels request metrics with its paths, and the OpenAPI
 * document lists its paths, summaries, bodies and error codes.
 * @module
 */
import type { Scope } from "../lib/serving/auth.ts";

/** Who may call a route when the server has API keys. */
export type Access = Scope | "open";

/** A route's OpenAPI request and answer bodies: media type to schema. */
export type Content = Record<string, { schema: unknown }>;

/** One entry of the route table. */
export interface Route {
  method: "GET" | "POST";
  /** Hono path syntax (`/docs/:asset`); OpenAPI gets `{asset}`. */
  path: string;
  /** One line for the OpenAPI document. */
  summary: string;
  /** The key scope the route needs when keys are configured; "open" needs none. */
  access: Access;
  /** Media types a POST body may be declared as (415 for any other). */
  bodyTypes?: readonly string[];
  /** The request body's schemas per media type, for the OpenAPI document. */
  request?: Content;
  /** The 200 answer. */
  ok: { description: string; content?: Content };
  /** The error codes it answers with (each described once in the OpenAPI document). */
  errors: readonly number[];
  /** Query parameters it reads. */
  query?: readonly { name: string; description: string }[];
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown): Content => ({ "application/json": { schema } });
const CLIENT_ERRORS = [400, 401, 403, 408, 413, 415, 422, 429, 503] as const;
const EXPLAIN = [{
  name: "explain",
  description: "true: reasons even on a pass when the server runs with --reasons flagged",
}] as const;

/** Every route of the scoring API. */
export const ROUTE_TABLE = [
  {
    method: "POST",
    path: "/v1/score",
    summary: "Score one transaction",
    access: "score",
    bodyTypes: ["application/json"],
    request: json(ref("Transaction")),
    ok: { description: "scored", content: json(ref("Score")) },
    errors: CLIENT_ERRORS,
    query: EXPLAIN,
  },
  {
    method: "POST",
    path: "/v1/score/batch",
    summary: "Score many transactions (JSON array or NDJSON); streamed answer in the same format",
    access: "score",
    bodyTypes: ["application/json", "application/x-ndjson", "application/jsonl"],
    request: {
      "application/json": { schema: { type: "array", items: ref("Transaction") } },
      "application/x-ndjson": { schema: { type: "string" } },
    },
    ok: {
      description: "one Score per transaction, in order",
      content: {
        "application/json": { schema: { type: "array", items: ref("Score") } },
        "application/x-ndjson": { schema: { type: "string" } },
      },
    },
    errors: CLIENT_ERRORS,
    query: EXPLAIN,
  },
  {
    method: "POST",
    path: "/v1/feedback",
    summary: "Report a late label (chargeback, investigation outcome)",
    access: "feedback",
    bodyTypes: ["application/json"],
    request: json(ref("Feedback")),
    ok: { description: "recorded; `known` says whether the transaction was scored here" },
    errors: [400, 401, 403, 404, 408, 413, 415, 422, 429, 503],
  },
  {
    method: "GET",
    path: "/v1/model",
    summary: "The served model: metadata, input schema, threshold, metrics",
    access: "admin",
    ok: { description: "model card" },
    errors: [401, 403, 503],
  },
  {
    method: "GET",
    path: "/healthz",
    summary: "Liveness",
    access: "open",
    ok: { description: "alive" },
    errors: [],
  },
  {
    method: "GET",
    path: "/readyz",
    summary: "Readiness (a model is loaded and the log can be written)",
    access: "open",
    ok: { description: "ready" },
    errors: [503],
  },
  {
    method: "GET",
    path: "/metrics",
    summary: "Prometheus metrics",
    access: "admin",
    ok: { description: "text exposition format 0.0.4" },
    errors: [401, 403],
  },
  {
    method: "GET",
    path: "/openapi.json",
    summary: "This document",
    access: "open",
    ok: { description: "OpenAPI 3.1" },
    errors: [],
  },
  {
    method: "GET",
    path: "/docs",
    summary: "Interactive API documentation (Swagger UI, served locally)",
    access: "open",
    ok: { description: "HTML page" },
    errors: [],
  },
  {
    method: "GET",
    path: "/docs/:asset",
    summary: "A Swagger UI asset",
    access: "open",
    ok: { description: "script or stylesheet" },
    errors: [404],
  },
] as const satisfies readonly Route[];

type KeyOf<R> = R extends { method: infer M extends string; path: infer P extends string }
  ? `${M} ${P}`
  : never;

/** A route's key, `METHOD path`: the handler table of the app is keyed by it. */
export type RouteKey = KeyOf<(typeof ROUTE_TABLE)[number]>;

/** The key of a route. */
export function routeKey(r: Route): RouteKey {
  return `${r.method} ${r.path}` as RouteKey;
}

/** Each path's methods (405 answers and their `Allow` header). */
export const PATH_METHODS: ReadonlyMap<string, readonly string[]> = (() => {
  const m = new Map<string, string[]>();
  for (const r of ROUTE_TABLE) m.set(r.path, [...(m.get(r.path) ?? []), r.method]);
  return m;
})();

/** Media types each POST path takes. */
export const BODY_TYPES: ReadonlyMap<string, readonly string[]> = new Map(
  (ROUTE_TABLE as readonly Route[]).flatMap((r) => r.bodyTypes ? [[r.path, r.bodyTypes]] : []),
);

/** Paths with a trailing parameter (`/docs/:asset`), as [prefix, label] pairs. */
const PARAM_PREFIXES: readonly [string, string][] = ROUTE_TABLE.flatMap((r) => {
  const at = r.path.indexOf("/:");
  return at < 0 ? [] : [[r.path.slice(0, at + 1), r.path] as [string, string]];
});

/**
 * The route label of a request path (metrics): a declared path, its
 * parameter pattern (`/docs/:asset`), or "unmatched"; never the client's text.
 */
export function routeLabel(path: string): string {
  if (PATH_METHODS.has(path)) return path;
  for (const [prefix, label] of PARAM_PREFIXES) {
    if (path.startsWith(prefix) && path.indexOf("/", prefix.length) < 0) return label;
  }
  return "unmatched";
}

/** A Hono path in OpenAPI syntax (`/docs/:asset` → `/docs/{asset}`). */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_]+)/g, "{$1}");
}
