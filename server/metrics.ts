/**
 * The scoring server's Prometheus metrics: requests and latency by route,
 * method and status; scores by model version (buckets from the model's own
 * validation score quantiles); alerts and recent alert rate; model info;
 * reloads; feedback; the prediction log (queue, written, quarantined,
 * dropped rows, whether it can be written, answers it did not log); body
 * reads cut short; the entity history's size and what its bounds made it
 * forget. Custom metrics only; every label comes from a fixed set.
 * @module
 */
import type { ModelHolder } from "../lib/serving/holder.ts";
import {
  Counter,
  Gauge,
  Histogram,
  type HistogramSeries,
  LATENCY_BUCKETS,
  MetricsRegistry,
} from "../lib/serving/metrics.ts";
import type { PredictionLog } from "../lib/serving/predlog.ts";
import type { ServedModel } from "../lib/serving/scorer.ts";
import process from "node:process";

/** The series one (route, method, status) records into. */
interface RequestSeries {
  route: string;
  method: string;
  status: number;
  count: { value: number };
  latency: HistogramSeries;
}

/** The series one served model records into. */
interface ModelSeries {
  model: ServedModel;
  scores: HistogramSeries;
  alert: { value: number };
  pass: { value: number };
}

/** When this process started (Unix seconds): the runtime's uptime back from now. */
const STARTED = Math.round((Date.now() / 1000 - process.uptime()) * 1000) / 1000;

/** Open file descriptors (Linux: entries of /proc/self/fd), or null. */
function openFds(): number | null {
  try {
    let n = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
    return n - 1; // the one reading the folder
  } catch {
    return null;
  }
}

