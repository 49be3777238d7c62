/**
 * Starting and stopping a scoring server: load the model behind a
 * reference, seed its entity history, open the prediction log, listen, and
 * follow the alias (a moved alias is loaded and swapped in). `stop()`
 * drains in-flight requests for at most the shutdown deadline, then fails
 * body reads still under way, writes what the log holds and closes it;
 * `main.ts` calls it on SIGTERM and SIGINT, the demo when it ends.
 *
 * Every cause of a failed start (port in use, a host that does not
 * resolve, a missing history file, a log that cannot be written, a public
 * address without API keys) is a {@linkcode UserError}: one line, exit 2.
 * @module
 */
import { ModelHolder, type ReloadOutcome } from "../lib/serving/holder.ts";
import { defaultLogPath, PredictionLog } from "../lib/serving/predlog.ts";
import { loadServedModel } from "../lib/serving/scorer.ts";
import { warmFromFile, warmFromLog } from "../lib/serving/warm.ts";
import { registryPath } from "../lib/registry/aliases.ts";
import { artifactsRoot } from "../lib/registry/store.ts";
import { UserError } from "../lib/util/errors.ts";
import { DEFAULT_EXPLAIN_THREADS } from "../lib/models/treeshap_threads.ts";
import type { ApiKeys } from "../lib/serving/auth.ts";
import { type AppDeps, createApp } from "./app.ts";
import { ServerMetrics } from "./metrics.ts";

/** Options for {@linkcode startServer} (and the app's own, passed through). */
export interface ServeOptions extends
  Pick<
    AppDeps,
    | "now"
    | "skewMs"
    | "bodyTimeoutMs"
    | "onLogFailure"
    | "feedbackRate"
    | "scoreRate"
    | "cors"
    | "reasons"
  > {
  /** NAME@ALIAS, NAME@VERSION, a bare alias, or run:ID. Default "champion". */
  model?: string;
  /** A shadow model (e.g. NAME@challenger): scores every request beside the served one, logged, never answered. */
  shadow?: string;
  port?: number;
  hostname?: string;
  /** Prediction log path. Default $FRAUDLAB_LOG or artifacts/predictions.sqlite. */
  logPath?: string;
  /**
   * Data file whose recent transactions seed the entity history: "run" (the
   * run's training data, when the file exists), a path, or "none". Default "run".
   */
  history?: string;
  /** Seconds between alias checks (0 = never). Default 2. */
  pollSeconds?: number;
  /** API keys (null: none; then only a loopback host is allowed unless `insecure`). */
  keys?: ApiKeys | null;
  /** Allow a non-loopback host without keys. */
  insecure?: boolean;
  /** Entity values remembered per entity column. */
  maxEntities?: number;
  /** Events remembered per entity value. */
  maxEvents?: number;
  /** Threads one row's explanation runs on (tree ensembles). Default {@linkcode DEFAULT_EXPLAIN_THREADS}. */
  explainThreads?: number;
  /** Longest wait for in-flight requests on stop, ms. Default 10 s. */
  shutdownMs?: number;
  /** Artifacts root. */
  root?: string;
  /** Progress lines (default console.log). */
  log?: (line: string) => void;
}

/** A running server. */
export interface RunningServer {
  url: string;
  holder: ModelHolder;
  log: PredictionLog;
  metrics: ServerMetrics;
  /** Checks the alias now (the poller does this every `pollSeconds`). */
  reload(): Promise<ReloadOutcome>;
  /** Drains in-flight requests (up to the shutdown deadline), writes the log and closes it. */
  stop(): Promise<void>;
  finished: Promise<void>;
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** Default shutdown deadline, ms. */
export const SHUTDOWN_MS = 10_000;

/** Whether a host name or address is this machine only. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Starts a server (see the module doc). */
export async function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  const root = options.root ?? artifactsRoot();
  const ref = options.model ?? "champion";
  const say = options.log ?? ((line: string) => console.log(line));
  const logPath = options.logPath ?? defaultLogPath(root);
  const historyOpt = options.history ?? "run";

  const hostname = options.hostname ?? "127.0.0.1";
  const keys = options.keys ?? null;
  if (!isLoopback(hostname) && !keys && !options.insecure) {
    throw new UserError(
      `--host ${hostname} is reachable from other machines: configure API keys (--keys FILE or FRAUDLAB_API_KEYS) or pass --insecure`,
    );
  }
  const now = options.now ?? Date.now;
  const load = { explainThreads: options.explainThreads ?? DEFAULT_EXPLAIN_THREADS };
  const model = await loadServedModel(ref, root, load);
  const log = PredictionLog.open(logPath);
  const holder = new ModelHolder({
    maxEntities: options.maxEntities,
    maxEvents: options.maxEvents,
    clock: now,
  }, load);
  holder.warm = async (m, history) => {
    const file = historyOpt === "run" ? m.run.config.data : historyOpt;
    if (historyOpt !== "none") {
      if (await exists(file)) {
        const r = await warmFromFile(history, { model: m, path: file });
        say(
          `entity history: ${r.kept} of the last ${r.transactions} transactions of ${file} (${r.from} .. ${r.to}) are within the retention of the server clock`,
        );
      } else if (historyOpt !== "run") {
        throw new UserError(`--history ${file}: no such file`);
      } else say(`entity history: the run's data ${file} is not here; starting empty`);
    }
    const r = warmFromLog(history, { model: m, log });
    if (r.transactions) {
      say(
        `entity history: ${r.kept} of ${r.transactions} logged transactions (${r.from} .. ${r.to}) are within the retention of the server clock`,
      );
    }
  };
  let shadowHolder: ModelHolder | null = null;
  try {
    await holder.swap(model);
    if (options.shadow) {
      shadowHolder = new ModelHolder(holder.limits, { explainThreads: 1 });
      shadowHolder.warm = holder.warm;
      await shadowHolder.swap(await loadServedModel(options.shadow, root, { explainThreads: 1 }));
    }
  } catch (e) {
    log.close();
    throw e;
  }
  const metrics = new ServerMetrics();
  const app = createApp({
    models: holder,
    log,
    metrics,
    keys,
    now,
    skewMs: options.skewMs,
    bodyTimeoutMs: options.bodyTimeoutMs,
    onLogFailure: options.onLogFailure,
    feedbackRate: options.feedbackRate,
    scoreRate: options.scoreRate,
    cors: options.cors,
    reasons: options.reasons,
    shadow: shadowHolder,
  });

