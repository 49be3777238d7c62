/**
 * API keys with scopes for the scoring server, and per-key rate limits.
 *
 * A key has a name (recorded with what it does, e.g. the labels it sends),
 * its secret and one or more scopes:
 * - `score`: `POST /v1/score` and `/v1/score/batch`;
 * - `feedback`: `POST /v1/feedback`;
 * - `admin`: `GET /v1/model` and `/metrics` (open when no key is configured).
 *
 * Keys come from a JSON file (`--keys FILE`) or the environment variable
 * `FRAUDLAB_API_KEYS` holding the same JSON:
 *
 * ```json
 * { "keys": [
 *   { "name": "checkout", "key": "…at least 16 characters…", "scopes": ["score"] },
 *   { "name": "analysts", "key": "…", "scopes": ["feedback", "admin"] } ] }
 * ```
 *
 * `FRAUDLAB_API_KEY` (one secret) is a key named `default` with every
 * scope. A request sends its key as `Authorization: Bearer KEY` or
 * `X-API-Key: KEY`; it is compared with every configured key in time that
 * does not depend on where the texts differ.
 * @module
 */
import { UserError } from "../util/errors.ts";

/** What a key may do. */
export type Scope = "score" | "feedback" | "admin";

/** Every scope, in a fixed order. */
export const SCOPES: readonly Scope[] = ["score", "feedback", "admin"];

/** One configured key. */
export interface ApiKey {
  name: string;
  scopes: ReadonlySet<Scope>;
  /** The secret (kept in memory only). */
  secret: string;
}

/** The keys of one server. */
export interface ApiKeys {
  keys: ApiKey[];
}

/** Shortest secret accepted. */
export const MIN_SECRET_LENGTH = 16;

const NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/** Parses key-file JSON text; `source` names where it came from in errors. */
export function parseApiKeys(text: string, source: string): ApiKeys {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  const list = (value as { keys?: unknown } | null)?.keys;
  if (typeof value !== "object" || value === null || !Array.isArray(list) || list.length === 0) {
    throw new UserError(`${source}: expected {"keys": [{"name", "key", "scopes"}, …]} with a key`);
  }
  const names = new Set<string>(), secrets = new Set<string>();
  const keys = list.map((k, i): ApiKey => {
    const at = `${source}: keys[${i}]`;
    if (typeof k !== "object" || k === null || Array.isArray(k)) {
      throw new UserError(`${at} must be an object {"name", "key", "scopes"}`);
    }
    const o = k as Record<string, unknown>;
    for (const field of Object.keys(o)) {
      if (field !== "name" && field !== "key" && field !== "scopes") {
        throw new UserError(`${at}: unknown field "${field.slice(0, 64)}" (name, key, scopes)`);
      }
    }
    if (typeof o.name !== "string" || !NAME.test(o.name)) {
      throw new UserError(`${at}: "name" must match [a-z0-9][a-z0-9_.-]{0,63}`);
    }
    if (names.has(o.name)) throw new UserError(`${at}: the name "${o.name}" is used twice`);
    names.add(o.name);
    const secret = o.key;
    if (typeof secret !== "string" || secret.length < MIN_SECRET_LENGTH) {
      throw new UserError(
        `${at} ("${o.name}"): "key" must be a string of at least ${MIN_SECRET_LENGTH} characters`,
      );
    }
    if (!/^[\x21-\x7e]+$/.test(secret)) {
      throw new UserError(`${at} ("${o.name}"): "key" must be printable ASCII without spaces`);
    }
    if (secrets.has(secret)) {
      throw new UserError(`${at} ("${o.name}"): the same key is listed twice`);
    }
    secrets.add(secret);
    const scopes = o.scopes;
    if (!Array.isArray(scopes) || scopes.length === 0) {
      throw new UserError(`${at} ("${o.name}"): "scopes" must list some of ${SCOPES.join(", ")}`);
    }
    for (const s of scopes) {
      if (!SCOPES.includes(s as Scope)) {
        throw new UserError(
          `${at} ("${o.name}"): unknown scope ${JSON.stringify(s)} (known: ${SCOPES.join(", ")})`,
        );
      }
    }
    return { name: o.name, scopes: new Set(scopes as Scope[]), secret };
  });
  return { keys };
}

