/**
 * Starting and stopping a scoring server: load the model behind a
 * reference, seed its entity history, open the prediction log, listen, and
 * follow the alias (a moved alias is loaded and swapped in). `stop()`
 * drains in-flight requests, then flushes and closes the log; `main.ts`
 * calls it on SIGTERM and SIGINT, the demo when it ends.
 * @module
 */
import { ModelHolder, type ReloadOutcome } from "../lib/serving/holder.ts";
import { defaultLogPath, PredictionLog } from "../lib/serving/predlog.ts";
import { loadServedModel } from "../lib/serving/scorer.ts";
import { warmFromFile, warmFromLog } from "../lib/serving/warm.ts";
import { registryPath } from "../lib/registry/aliases.ts";
import { artifactsRoot } from "../lib/registry/store.ts";
import { createApp } from "./app.ts";
import { ServerMetrics } from "./metrics.ts";

/** Options for {@linkcode startServer}. */
export interface ServeOptions {
  /** NAME@ALIAS, NAME@VERSION, a bare alias, or run:ID. Default "champion". */
  model?: string;
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
  apiKey?: string | null;
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
  /** Drains in-flight requests, flushes the log and closes it. */
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

/** Starts a server (see the module doc). */
export async function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  const root = options.root ?? artifactsRoot();
  const ref = options.model ?? "champion";
  const say = options.log ?? ((line: string) => console.log(line));
  const logPath = options.logPath ?? defaultLogPath(root);
  const historyOpt = options.history ?? "run";

  const model = await loadServedModel(ref, root);
  const log = PredictionLog.open(logPath);
  const holder = new ModelHolder();
  holder.warm = async (m, history) => {
    const file = historyOpt === "run" ? m.run.config.data : historyOpt;
    if (historyOpt !== "none") {
      if (await exists(file)) {
        const r = await warmFromFile(history, m, file);
        say(`entity history: ${r.transactions} transactions of ${file} (${r.from} .. ${r.to})`);
      } else if (historyOpt !== "run") {
        throw new Error(`--history ${file}: no such file`);
      } else say(`entity history: the run's data ${file} is not here; starting empty`);
    }
    const r = warmFromLog(history, m, log);
    if (r.transactions) {
      say(`entity history: ${r.transactions} logged transactions (${r.from} .. ${r.to})`);
    }
  };
  await holder.swap(model);
  const metrics = new ServerMetrics();
  const app = createApp({ models: holder, log, metrics, apiKey: options.apiKey ?? null });

  const hostname = options.hostname ?? "127.0.0.1";
  let resolveListen: (port: number) => void;
  const listening = new Promise<number>((r) => resolveListen = r);
  const server = Deno.serve(
    { hostname, port: options.port ?? 8000, onListen: ({ port }) => resolveListen(port) },
    app.fetch,
  );
  const port = await listening;
  const url = `http://${hostname}:${port}`;
  say(
    `serving ${model.name} v${model.version} (run ${model.run.id}, ${model.run.config.model}) at ${url}`,
  );
  say(`prediction log: ${logPath}`);

  let reloading: Promise<ReloadOutcome> | null = null;
  const reload = async (): Promise<ReloadOutcome> => {
    if (reloading) return await reloading; // one reload at a time
    reloading = holder.reload(ref, root);
    try {
      const out = await reloading;
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

  let stopping: Promise<void> | null = null;
  const stop = () =>
    stopping ??= (async () => {
      if (timer !== null) clearInterval(timer);
      await server.shutdown(); // stops accepting, waits for in-flight requests
      const pending = log.pending;
      log.close();
      say(
        `stopped: prediction log flushed (${pending} queued rows written, ${log.written} this run)`,
      );
    })();

  return { url, holder, log, metrics, reload, stop, finished: server.finished };
}