  let resolveListen: (port: number) => void;
  const listening = new Promise<number>((r) => resolveListen = r);
  const wanted = options.port ?? 8000;
  let server: Deno.HttpServer;
  try {
    server = Deno.serve(
      { hostname, port: wanted, onListen: ({ port }) => resolveListen(port) },
      app.fetch,
    );
  } catch (e) {
    log.close();
    if (e instanceof Deno.errors.AddrInUse) {
      throw new UserError(`--port ${wanted}: address ${hostname}:${wanted} is already in use`);
    }
    if (e instanceof Deno.errors.AddrNotAvailable || e instanceof Deno.errors.PermissionDenied) {
      throw new UserError(
        `--host ${hostname} --port ${wanted}: cannot listen (${(e as Error).message})`,
      );
    }
    throw new UserError(
      `--host ${hostname}: cannot listen there (${(e as Error).message.split("\n")[0]})`,
    );
  }
  const port = await listening;
  const url = `http://${hostname}:${port}`;
  say(
    `serving ${model.name} v${model.version} (run ${model.run.id}, ${model.run.config.model}) at ${url}`,
  );
  say(`prediction log: ${logPath}`);
  if (shadowHolder) {
    const m = shadowHolder.current!.model;
    say(
      `shadow: ${m.name} v${m.version} (run ${m.run.id}, ${m.run.config.model}) scores every request, logged, never answered`,
    );
  }

  let reloading: Promise<ReloadOutcome> | null = null;
  const reload = async (): Promise<ReloadOutcome> => {
    if (reloading) return await reloading; // one reload at a time
    reloading = holder.reload(ref, root);
    try {
      const out = await reloading;
      if (shadowHolder && options.shadow && !options.shadow.startsWith("run:")) {
        const sh = await shadowHolder.reload(options.shadow, root);
        if (sh.status === "swapped") say(`shadow swapped: ${sh.from} -> ${sh.to}`);
        else if (sh.status === "refused") say(`shadow reload refused: ${sh.error}`);
      }
      if (out.status === "swapped") {
        metrics.reloads.inc(["swapped"]);
        const m = holder.current!.model;
        say(`model swapped: ${out.from} -> ${out.to} (${m.name} v${m.version})`);
      } else if (out.status === "refused") {
        metrics.reloads.inc(["refused"]);
        say(`model reload refused, still serving ${out.from}: ${out.error}`);
      }
      return out;
    } finally {
      reloading = null;
    }
  };

  // Follow the alias: check when the registry file changes.
  let lastMtime = 0;
  const poll = options.pollSeconds ?? 2;
  let timer: number | null = null;
  if (poll > 0 && !ref.startsWith("run:")) {
    try {
      lastMtime = (await Deno.stat(registryPath(root))).mtime?.getTime() ?? 0;
    } catch { /* no registry file yet */ }
    timer = setInterval(async () => {
      let m = 0;
      try {
        m = (await Deno.stat(registryPath(root))).mtime?.getTime() ?? 0;
      } catch {
        return;
      }
      if (m !== lastMtime) {
        lastMtime = m;
        await reload();
      }
    }, poll * 1000) as unknown as number;
  }

  const shutdownMs = options.shutdownMs ?? SHUTDOWN_MS;
  let stopping: Promise<void> | null = null;
  const stop = () =>
    stopping ??= (async () => {
      if (timer !== null) clearInterval(timer);
      const t0 = Date.now();
      const done = server.shutdown(); // stops accepting, waits for in-flight requests
      const wait = (ms: number) =>
        new Promise<boolean>((r) => {
          const t = setTimeout(() => r(false), ms);
          done.then(() => {
            clearTimeout(t);
            r(true);
          });
        });
      if (!(await wait(shutdownMs))) {
        // Past the deadline: bodies still arriving are failed (503), their
        // requests end and the connections close.
        app.abortReads("the server is shutting down");
        await wait(300);
      }
      holder.current?.model.close();
      shadowHolder?.current?.model.close();
      const st = await log.closeWithin(Math.max(500, shutdownMs - (Date.now() - t0)));
      say(
        `stopped: prediction log ${log.path}: ${st.written} rows written this run, ${st.quarantined} quarantined, ${st.dropped} dropped`,
      );
    })();

  return { url, holder, log, metrics, reload, stop, finished: server.finished };
}