/**
 * The server's keys: from `file` when given, else `FRAUDLAB_API_KEYS`, else
 * `FRAUDLAB_API_KEY` (one key named `default` with every scope); null when
 * none is configured.
 */
export async function loadApiKeys(
  file: string | undefined,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): Promise<ApiKeys | null> {
  if (file !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      throw new UserError(
        `--keys ${file}: ${
          e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message
        }`,
      );
    }
    return parseApiKeys(text, `--keys ${file}`);
  }
  const json = env("FRAUDLAB_API_KEYS");
  if (json) return parseApiKeys(json, "FRAUDLAB_API_KEYS");
  const one = env("FRAUDLAB_API_KEY");
  if (one) {
    return parseApiKeys(
      JSON.stringify({ keys: [{ name: "default", key: one, scopes: SCOPES }] }),
      "FRAUDLAB_API_KEY",
    );
  }
  return null;
}

/**
 * Whether `given` equals `secret`, in time that depends only on their
 * lengths: every character of the secret is compared, with no early exit.
 */
export function constantTimeEqual(given: string, secret: string): boolean {
  const n = secret.length, m = given.length;
  let diff = n ^ m;
  for (let i = 0; i < n; i++) {
    diff |= secret.charCodeAt(i) ^ (i < m ? given.charCodeAt(i) : 0);
  }
  return diff === 0;
}

/** The key whose secret is `given` (every key compared), or null. */
export function findKey(keys: ApiKeys, given: string): ApiKey | null {
  let found: ApiKey | null = null;
  for (const k of keys.keys) {
    if (constantTimeEqual(given, k.secret)) found = k;
  }
  return found;
}

/** A rate: `perSecond` tokens a second, at most `burst` saved up. */
export interface Rate {
  perSecond: number;
  burst: number;
}

/** Parses `R` or `R:BURST` (per second); `0` means no limit (null). `flag` names it in errors. */
export function parseRate(text: string, flag: string): Rate | null {
  const m = /^(\d+(?:\.\d+)?)(?::(\d+))?$/.exec(text.trim());
  if (!m) throw new UserError(`--${flag}: expected RATE or RATE:BURST (per second), got "${text}"`);
  const perSecond = Number(m[1]);
  if (perSecond === 0) return null;
  const burst = m[2] !== undefined ? Number(m[2]) : Math.max(1, Math.ceil(perSecond));
  if (burst < 1) throw new UserError(`--${flag}: the burst must be at least 1, got "${text}"`);
  return { perSecond, burst };
}

/**
 * Token buckets per client name: each request takes a token; an empty
 * bucket refuses and says when the next token comes. At most `maxClients`
 * buckets are kept (past it the oldest is forgotten: that client starts
 * again with a full bucket), so names cannot grow memory without bound.
 */
export class RateLimiter {
  readonly rate: Rate;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #maxClients: number;

  constructor(rate: Rate, maxClients = 10_000) {
    this.rate = rate;
    this.#maxClients = maxClients;
  }

  /** Takes a token for `client` at `nowMs`: 0 when allowed, else the seconds until one is free. */
  take(client: string, nowMs: number): number {
    const { perSecond, burst } = this.rate;
    let b = this.#buckets.get(client);
    if (b) {
      b.tokens = Math.min(burst, b.tokens + (nowMs - b.at) / 1000 * perSecond);
      b.at = nowMs;
    } else {
      if (this.#buckets.size >= this.#maxClients) {
        this.#buckets.delete(this.#buckets.keys().next().value!);
      }
      b = { tokens: burst, at: nowMs };
      this.#buckets.set(client, b);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / perSecond;
  }
}
