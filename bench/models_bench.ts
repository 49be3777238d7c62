/**
 * Models side by side with the Python peer baseline (../shared/peers), on the
 * same CSV, split and preprocessing rules (its PROTOCOL.md, sections 3–7):
 *
 *   deno run -A bench/models_bench.ts --peer-spec ../shared/peers/specs/payment_fraud.json \
 *     --csv ../shared/data/payment_fraud.csv --models logreg,iforest,autoencoder [--seeds 5] [--no-peer]
 *
 * For each model it runs fraudlab (lib code: pipeline fitted on all TRAIN
 * rows, iforest/autoencoder fitted on label-0 TRAIN rows, autoencoder 20
 * epochs without early stopping) and then the peer's `bench.py` for the same
 * task in a child process, one after the other in the same run, and prints
 * metrics, timings and the ratios. With --seeds N the unsupervised kinds are
 * refitted with seeds 0..N-1 to show their seed spread next to the peer's.
 */
import { parseArgs } from "node:util";
import { loadDataset } from "../lib/data/load.ts";
import { splitMod5, splitPrefix } from "../lib/data/split.ts";
import { featureFrame, fitPipeline, transformFrame } from "../lib/features/pipeline.ts";
import { fitOnRows, getKind, resolveParams, scoreBatch } from "../lib/models/mod.ts";
import { averagePrecision } from "../lib/eval/curves.ts";
import { precisionAtK, recallAtFpr, rocAuc } from "../lib/eval/metrics.ts";
import { labelsOf } from "../lib/data/frame.ts";
import { table } from "../lib/util/table.ts";
import { loadPeerSpec, runPeerTask } from "./peer.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    "peer-spec": { type: "string" },
    csv: { type: "string" },
    models: { type: "string", default: "logreg,iforest,autoencoder" },
    seeds: { type: "string", default: "1" },
    "no-peer": { type: "boolean", default: false },
    peers: { type: "string", default: "../shared/peers" },
  },
});
if (!flags["peer-spec"] || !flags.csv) {
  console.error(
    "usage: models_bench.ts --peer-spec SPEC.json --csv FILE [--models a,b] [--seeds N] [--no-peer]",
  );
  Deno.exit(2);
}
const { peer: peerSpec, spec } = await loadPeerSpec(flags["peer-spec"]);

const tLoad = performance.now();
const ds = await loadDataset(flags.csv, spec);
const loadS = (performance.now() - tLoad) / 1000;
const labels = labelsOf(ds);
const split = peerSpec.split === "mod5"
  ? splitMod5(labels.length)
  : splitPrefix(labels.length, 0.8);
const yTest = Int8Array.from(split.test, (i) => labels[i]);
const ff = featureFrame(ds, null);
console.log(
  `${spec.name}: ${labels.length} rows, train ${split.train.length}, test ${split.test.length} (${peerSpec.split}); fraudlab load ${
    loadS.toFixed(2)
  }s`,
);

