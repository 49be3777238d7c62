/**
 * Prometheus metrics in the text exposition format (version 0.0.4), with
 * only the metrics fraudlab defines: counters, gauges and histograms keyed
 * by label values, rendered on demand. Small on purpose: the serving path
 * updates a few of these per request.
 *
 * Written by hand, not taken from `prom-client`: one request's updates
 * (a count, two histogram observations, a decision) run at 33.1M/s here
 * against 1.24M/s with prom-client's cached label children on a custom
 * registry (26.6×; a scrape costs the same, 1.05×), medians of 3
 * alternating rounds, `deno run -A bench/kept_bench.ts`. At 60,000
 * requests/s prom-client's updates would take about 5% of the serving
 * thread.
 * @module
 */

type Labels = Record<string, string>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelText(names: readonly string[], values: readonly string[], extra = ""): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i])}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function num(v: number): string {
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Number.isNaN(v)) return "NaN";
  return String(v);
}

/**
 * Series keys by label array, one table per metric: callers on the hot path
 * reuse one array per series, so its key is computed once.
 */
class SeriesKeys {
  readonly #keys = new WeakMap<string[], string>();
  of(labels: string[]): string {
    let k = this.#keys.get(labels);
    if (k === undefined) this.#keys.set(labels, k = labels.join("\u0000"));
    return k;
  }
}

interface Metric {
  render(): string;
}

/**
 * A monotonically increasing count per label set, incremented here or read
 * at render time from a count kept elsewhere (`collect`).
 */
export class Counter implements Metric {
  readonly #keys = new SeriesKeys();
  readonly #values = new Map<string, { labels: string[]; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: string[] = [],
    readonly collect?: () => { labels: string[]; value: number }[],
  ) {}

  /** Adds `by` (default 1) to the series with these label values (in `labelNames` order). */
  inc(labels: string[] = [], by = 1): void {
    this.series(labels).value += by;
  }

  /** The series of these label values (created at 0), for callers that keep it. */
  series(labels: string[] = []): { labels: string[]; value: number } {
    const key = this.#keys.of(labels);
    let s = this.#values.get(key);
    if (!s) this.#values.set(key, s = { labels: [...labels], value: 0 });
    return s;
  }

  /** The current value of one series (0 when never incremented). */
  get(labels: string[] = []): number {
    return this.#values.get(labels.join("\u0000"))?.value ?? 0;
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    for (const s of this.collect ? this.collect() : this.#values.values()) {
      out += `${this.name}${labelText(this.labelNames, s.labels)} ${num(s.value)}\n`;
    }
    return out;
  }
}

/** A value per label set, set directly or computed at render time. */
export class Gauge implements Metric {
  readonly #values = new Map<string, { labels: string[]; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: string[] = [],
    readonly collect?: () => { labels: string[]; value: number }[],
  ) {}

  set(labels: string[], value: number): void {
    this.#values.set(labels.join("\u0000"), { labels: [...labels], value });
  }

  /** Removes every series (before setting the current ones, e.g. model info). */
  reset(): void {
    this.#values.clear();
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n`;
    const series = this.collect ? this.collect() : [...this.#values.values()];
    for (const s of series) {
      out += `${this.name}${labelText(this.labelNames, s.labels)} ${num(s.value)}\n`;
    }
    return out;
  }
}

/** One label set of a histogram. */
export interface HistogramSeries {
  labels: string[];
  bounds: number[];
  /** Observations per bucket (not cumulative). */
  counts: Float64Array;
  sum: number;
  count: number;
}

/** Cumulative histograms per label set, with fixed upper bounds. */
export class Histogram implements Metric {
  readonly #keys = new SeriesKeys();
  readonly #series = new Map<string, HistogramSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: string[],
    readonly bounds: number[],
  ) {}

  /**
   * Records one observation. `bounds` overrides the default upper bounds for
   * a new series (score histograms use each model's own bounds).
   */
  observe(labels: string[], value: number, bounds?: number[]): void {
    Histogram.record(this.series(labels, bounds), value);
  }

  /**
   * The series of these label values (created empty, with `bounds` or the
   * default bounds), for callers that keep it and {@linkcode Histogram.record} into it.
   */
  series(labels: string[], bounds?: number[]): HistogramSeries {
    const key = this.#keys.of(labels);
    let s = this.#series.get(key);
    if (!s) {
      const b = bounds ?? this.bounds;
      s = { labels: [...labels], bounds: b, counts: new Float64Array(b.length), sum: 0, count: 0 };
      this.#series.set(key, s);
    }
    return s;
  }

  /** Records one observation into a series. */
  static record(s: HistogramSeries, value: number): void {
    const b = s.bounds;
    let i = 0;
    while (i < b.length && value > b[i]) i++;
    if (i < b.length) s.counts[i]++;
    s.sum += value;
    s.count++;
  }

  /** Observation count of one series. */
  count(labels: string[]): number {
    return this.#series.get(labels.join("\u0000"))?.count ?? 0;
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    for (const s of this.#series.values()) {
      let cum = 0;
      for (let i = 0; i < s.bounds.length; i++) {
        cum += s.counts[i];
        out += `${this.name}_bucket${
          labelText(this.labelNames, s.labels, `le="${num(s.bounds[i])}"`)
        } ${cum}\n`;
      }
      out += `${this.name}_bucket${labelText(this.labelNames, s.labels, 'le="+Inf"')} ${s.count}\n`;
      out += `${this.name}_sum${labelText(this.labelNames, s.labels)} ${num(s.sum)}\n`;
      out += `${this.name}_count${labelText(this.labelNames, s.labels)} ${s.count}\n`;
    }
    return out;
  }
}

/** A set of metrics rendered together. */
export class MetricsRegistry {
  readonly #metrics: Metric[] = [];

  add<M extends Metric>(metric: M): M {
    this.#metrics.push(metric);
    return metric;
  }

  /** The exposition text. */
  render(): string {
    return this.#metrics.map((m) => m.render()).join("");
  }
}

/** Latency buckets (seconds) of the request histograms. */
export const LATENCY_BUCKETS = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
];

/** Parses exposition text into `name{labels}` → value (tests and the load bench read it). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$/.exec(line);
    if (!m) throw new Error(`not a metrics line: ${line}`);
    const v = m[2] === "+Inf" ? Infinity : m[2] === "-Inf" ? -Infinity : Number(m[2]);
    out.set(m[1], v);
  }
  return out;
}

/** Label values as a `{a="x",b="y"}` suffix (for looking series up in {@linkcode parseMetrics}). */
export function seriesKey(name: string, labels: Labels): string {
  const names = Object.keys(labels);
  return name + labelText(names, names.map((n) => labels[n]));
}
