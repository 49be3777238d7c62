/**
 * The scoring server's Prometheus metrics: requests and latency by route,
 * method and status; scores by model version (buckets from the model's own
 * validation score quantiles); alerts and recent alert rate; model info;
 * reloads; feedback; prediction log queue. Custom metrics only.
 * @module
 */
import type { ModelHolder } from "../lib/serving/holder.ts";
import {
  Counter,
  Gauge,
  Histogram,
  LATENCY_BUCKETS,
  MetricsRegistry,
} from "../lib/serving/metrics.ts";
import type { PredictionLog } from "../lib/serving/predlog.ts";
import type { ServedModel } from "../lib/serving/scorer.ts";

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
  readonly reloads = this.registry.add(
    new Counter("fraudlab_model_reloads_total", "Model reload attempts by result.", ["result"]),
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
  #bounds = new WeakMap<
    ServedModel,
    { labels: string[]; bounds: number[]; alert: string[]; pass: string[] }
  >();

  constructor() {
    this.registry.add(
      new Gauge(
        "fraudlab_alert_rate",
        `Share of the last ${ALERT_WINDOW} predictions that raised an alert.`,
        [],
        () => [{ labels: [], value: this.#ringFill ? this.#ringAlerts / this.#ringFill : 0 }],
      ),
    );
  }

  /** Follows model swaps (info gauge) and exposes the prediction log queue. */
  watch(models: ModelHolder, log: PredictionLog | null): void {
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
    }
  }

  readonly #requestLabels = new Map<string, string[]>();

  /** Records one request. */
  request(route: string, method: string, status: number, seconds: number): void {
    // One label array per (route, method, status), built once.
    const key = route + " " + method + " " + status;
    let labels = this.#requestLabels.get(key);
    if (!labels) this.#requestLabels.set(key, labels = [route, method, String(status)]);
    this.requests.inc(labels);
    this.latency.observe(labels, seconds);
  }

  /** Records one scored transaction. */
  scored(model: ServedModel, score: number, alert: boolean): void {
    let b = this.#bounds.get(model);
    if (!b) {
      const v = String(model.version);
      b = {
        labels: [model.name, v],
        bounds: model.scoreBounds,
        alert: [model.name, v, "alert"],
        pass: [model.name, v, "pass"],
      };
      this.#bounds.set(model, b);
    }
    this.scores.observe(b.labels, score, b.bounds);
    this.predictions.inc(alert ? b.alert : b.pass);
    const bit = alert ? 1 : 0;
    if (this.#ringFill === ALERT_WINDOW) this.#ringAlerts -= this.#ring[this.#ringAt];
    else this.#ringFill++;
    this.#ring[this.#ringAt] = bit;
    this.#ringAlerts += bit;
    this.#ringAt = (this.#ringAt + 1) % ALERT_WINDOW;
  }

  /** Records one late label. */
  feedback(label: 0 | 1): void {
    this.feedbacks.inc([String(label)]);
  }

  /** The exposition text. */
  render(): string {
    return this.registry.render();
  }
}
