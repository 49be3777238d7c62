/**
 * `deno task serve [flags]`: serves the model behind the alias (default
 * champion) until SIGTERM or SIGINT, which drain in-flight requests (up to
 * `--shutdown-timeout`) and write the prediction log. Flags and their
 * defaults are the table below. API keys come from `--keys FILE` or the
 * environment (`FRAUDLAB_API_KEYS`, `FRAUDLAB_API_KEY`), never from a flag's
 * value, so secrets stay out of `ps`. Every failed start prints one line
 * `error: …` and exits 2.
 */
import { type FlagSpec, helpText, intFlag, parseFlags, runTask } from "../lib/util/cli.ts";
import { UserError } from "../lib/util/errors.ts";
import { loadApiKeys, parseRate, type Rate } from "../lib/serving/auth.ts";
import { DEFAULT_MAX_ENTITIES, DEFAULT_MAX_EVENTS } from "../lib/features/online.ts";
import { APP_DEFAULTS, type LogFailurePolicy } from "./app.ts";
import { SHUTDOWN_MS, startServer } from "./serve.ts";
import { DEFAULT_EXPLAIN_THREADS } from "../lib/models/treeshap_threads.ts";

const rateText = (r: Rate | null) => r ? `${r.perSecond}:${r.burst}` : "0";

/** The serve task's flags: name → [meaning, default shown]. README's table mirrors it. */
export const SERVE_FLAGS: Record<string, [string, string]> = {
  port: ["port to listen on", "8000"],
  host: ["address to listen on (non-loopback needs keys or --insecure)", "127.0.0.1"],
  model: ["NAME@ALIAS, NAME@VERSION, ALIAS or run:ID", "champion"],
  shadow: [
    "a model scoring every request beside it, logged, never answered (NAME@challenger)",
    "none",
  ],
  log: ["prediction log (SQLite)", "$FRAUDLAB_LOG or artifacts/predictions.sqlite"],
  history: ["entity history seed: run, FILE or none", "run"],
  poll: ["seconds between alias checks (0 = never)", "2"],
  keys: ["API keys file (JSON; see lib/serving/auth.ts)", "none"],
  insecure: ["allow a non-loopback --host without keys", "off"],
  cors: ["the one browser origin allowed to call the API", "none"],
  skew: [
    "seconds a record's own time may be ahead of the server clock",
    String(APP_DEFAULTS.skewMs / 1000),
  ],
  "max-entities": ["entity values remembered per entity column", String(DEFAULT_MAX_ENTITIES)],
  "max-events": ["events remembered per entity value", String(DEFAULT_MAX_EVENTS)],
  "body-timeout": [
    "seconds a request body may take to arrive (408 after)",
    String(APP_DEFAULTS.bodyTimeoutMs / 1000),
  ],
  "shutdown-timeout": [
    "seconds to wait for in-flight requests on SIGTERM",
    String(SHUTDOWN_MS / 1000),
  ],
  "on-log-failure": [
    "while the log cannot be written: serve (count unlogged) or refuse (503)",
    APP_DEFAULTS.onLogFailure,
  ],
  "feedback-rate": [
    "feedback per key: RATE[:BURST] a second, 0 = no limit",
    rateText(APP_DEFAULTS.feedbackRate),
  ],
  "score-rate": [
    "scoring requests per key: RATE[:BURST] a second, 0 = no limit",
    rateText(APP_DEFAULTS.scoreRate),
  ],
  reasons: [
    "reasons on every answer (always) or on alerts and ?explain=true requests (flagged)",
    APP_DEFAULTS.reasons,
  ],
  "explain-threads": [
    "threads one answer's tree-model reasons are computed on (1 or 2)",
    `${DEFAULT_EXPLAIN_THREADS} (2 with two cores or more)`,
  ],
};