/** The soft limit on open files (Linux: /proc/self/limits), or null. */
function maxFds(): number | null {
  try {
    const line = Deno.readTextFileSync("/proc/self/limits").split("\n")
      .find((l) => l.startsWith("Max open files"));
    const n = Number(line?.split(/\s{2,}/)[1]);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

/** Predictions the recent alert rate covers. */
export const ALERT_WINDOW = 10_000;

/** Metrics of one server. */
export class ServerMetrics {
  readonly registry = new MetricsRegistry();
  readonly requests = this.registry.add(
    new Counter("fraudlab_http_requests_total", "HTTP requests by route, method and status.", [
      "route",
      "method",
      "status",
    ]),
  );
  readonly latency = this.registry.add(
    new Histogram(
      "fraudlab_http_request_duration_seconds",
      "Time from request to response headers, by route, method and status.",
      ["route", "method", "status"],
      LATENCY_BUCKETS,
    ),
  );
  readonly scores = this.registry.add(
    new Histogram(
      "fraudlab_score",
      "Scores served, by model and version.",
      ["model", "version"],
      [],
    ),
  );
  readonly predictions = this.registry.add(
    new Counter(
      "fraudlab_predictions_total",
      "Transactions scored, by model, version and decision.",
      [
        "model",
        "version",
        "decision",
      ],
    ),
  );
  readonly feedbacks = this.registry.add(
    new Counter("fraudlab_feedback_total", "Late labels received, by label.", ["label"]),
  );
  /** Shadow scoring: requests a shadow model scored, alerted on, or failed on. */
  readonly shadow = this.registry.add(
    new Counter(
      "fraudlab_shadow_predictions_total",
      "Transactions a shadow model scored beside the served one (never answered), by model, version and result.",
      ["model", "version", "result"],
    ),
  );
  readonly reloads = this.registry.add(
    new Counter("fraudlab_model_reloads_total", "Model reload attempts by result.", ["result"]),
  );
  readonly #bodyAborts = this.registry.add(
    new Counter(
      "fraudlab_http_body_aborts_total",
      "Request bodies that did not arrive: past the body timeout, or the client left mid-body.",
      ["reason"],
    ),
  );
  readonly #unlogged = this.registry.add(
    new Counter(
      "fraudlab_unlogged_answers_total",
      "Scores answered while the prediction log could not be written (queued, not yet logged).",
    ),
  );
  readonly #modelInfo = this.registry.add(
    new Gauge("fraudlab_model_info", "The model being served (value 1).", [
      "model",
      "version",
      "run_id",
      "kind",
      "alias",
    ]),
  );
  readonly #loadedAt = this.registry.add(
    new Gauge("fraudlab_model_loaded_timestamp_seconds", "When the served model was loaded."),
  );
  // Recent decisions in a ring: the alert rate over the last ALERT_WINDOW predictions.
  readonly #ring = new Uint8Array(ALERT_WINDOW);
  #ringAt = 0;
  #ringFill = 0;
  #ringAlerts = 0;
  readonly #models = new WeakMap<ServedModel, ModelSeries>();
  #lastModel: ModelSeries | null = null;

  /** How late a zero-delay timer ran at the last scrape, seconds ({@linkcode sampleLag}). */
  #lag = 0;

  constructor() {
    // Process metrics under the names Prometheus' own clients use (process_*), read from the
    // runtime and, on Linux, /proc (absent elsewhere).
    this.registry.add(
      new Counter(
        "process_cpu_seconds_total",
        "User and system CPU time of the server process, seconds.",
        [],
        () => {
          const u = process.cpuUsage();
          return [{ labels: [], value: (u.user + u.system) / 1e6 }];
        },
      ),
    );
    this.registry.add(
      new Gauge(
        "process_start_time_seconds",
        "Start of the server process, Unix seconds.",
        [],
        () => [
          { labels: [], value: STARTED },
        ],
      ),
    );
    this.registry.add(
      new Gauge("process_open_fds", "Open file descriptors of the server process.", [], () => {
        const n = openFds();
        return n === null ? [] : [{ labels: [], value: n }];
      }),
    );
    this.registry.add(
      new Gauge("process_max_fds", "Most file descriptors the server process may open.", [], () => {
        const n = maxFds();
        return n === null ? [] : [{ labels: [], value: n }];
      }),
    );
    this.registry.add(
      new Gauge(
        "fraudlab_event_loop_lag_seconds",
        "How late a zero-delay timer ran when /metrics was last scraped (the serving thread's backlog), seconds.",
        [],
        () => [{ labels: [], value: this.#lag }],
      ),
    );
    this.registry.add(
      new Gauge(
        "process_resident_memory_bytes",
        "Resident memory of the server process, bytes.",
        [],
        () => [{ labels: [], value: Deno.memoryUsage().rss }],
      ),
    );
    this.registry.add(
      new Gauge(
        "fraudlab_heap_used_bytes",
        "JavaScript heap in use (live objects and garbage not yet collected), bytes.",
        [],
        () => [{ labels: [], value: Deno.memoryUsage().heapUsed }],
      ),
    );
    this.registry.add(
      new Gauge(
        "fraudlab_alert_rate",
        `Share of the last ${ALERT_WINDOW} predictions that raised an alert.`,
        [],
        () => [{ labels: [], value: this.#ringFill ? this.#ringAlerts / this.#ringFill : 0 }],
      ),
    );
  }

  /** Follows model swaps (info gauge) and exposes the prediction log and entity history. */
  watch(models: ModelHolder, log: PredictionLog | null): void {
    const history = () => models.current?.history ?? null;
    const entityNames = () => history()?.options.entities ?? [];
    this.registry.add(
      new Gauge(
        "fraudlab_entity_history_entities",
        "Entity values remembered, by entity column.",
        ["entity"],
        () => {
          const h = history();
          return h
            ? h.stats.entities.map((n, e) => ({ labels: [entityNames()[e]], value: n }))
            : [];
        },
      ),
    );
    this.registry.add(
      new Counter(
        "fraudlab_entity_history_evictions_total",
        "Entity values forgotten because their column reached the cap (least recently seen first).",
        ["entity"],
        () => {
          const h = history();
          return h ? h.stats.evicted.map((n, e) => ({ labels: [entityNames()[e]], value: n })) : [];
        },
      ),
    );
    this.registry.add(
      new Counter(
        "fraudlab_entity_history_capped_events_total",
        "Events dropped because one entity value held the most events allowed.",
        [],
        () => [{ labels: [], value: history()?.stats.capped ?? 0 }],
      ),
    );
    const info = (m: ServedModel) => {
      this.#modelInfo.reset();
      this.#modelInfo.set(
        [m.name, String(m.version), m.run.id, m.run.config.model, m.alias ?? ""],
        1,
      );
      this.#loadedAt.set([], Date.parse(m.loadedAt) / 1000);
    };
    if (models.current) info(models.current.model);
    models.onSwap((s) => info(s.model));
    if (log) {
      this.registry.add(
        new Gauge("fraudlab_prediction_log_pending", "Predictions queued for the log.", [], () => [
          { labels: [], value: log.pending },
        ]),
      );
      this.registry.add(
        new Gauge(
          "fraudlab_prediction_log_written",
          "Predictions this process wrote to the log.",
          [],
          () => [{ labels: [], value: log.written }],
        ),
      );
      this.registry.add(
        new Counter(
          "fraudlab_prediction_log_rows_total",
          "Rows this process queued for the log, by outcome: written, quarantined (kept with their error) or dropped (lost).",
          ["outcome"],
          () => {
            const st = log.stats;
            return [
              { labels: ["written"], value: st.written },
              { labels: ["quarantined"], value: st.quarantined },
              { labels: ["dropped"], value: st.dropped },
            ];
          },
        ),
      );
      this.registry.add(
        new Gauge(
          "fraudlab_prediction_log_up",
          "1 while the prediction log can be written, 0 while it cannot.",
          [],
          () => [{ labels: [], value: log.status.available ? 1 : 0 }],
        ),
      );
    }
  }

  readonly #requestSeries = new Map<string, RequestSeries>();
  #lastRequest: RequestSeries | null = null;

  /** Records one request. */
  request(route: string, method: string, status: number, seconds: number): void {
    // The series of one (route, method, status) are looked up once and kept;
    // a request like the last one (the common case) reuses them directly.
    let r = this.#lastRequest;
    if (!r || r.status !== status || r.route !== route || r.method !== method) {
      const key = route + " " + method + " " + status;
      r = this.#requestSeries.get(key) ?? null;
      if (!r) {
        const labels = [route, method, String(status)];
        r = {
          route,
          method,
          status,
          count: this.requests.series(labels),
          latency: this.latency.series(labels),
        };
        this.#requestSeries.set(key, r);
      }
      this.#lastRequest = r;
    }
    r.count.value++;
    Histogram.record(r.latency, seconds);
  }

  /** Records one scored transaction. */
  scored(model: ServedModel, score: number, alert: boolean): void {
    let b = this.#lastModel;
    if (!b || b.model !== model) {
      b = this.#models.get(model) ?? null;
      if (!b) {
        const labels = [model.name, String(model.version)];
        b = {
          model,
          scores: this.scores.series(labels, model.scoreBounds),
          alert: this.predictions.series([...labels, "alert"]),
          pass: this.predictions.series([...labels, "pass"]),
        };
        this.#models.set(model, b);
      }
      this.#lastModel = b;
    }
    Histogram.record(b.scores, score);
    (alert ? b.alert : b.pass).value++;
    const bit = alert ? 1 : 0;
    if (this.#ringFill === ALERT_WINDOW) this.#ringAlerts -= this.#ring[this.#ringAt];
    else this.#ringFill++;
    this.#ring[this.#ringAt] = bit;
    this.#ringAlerts += bit;
    this.#ringAt = (this.#ringAt + 1) % ALERT_WINDOW;
  }

  /** Counts a request body cut short: "timeout" or "disconnect". */
  bodyAborted(reason: "timeout" | "disconnect"): void {
    this.#bodyAborts.inc([reason]);
  }

  /** Counts a score answered while the log could not be written. */
  unloggedAnswer(): void {
    this.#unlogged.inc();
  }

  /** Records one late label. */
  feedback(label: 0 | 1): void {
    this.feedbacks.inc([String(label)]);
  }

  /**
   * Measures the event loop's lag now: how late a zero-delay timer runs
   * (what `/metrics` reports as `fraudlab_event_loop_lag_seconds`).
   */
  async sampleLag(): Promise<void> {
    const t = performance.now();
    await new Promise((r) => setTimeout(r, 0));
    this.#lag = (performance.now() - t) / 1000;
  }

  /** The exposition text. */
  render(): string {
    return this.registry.render();
  }
}
