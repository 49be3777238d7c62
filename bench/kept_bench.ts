/**
 * Hand-written pieces on the scoring path beside the kept packages that do
 * the same, in one run, alternating rounds: transaction ids (`lib/util/
 * ulid.ts` against `ulid`'s monotonic factory) and request metrics
 * (`lib/serving/metrics.ts` against `prom-client` with a custom registry
 * and cached label children: one request counted, its latency and score
 * observed, its decision counted; and one scrape of the text exposition).
 *
 * deno run -A bench/kept_bench.ts [--n 2000000] [--rounds 5]
 */
import { parseArgs } from "node:util";
import { monotonicFactory } from "ulid";
import client from "prom-client";
import { ulid } from "../lib/util/ulid.ts";
import { Counter, Histogram } from "../lib/serving/metrics.ts";
import { intFlag } from "../lib/util/cli.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: { n: { type: "string" }, rounds: { type: "string" } },
});
const n = intFlag(flags.n, { name: "n", fallback: 2_000_000, min: 1000 });
const rounds = intFlag(flags.rounds, { name: "rounds", fallback: 5, min: 1 });

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const SCORE_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

function perSecond(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return n / ((performance.now() - t0) / 1000);
}

// Transaction ids: a millisecond advances every 50 ids, as under load.
const factory = monotonicFactory();
let sink = 0;
const idsOurs = () => {
  for (let i = 0; i < n; i++) sink += ulid(1_700_000_000_000 + (i / 50 | 0)).length;
};
const idsKept = () => {
  for (let i = 0; i < n; i++) sink += factory(1_700_000_000_000 + (i / 50 | 0)).length;
};

// Metrics: our series, kept the way server/metrics.ts keeps them.
const requests = new Counter("req_total", "requests", ["route", "method", "status"]);
const latency = new Histogram("req_seconds", "latency", ["route", "method", "status"], BUCKETS);
const scores = new Histogram("score", "scores", ["model", "version"], SCORE_BUCKETS);
const decisions = new Counter("pred_total", "decisions", ["model", "version", "decision"]);
const labels = ["/v1/score", "POST", "200"];
const rc = requests.series(labels), rl = latency.series(labels);
const sc = scores.series(["m", "1"]), alert = decisions.series(["m", "1", "alert"]);
const pass = decisions.series(["m", "1", "pass"]);
const metricsOurs = () => {
  for (let i = 0; i < n; i++) {
    rc.value++;
    Histogram.record(rl, (i % 97) * 1e-5);
    const s = (i % 101) / 101;
    Histogram.record(sc, s);
    (s > 0.9 ? alert : pass).value++;
  }
};
const registry = new client.Registry();
const pRequests = new client.Counter({
  name: "req_total",
  help: "requests",
  labelNames: ["route", "method", "status"],
  registers: [registry],
});
const pLatency = new client.Histogram({
  name: "req_seconds",
  help: "latency",
  labelNames: ["route", "method", "status"],
  buckets: BUCKETS,
  registers: [registry],
});
const pScores = new client.Histogram({
  name: "score",
  help: "scores",
  labelNames: ["model", "version"],
  buckets: SCORE_BUCKETS,
  registers: [registry],
});
const pDecisions = new client.Counter({
  name: "pred_total",
  help: "decisions",
  labelNames: ["model", "version", "decision"],
  registers: [registry],
});
const prc = pRequests.labels(...labels), prl = pLatency.labels(...labels);
const psc = pScores.labels("m", "1"), palert = pDecisions.labels("m", "1", "alert");
const ppass = pDecisions.labels("m", "1", "pass");
const metricsKept = () => {
  for (let i = 0; i < n; i++) {
    prc.inc();
    prl.observe((i % 97) * 1e-5);
    const s = (i % 101) / 101;
    psc.observe(s);
    (s > 0.9 ? palert : ppass).inc();
  }
};
const SCRAPES = 2000;
const scrapeOurs = () => {
  const t0 = performance.now();
  for (let i = 0; i < SCRAPES; i++) {
    sink += requests.render().length + latency.render().length + scores.render().length +
      decisions.render().length;
  }
  return SCRAPES / ((performance.now() - t0) / 1000);
};
const scrapeKept = async () => {
  const t0 = performance.now();
  for (let i = 0; i < SCRAPES; i++) sink += (await registry.metrics()).length;
  return SCRAPES / ((performance.now() - t0) / 1000);
};

const r: Record<string, number[]> = {
  "ids, lib/util/ulid.ts": [],
  "ids, ulid monotonicFactory": [],
  "requests, lib/serving/metrics.ts": [],
  "requests, prom-client": [],
  "scrapes, lib/serving/metrics.ts": [],
  "scrapes, prom-client": [],
};
for (let k = 0; k < rounds; k++) {
  r["ids, lib/util/ulid.ts"].push(perSecond(idsOurs));
  r["ids, ulid monotonicFactory"].push(perSecond(idsKept));
  r["requests, lib/serving/metrics.ts"].push(perSecond(metricsOurs));
  r["requests, prom-client"].push(perSecond(metricsKept));
  r["scrapes, lib/serving/metrics.ts"].push(scrapeOurs());
  r["scrapes, prom-client"].push(await scrapeKept());
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
for (const [name, xs] of Object.entries(r)) {
  console.log(`${name.padEnd(34)} ${fmt(median(xs)).padStart(12)}/s  (${xs.map(fmt).join(", ")})`);
}
const ratio = (a: string, b: string) => (median(r[a]) / median(r[b])).toFixed(2);
console.log(
  `ids: ours ${ratio("ids, lib/util/ulid.ts", "ids, ulid monotonicFactory")}x the package`,
);
console.log(
  `requests: ours ${
    ratio("requests, lib/serving/metrics.ts", "requests, prom-client")
  }x the package; scrapes ${ratio("scrapes, lib/serving/metrics.ts", "scrapes, prom-client")}x`,
);
if (sink < 0) console.log(sink);