await runTask(async (args) => {
  if (args.includes("--help") || args.includes("-h")) {
    const table: FlagSpec = Object.fromEntries(
      Object.entries(SERVE_FLAGS).map(([k, [what, def]]) => [
        k,
        { type: k === "insecure" ? "boolean" : "string", help: `${what} (default ${def})` },
      ]),
    );
    console.log(helpText(table, {
      usage: "deno task serve [flags]",
      about:
        "Serve the model behind the alias until SIGTERM; API keys from --keys FILE, FRAUDLAB_API_KEYS or FRAUDLAB_API_KEY.",
      examples: ["deno task serve", "deno task serve --host 0.0.0.0 --keys keys.json"],
    }));
    return;
  }
  const spec = Object.fromEntries(
    Object.keys(SERVE_FLAGS).map((k) => [k, { type: k === "insecure" ? "boolean" : "string" }]),
  ) as Record<string, { type: "string" | "boolean" }>;
  const flags = parseFlags(args, spec, { usage: "deno task serve [flags]" }) as Record<
    string,
    string | boolean | undefined
  >;
  const str = (k: string) => flags[k] as string | undefined;
  const policy = str("on-log-failure") ?? APP_DEFAULTS.onLogFailure;
  if (policy !== "serve" && policy !== "refuse") {
    throw new UserError(`--on-log-failure: expected serve or refuse, got "${policy}"`);
  }
  const reasons = str("reasons") ?? APP_DEFAULTS.reasons;
  if (reasons !== "always" && reasons !== "flagged") {
    throw new UserError(`--reasons: expected always or flagged, got "${reasons}"`);
  }
  const cors = str("cors");
  if (cors !== undefined && !/^https?:\/\/[^/\s]+$/.test(cors)) {
    throw new UserError(`--cors: expected an origin like https://app.example.com, got "${cors}"`);
  }
  const keys = await loadApiKeys(str("keys"));
  const server = await startServer({
    port: intFlag(str("port"), { name: "port", fallback: 8000, min: 0, max: 65535 }),
    hostname: str("host"),
    model: str("model"),
    shadow: str("shadow"),
    logPath: str("log"),
    history: str("history"),
    pollSeconds: intFlag(str("poll"), { name: "poll", fallback: 2, min: 0, max: 3600 }),
    keys,
    insecure: flags.insecure === true,
    cors: cors ?? null,
    reasons,
    explainThreads: intFlag(str("explain-threads"), {
      name: "explain-threads",
      fallback: DEFAULT_EXPLAIN_THREADS,
      min: 1,
      max: 2,
    }),
    skewMs: intFlag(str("skew"), {
      name: "skew",
      fallback: APP_DEFAULTS.skewMs / 1000,
      min: 0,
      max: 86_400,
    }) *
      1000,
    maxEntities: intFlag(str("max-entities"), {
      name: "max-entities",
      fallback: DEFAULT_MAX_ENTITIES,
      min: 1,
    }),
    maxEvents: intFlag(str("max-events"), {
      name: "max-events",
      fallback: DEFAULT_MAX_EVENTS,
      min: 1,
    }),
    bodyTimeoutMs: intFlag(str("body-timeout"), {
      name: "body-timeout",
      fallback: APP_DEFAULTS.bodyTimeoutMs / 1000,
      min: 1,
      max: 3600,
    }) * 1000,
    shutdownMs: intFlag(str("shutdown-timeout"), {
      name: "shutdown-timeout",
      fallback: SHUTDOWN_MS / 1000,
      min: 0,
      max: 3600,
    }) * 1000,
    onLogFailure: policy as LogFailurePolicy,
    feedbackRate: str("feedback-rate") === undefined
      ? APP_DEFAULTS.feedbackRate
      : parseRate(str("feedback-rate")!, "feedback-rate"),
    scoreRate: str("score-rate") === undefined
      ? APP_DEFAULTS.scoreRate
      : parseRate(str("score-rate")!, "score-rate"),
  });
  if (keys) {
    console.log(
      `API keys: ${keys.keys.map((k) => `${k.name} (${[...k.scopes].join(", ")})`).join("; ")}`,
    );
  } else console.log("API keys: none (open on this machine only)");
  console.log(`docs: ${server.url}/docs   metrics: ${server.url}/metrics`);
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, async () => {
      console.log(`${signal}: draining in-flight requests`);
      await server.stop();
      Deno.exit(0);
    });
  }
  Deno.addSignalListener("SIGHUP", () => void server.reload());
  await server.finished;
});