interface Figures {
  auc: number;
  ap: number;
  r1: number;
  p100: number;
  fit_s: number;
  /** The model's fit alone (fit_s less fitting the pipeline and transforming the fit rows). */
  model_fit_s: number;
  score_s: number;
  model_score_s: number;
  rows_per_s: number;
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

async function ours(model: string, seed: number): Promise<Figures> {
  const kind = getKind(model);
  const params = resolveParams(
    kind,
    model === "autoencoder" ? { patience: 0, validationFraction: 0, epochs: 20 } : {},
  );
  const t0 = performance.now();
  const pipeline = fitPipeline(ff, split.train, { standardize: kind.standardize });
  const { detector: det } = await fitOnRows(
    { kind, params },
    { pipeline, ff, rows: split.train, labels },
    { seed, quiet: true },
  );
  const fitS = (performance.now() - t0) / 1000;
  // What preparing the fit rows costs, timed again on its own, to tell the model's share.
  const p0 = performance.now();
  const prepared = fitPipeline(ff, split.train, { standardize: kind.standardize });
  if (kind.fitOn === "all") transformFrame(prepared, ff, { rows: split.train });
  const prepS = (performance.now() - p0) / 1000;
  const runs: number[] = [], modelRuns: number[] = [];
  let scores: Float32Array = new Float32Array(0);
  for (let r = 0; r < 3; r++) {
    const a = performance.now();
    const Xt = transformFrame(pipeline, ff, { rows: split.test });
    const b = performance.now();
    scores = await scoreBatch(det, Xt);
    const c = performance.now();
    runs.push((c - a) / 1000);
    modelRuns.push((c - b) / 1000);
  }
  const scoreS = median(runs);
  return {
    auc: rocAuc(yTest, scores),
    ap: averagePrecision(yTest, scores),
    r1: recallAtFpr(yTest, scores, { fpr: 0.01 }).recall,
    p100: precisionAtK(yTest, scores, { k: 100 }),
    fit_s: fitS,
    model_fit_s: kind.fitOn === "all" ? fitS - prepS : NaN,
    score_s: scoreS,
    model_score_s: median(modelRuns),
    rows_per_s: split.test.length / scoreS,
  };
}

async function peer(model: string): Promise<Figures & { seeds?: Figures[] } | null> {
  if (flags["no-peer"]) return null;
  // The peer's gradient boosting is XGBoost (hist).
  const task = model === "gbdt" ? "xgboost" : model;
  const j = await runPeerTask(flags.peers!, flags["peer-spec"]!, task, flags.csv!);
  if (!j) return null;
  const seeds = j.extra_seed_sensitivity?.runs?.map((r: Record<string, number>) => ({
    auc: r.roc_auc,
    ap: r.average_precision,
    r1: r.recall_at_1pct_fpr,
    p100: r.precision_at_100,
  }));
  return {
    auc: j.metrics.roc_auc,
    ap: j.metrics.average_precision,
    r1: j.metrics.recall_at_1pct_fpr,
    p100: j.metrics.precision_at_100,
    fit_s: j.fit.fit_s,
    model_fit_s: j.fit.model_fit_s,
    score_s: j.score.score_s,
    model_score_s: j.score.model_score_s,
    rows_per_s: j.score.rows_per_s,
    seeds,
  };
}

const f = (
  v: number | undefined,
  d = 4,
) => (v === undefined || Number.isNaN(v) ? "–" : v.toFixed(d));
const range = (xs: number[]) => `${f(Math.min(...xs))}..${f(Math.max(...xs))}`;
/** One table row of an implementation's figures. */
function figureRow(model: string, impl: string, x: Figures): string[] {
  return [
    model,
    impl,
    f(x.auc),
    f(x.ap),
    f(x.r1),
    f(x.p100, 2),
    f(x.fit_s, 3),
    f(x.model_fit_s, 3),
    f(x.score_s, 3),
    f(x.model_score_s, 4),
    Math.round(x.rows_per_s).toLocaleString("en-US"),
  ];
}

/** One table row of metric ranges over seeds. */
function seedRow(impl: string, runs: Pick<Figures, "auc" | "ap" | "r1" | "p100">[]): string[] {
  return [
    "",
    impl,
    range(runs.map((e) => e.auc)),
    range(runs.map((e) => e.ap)),
    range(runs.map((e) => e.r1)),
    range(runs.map((e) => e.p100)),
    "",
    "",
    "",
    "",
    "",
  ];
}

const rows: string[][] = [];
const nSeeds = Number(flags.seeds);
for (const model of flags.models!.split(",")) {
  const a = await ours(model, 0);
  const extra: Figures[] = [a];
  if (getKind(model).fitOn === "negatives") {
    for (let s = 1; s < nSeeds; s++) extra.push(await ours(model, s));
  }
  const p = await peer(model);
  rows.push(figureRow(model, "fraudlab", a));
  if (extra.length > 1) rows.push(seedRow(`fraudlab seeds 0..${nSeeds - 1}`, extra));
  if (p) {
    rows.push(figureRow("", "peer (Python)", p));
    if (p.seeds) rows.push(seedRow(`peer seeds 0..${p.seeds.length - 1}`, p.seeds));
    rows.push([
      "",
      "difference / speed-up",
      f(a.auc - p.auc),
      f(a.ap - p.ap),
      f(a.r1 - p.r1),
      f(a.p100 - p.p100, 2),
      `${(p.fit_s / a.fit_s).toFixed(2)}×`,
      `${(p.model_fit_s / a.model_fit_s).toFixed(2)}×`,
      `${(p.score_s / a.score_s).toFixed(1)}×`,
      `${(p.model_score_s / a.model_score_s).toFixed(1)}×`,
      `fit+score ${((p.fit_s + p.score_s) / (a.fit_s + a.score_s)).toFixed(1)}×`,
    ]);
  }
}
console.log(
  table([
    "model",
    "impl",
    "ROC-AUC",
    "AP",
    "recall@1%FPR",
    "P@100",
    "fit s",
    "model fit s",
    "score s",
    "model score s",
    "score rows/s",
  ], rows),
);
