/**
 * The Fraud Detection Handbook's tables, reproduced on a Handbook-format
 * file (CSV or Parquet: the book's own data works unchanged), by default the
 * book's own data set, rebuilt here with its draws (`generate --profile
 * handbook`); with `--seed` or `--seeds`, fraudlab's worlds under the same rules:
 *
 *   deno run -A bench/handbook.ts [--data FILE] [--seed S] [--seeds N] [--peer] [--chapter 3|5|6|all]
 *
 * With `--peer`, chapter 3's models also run in scikit-learn and XGBoost
 * (the book's libraries, `bench/handbook_peer.py`, Debian's Python) on the
 * very matrices fraudlab's models see, printed beside them: what differs
 * then is the implementation alone, not the world.
 *
 * With `--seeds N` (no `--data`), N simulated worlds (seeds `--seed` …
 * `--seed` + N − 1): each figure is their mean ± standard deviation, since
 * one world's figures differ from another's by more than the book's ±0.02
 * (its own file is one world).
 *
 * Chapter 3 (baseline): the book's 15 features (`rules: "handbook"`, delay
 * 7 days), training week 2018-07-25..07-31 (every row fitted), test week
 * 2018-08-08..08-14 without the customers known to be compromised, each
 * model in the book's settings (scikit-learn's and XGBoost's defaults where
 * the book leaves them: logistic regression unweighted with C = 1; trees by
 * gini; a forest of 100 trees on √d features; XGBoost 1.x's 100 trees of
 * depth 6 at learning rate 0.3 from a base score of 0.5), test AUC ROC, AP
 * and card precision@100 with
 * detected cards removed, printed beside the book's with the differences,
 * and how long the chapter took. Trees the book grows without a depth limit
 * are grown to depth 20 here (the kinds' limit).
 *
 * Chapter 5 (model selection): each model's grid (the book's, depths capped
 * at 20) on 4 prequential validation folds (training weeks from 2018-07-11
 * back by a week each, 7 days of delay, a week assessed), and for each
 * metric the configuration best on validation is reported on the 4
 * prequential test folds (training weeks from 2018-08-15 back, assessed
 * 08-08 .. 08-29), as the book's summary table does. Chapter 6 (imbalanced learning): the same
 * selection over the book's resampling and ensemble searches
 * (`CHAPTER6_SEARCHES`).
 *
 * The last stdout line is one JSON object:
 * `{"chapter3": {"logreg": {"auc", "ap", "cp100"}, "dt2": …, "dt": …, "rf": …, "gbdt": …},
 *   "chapter5": {"dt": …, "logreg": …, "rf": …, "gbdt": …}, "chapter6": {"cs_dt": …, …}}`
 * (with `sd` over worlds).
 */
import { join } from "node:path";
import { loadDataset } from "../lib/data/load.ts";
import { HANDBOOK_SPEC } from "../lib/data/datasets.ts";
import { HANDBOOK_TOTALS, simulateHandbook } from "../lib/data/handbook.ts";
import { writeFrame } from "../lib/data/write.ts";
import { labelsOf, stringColumn } from "../lib/data/frame.ts";
import { splitTimeWindows } from "../lib/data/split.ts";
import { featureFrame, fitPipeline, velocityOptionsFor } from "../lib/features/pipeline.ts";
import { timesMs } from "../lib/features/velocity.ts";
import { fitOnRows, getKind, resolveParams, scoreBatch } from "../lib/models/mod.ts";
import { transformFrame } from "../lib/features/pipeline.ts";
import { averagePrecision } from "../lib/eval/curves.ts";
import { entityPrecisionAtK, rocAuc } from "../lib/eval/metrics.ts";
import { dropKnownCompromised } from "../lib/jobs/split.ts";
import { assessOnFolds, configurations, prequentialFolds } from "../lib/jobs/tune.ts";
import { parseResample } from "../lib/models/resample.ts";
import { intFlag, parseFlags } from "../lib/util/cli.ts";
import { table } from "../lib/util/table.ts";
import { meanStd } from "../lib/util/stats.ts";

const flags = parseFlags(Deno.args, {
  data: { type: "string", help: "a Handbook-format file (default: simulated here)" },
  seed: { type: "string", help: "the simulated world's seed (default 0)" },
  seeds: { type: "string", help: "simulated worlds to average (default 1)" },
  peer: {
    type: "boolean",
    help:
      "chapter 3 also in scikit-learn and XGBoost on the same matrices (bench/handbook_peer.py)",
  },
  chapter: { type: "string", help: "3, 5, 6 or all (default)" },
});
const chapter = flags.chapter ?? "all";
if (!["3", "5", "6", "all"].includes(chapter)) {
  console.error(`--chapter ${chapter}: expected 3, 5, 6 or all`);
  Deno.exit(2);
}
const chapters = chapter === "all" ? ["3", "5", "6"] : [chapter];

/** The book's chapter 3.4 table (AUC ROC, AP, CP@100): ../shared/anchors/HANDBOOK.md. */
const BOOK_CHAPTER3: Record<string, [number, number, number]> = {
  logreg: [0.871, 0.606, 0.291],
  dt2: [0.763, 0.496, 0.241],
  dt: [0.788, 0.309, 0.243],
  rf: [0.867, 0.658, 0.287],
  gbdt: [0.862, 0.639, 0.273],
};

/** The book's chapter 5 table (test at the parameters chosen on validation). */
const BOOK_CHAPTER5: Record<string, [number, number, number]> = {
  dt: [0.797, 0.579, 0.284],
  logreg: [0.868, 0.623, 0.297],
  rf: [0.870, 0.678, 0.299],
  gbdt: [0.869, 0.687, 0.303],
};

/** The book's chapter 5 grids (its ModelSelection notebook), trees at most 20 deep here. */
const CHAPTER5_GRIDS: [string, string, Record<string, unknown>, Record<string, unknown[]>][] = [
  ["dt", "dt", {}, { maxDepth: [2, 3, 4, 5, 6, 7, 8, 9, 10, 20] }],
  ["logreg", "logreg", { classWeight: "none" }, { C: [0.1, 1, 10, 100] }],
  ["rf", "rf", { maxFeatures: "sqrt" }, { nEstimators: [25, 50, 100], maxDepth: [5, 10, 20] }],
  [
    "gbdt",
    "gbdt",
    { baseScore: 0.5 },
    { maxDepth: [3, 6, 9], nEstimators: [25, 50, 100], learningRate: [0.1, 0.3] },
  ],
];

/** The book's chapter 6 table (its imbalanced-learning sections, prequential test). */
const BOOK_CHAPTER6: Record<string, [number, number, number]> = {
  cs_dt: [0.825, 0.556, 0.289],
  cs_logreg: [0.871, 0.623, 0.297],
  smote: [0.845, 0.573, 0.289],
  undersample: [0.83, 0.594, 0.277],
  smote_undersample: [0.847, 0.544, 0.288],
  bagging: [0.856, 0.678, 0.293],
  balanced_bagging: [0.879, 0.680, 0.305],
  balanced_rf: [0.872, 0.677, 0.302],
  gbdt: [0.872, 0.687, 0.302],
  weighted_gbdt: [0.872, 0.687, 0.300],
};

const RATIOS = [0.01, 0.05, 0.1, 0.5, 1];
/**
 * The book's chapter 6 searches (its Resampling_Strategies and
 * Ensembling_Strategies notebooks): depth-5 trees with SMOTE, random
 * undersampling (imbalance ratios 0.01–1) or SMOTE 0.1 then undersampling
 * 0.1–1; bagging and balanced bagging (100 trees of depth 20, every
 * feature; ratios 0.02–1), balanced random forests (ratios 0.01–1), XGBoost
 * with 50 trees of depth 3 at learning rate 0.3 and its scale_pos_weight;
 * cost-sensitive depth-5 trees and logistic regression with the legitimate
 * class weighted 0.01–1 (its Cost_Sensitive_Learning notebook).
 */
const CHAPTER6_SEARCHES: Search[] = [
  ["cs_dt", "dt", { maxDepth: 5 }, { classWeight: RATIOS }, ["none"]],
  ["cs_logreg", "logreg", { C: 1 }, { classWeight: RATIOS }, ["none"]],
  ["smote", "dt", { maxDepth: 5 }, {}, RATIOS.map((r) => `smote:ratio=${r}`)],
  ["undersample", "dt", { maxDepth: 5 }, {}, RATIOS.map((r) => `undersample:ratio=${r}`)],
  [
    "smote_undersample",
    "dt",
    { maxDepth: 5 },
    {},
    [0.1, 0.5, 1].map((u) => `smote+undersample:ratio=0.1,under=${u}`),
  ],
  ["bagging", "rf", { nEstimators: 100, maxDepth: 20, maxFeatures: "all" }, {}, ["none"]],
  [
    "balanced_bagging",
    "rf",
    { nEstimators: 100, maxDepth: 20, maxFeatures: "all" },
    { undersample: [0.02, 0.05, 0.1, 0.5, 1] },
    ["none"],
  ],
  [
    "balanced_rf",
    "rf",
    { nEstimators: 100, maxDepth: 20, maxFeatures: "sqrt" },
    { undersample: RATIOS },
    ["none"],
  ],
  ["gbdt", "gbdt", { nEstimators: 50, maxDepth: 3, learningRate: 0.3, baseScore: 0.5 }, {}, [
    "none",
  ]],
  [
    "weighted_gbdt",
    "gbdt",
    { nEstimators: 50, maxDepth: 3, learningRate: 0.3, baseScore: 0.5 },
    { scalePosWeight: [1, 5, 10, 50, 100] },
    ["none"],
  ],
];

/** The book's models: kind and parameters. */
const CHAPTER3_MODELS: [string, string, Record<string, unknown>][] = [
  ["logreg", "logreg", { classWeight: "none", C: 1 }],
  ["dt2", "dt", { maxDepth: 2 }],
  ["dt", "dt", { maxDepth: 20 }],
  ["rf", "rf", { nEstimators: 100, maxDepth: 20, maxFeatures: "sqrt" }],
  ["gbdt", "gbdt", { nEstimators: 100, maxDepth: 6, learningRate: 0.3, baseScore: 0.5 }],
];

const seed = intFlag(flags.seed, { name: "seed", fallback: 0, min: 0 });
const seeds = intFlag(flags.seeds, { name: "seeds", fallback: 1, min: 1, max: 100 });
/** Without --seed or --seeds, the book's own data set (its draws); with them, fraudlab's worlds. */
const bookWorld = flags.seed === undefined && flags.seeds === undefined;
if (flags.data && seeds > 1) {
  console.error("--seeds: only for simulated worlds (without --data)");
  Deno.exit(2);
}

type Figures = { auc: number; ap: number; cp100: number };
const METRICS = ["auc", "ap", "cp100"] as const;
const FOLD_METRIC = { auc: "auc", ap: "ap", cp100: "cp100" } as const;

/** One file read with the book's features: what every chapter uses. */
interface World {
  ds: Awaited<ReturnType<typeof loadDataset>>;
  labels: Int8Array;
  ff: ReturnType<typeof featureFrame>;
  times: Float64Array;
  cards: (string | null)[];
}

const FEATURES = { standardize: true, velocity: { rules: "handbook" as const, delayDays: 7 } };

async function readWorld(path: string): Promise<World> {
  const t0 = performance.now();
  const ds = await loadDataset(path, structuredClone(HANDBOOK_SPEC));
  const ff = featureFrame(ds, velocityOptionsFor(ds.spec, FEATURES));
  const w = {
    ds,
    labels: labelsOf(ds),
    ff,
    times: timesMs(ds.frame, "TX_DATETIME"),
    cards: stringColumn(ds.frame, "CUSTOMER_ID"),
  };
  console.log(`features in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return w;
}

/** Chapter 3 on one world: each model's test figures. */
async function chapter3(w: World): Promise<Record<string, Figures>> {
  const { labels, ff, times: t, cards } = w;
  const trainStart = Date.UTC(2018, 6, 25);
  const s = splitTimeWindows(t, { trainDays: 7, gapDays: 7, testDays: 7, startMs: trainStart });
  const test = dropKnownCompromised(s.test, { times: t, labels, cards }, {
    fromMs: trainStart,
    delayDays: 7,
  });
  const frauds = (rows: Uint32Array) => rows.reduce((n, i) => n + labels[i], 0);
  console.log(
    `chapter 3: train 2018-07-25..07-31 ${s.train.length} tx (${frauds(s.train)} fraud; book ` +
      `67,240 and 598), test 2018-08-08..08-14 ${test.length} tx (${frauds(test)} fraud; book ` +
      `58,264 and 385), ${s.test.length - test.length} test tx of known-compromised customers ` +
      `left out`,
  );
  const pipeline = fitPipeline(ff, s.train, FEATURES);
  const Xtest = transformFrame(pipeline, ff, { rows: test });
  const yTest = Int8Array.from(test, (i) => labels[i]);
  const testTimes = Float64Array.from(test, (i) => t[i]);
  const testCards = Array.from(test, (i) => cards[i]);
  const out: Record<string, Figures> = {};
  if (flags.peer) await chapter3Peer({ pipeline, ff, train: s.train, test, w, Xtest });
  // With the peer, chapter 6's XGBoost settings too, to compare on the same matrices.
  const models: typeof CHAPTER3_MODELS = flags.peer
    ? [...CHAPTER3_MODELS, ["gbdt_small", "gbdt", {
      nEstimators: 50,
      maxDepth: 3,
      learningRate: 0.3,
      baseScore: 0.5,
    }]]
    : CHAPTER3_MODELS;
  for (const [name, kindName, params] of models) {
    const kind = getKind(kindName);
    const { detector } = await fitOnRows(
      { kind, params: resolveParams(kind, params) },
      { pipeline, ff, rows: s.train, labels },
      { seed: 0, quiet: true },
    );
    const scores = await scoreBatch(detector, Xtest);
    out[name] = {
      auc: rocAuc(yTest, scores),
      ap: averagePrecision(yTest, scores),
      cp100: entityPrecisionAtK(yTest, scores, {
        timesMs: testTimes,
        entities: testCards,
        k: 100,
        removeDetected: true,
      }).mean,
    };
  }
  return out;
}

/** Writes chapter 3's matrices and runs the Python peer on them (one JSON line a model). */
async function chapter3Peer(o: {
  pipeline: ReturnType<typeof fitPipeline>;
  ff: World["ff"];
  train: Uint32Array;
  test: Uint32Array;
  w: World;
  Xtest: ReturnType<typeof transformFrame>;
}) {
  const dir = await Deno.makeTempDir({ prefix: "fraudlab_handbook_peer_" });
  const write = async (name: string, rows: Uint32Array, X: ReturnType<typeof transformFrame>) => {
    const lines = [[...X.columns, "label", "day", "card"].join(",")];
    for (let r = 0; r < X.rows; r++) {
      const i = rows[r];
      const x = Array.from(X.data.subarray(r * X.cols, (r + 1) * X.cols));
      lines.push(
        [...x, o.w.labels[i], Math.floor(o.w.times[i] / 86_400_000), o.w.cards[i]].join(","),
      );
    }
    await Deno.writeTextFile(join(dir, name), lines.join("\n") + "\n");
  };
  await write("train.csv", o.train, transformFrame(o.pipeline, o.ff, { rows: o.train }));
  await write("test.csv", o.test, o.Xtest);
  const peer = new URL("./handbook_peer.py", import.meta.url).pathname;
  const r = await new Deno.Command("/usr/bin/python3", { args: [peer, dir], stderr: "inherit" })
    .output();
  const text = new TextDecoder().decode(r.stdout).trim();
  for (const line of text.split("\n").filter(Boolean)) {
    const p = JSON.parse(line);
    const name = p.model as string;
    peerResults[name] ??= [];
    peerResults[name].push({ auc: p.auc, ap: p.ap, cp100: p.cp100 });
  }
  await Deno.remove(dir, { recursive: true });
  if (!r.success) throw new Error("bench/handbook_peer.py failed");
}
const peerResults: Record<string, Figures[]> = {};

/** Every combination of a grid (the tune task's grid search). */
function grid(g: Record<string, unknown[]>) {
  return configurations(
    Object.entries(g).map(([k, vs]) => [k, { values: vs as (number | string | boolean)[] }]),
    { seed: 0 },
  );
}

/** A model's search: kind, fixed parameters, a parameter grid and the resamplings to try. */
type Search = [string, string, Record<string, unknown>, Record<string, unknown[]>, string[]];

/**
 * Per model: every configuration on the 4 prequential validation folds and
 * the 4 test folds; for each metric, the test folds' mean at the
 * configuration best on validation (the book's summary tables).
 */
async function selectOnFolds(
  w: World,
  searches: Search[],
  chapterName: string,
): Promise<Record<string, Figures & { chosen: Record<string, string> }>> {
  const folds = (firstTrainStart: number) =>
    prequentialFolds({ ds: w.ds, ff: w.ff, labels: w.labels, times: w.times }, {
      firstTrainStart,
      trainDays: 7,
      delayDays: 7,
      foldDays: 7,
      folds: 4,
      dropCompromised: true,
      features: FEATURES,
    });
  // The book's start_date_training_for_valid (2018-07-25 − delay − a week) and
  // start_date_training_for_test (2018-07-25 + 3 weeks): test folds assess 08-08 .. 08-29.
  const validation = folds(Date.UTC(2018, 6, 11)), test = folds(Date.UTC(2018, 7, 15));
  console.log(
    `${chapterName}: validation folds assess ${
      validation.map((f) => f.window.assess[0]).join(", ")
    }; ` +
      `test folds ${test.map((f) => f.window.assess[0]).join(", ")}`,
  );
  const out: Record<string, Figures & { chosen: Record<string, string> }> = {};
  for (const [name, kindName, base, g, resamples] of searches) {
    const kind = getKind(kindName);
    const t0 = performance.now();
    const scored = [];
    for (const p of grid(g)) {
      for (const r of resamples) {
        const params = resolveParams(kind, { ...base, ...p });
        const opts = { seed: 0, k: 100, removeDetected: true, labels: w.labels, ff: w.ff };
        const model = { kind, params, resample: parseResample(r) };
        const v = await assessOnFolds(model, validation, opts);
        const t = await assessOnFolds(model, test, opts);
        const mean = (rows: Record<string, number>[], m: string) =>
          meanStd(rows.map((row) => row[m])).mean;
        scored.push({
          p: r === "none" ? p : { ...p, resample: r },
          v: Object.fromEntries(METRICS.map((m) => [m, mean(v, FOLD_METRIC[m])])),
          t: Object.fromEntries(METRICS.map((m) => [m, mean(t, FOLD_METRIC[m])])),
        });
      }
    }
    const figures = {} as Figures, chosen: Record<string, string> = {};
    for (const m of METRICS) {
      const best = scored.reduce((a, b) => (b.v[m] > a.v[m] ? b : a));
      figures[m] = best.t[m];
      chosen[m] = JSON.stringify(best.p);
    }
    out[name] = { ...figures, chosen };
    console.log(
      `  ${name}: ${scored.length} configurations in ${
        ((performance.now() - t0) / 1000).toFixed(0)
      } s; chosen ${METRICS.map((m) => `${m} ${chosen[m]}`).join(", ")}`,
    );
  }
  return out;
}

/** Chapter 5 on one world. */
function chapter5(w: World) {
  return selectOnFolds(
    w,
    CHAPTER5_GRIDS.map(([n, k, b, g]) => [n, k, b, g, ["none"]]),
    "chapter 5",
  );
}

/** Chapter 6 on one world. */
function chapter6(w: World) {
  return selectOnFolds(w, CHAPTER6_SEARCHES, "chapter 6");
}

const started: Record<string, number> = {};
const spent: Record<string, number> = { "3": 0, "5": 0, "6": 0 };
const results: Record<string, Record<string, Figures>[]> = { "3": [], "5": [], "6": [] };
async function runChapters(path: string) {
  const w = await readWorld(path);
  for (const c of chapters) {
    started[c] = performance.now();
    results[c].push(
      c === "3" ? await chapter3(w) : c === "5" ? await chapter5(w) : await chapter6(w),
    );
    spent[c] += (performance.now() - started[c]) / 1000;
  }
}
if (flags.data) await runChapters(flags.data);
else {
  const tmp = await Deno.makeTempDir({ prefix: "fraudlab_handbook_" });
  for (let k = 0; k < (bookWorld ? 1 : seeds); k++) {
    const path = join(tmp, `handbook_${bookWorld ? "book" : seed + k}.parquet`);
    const frame = simulateHandbook(bookWorld ? {} : { seed: seed + k });
    writeFrame(frame, path);
    const fraud = Number(frame.getColumn("TX_FRAUD").sum());
    console.log(
      `world ${bookWorld ? "of the book's draws" : seed + k}: ${frame.height} transactions ` +
        `(book ${HANDBOOK_TOTALS.transactions}), ${fraud} fraud (book ${HANDBOOK_TOTALS.frauds})`,
    );
    await runChapters(path);
  }
  await Deno.remove(tmp, { recursive: true });
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;
const rounded = (f: Figures) => ({ auc: round(f.auc), ap: round(f.ap), cp100: round(f.cp100) });
const json: Record<string, unknown> = {};
for (const c of chapters) {
  const book = c === "3" ? BOOK_CHAPTER3 : c === "5" ? BOOK_CHAPTER5 : BOOK_CHAPTER6;
  const worlds = results[c];
  const rows: string[][] = [];
  const summary: Record<string, unknown> = {};
  for (const name of Object.keys(book)) {
    const cells: string[] = [name];
    const mean = {} as Figures, sds = {} as Figures;
    METRICS.forEach((metric, j) => {
      const { mean: m, sd } = meanStd(worlds.map((w) => w[name][metric]));
      mean[metric] = m;
      sds[metric] = sd;
      const d = m - book[name][j];
      cells.push(
        `${m.toFixed(3)}${worlds.length > 1 ? ` ± ${sd.toFixed(3)}` : ""} (${
          book[name][j].toFixed(3)
        }, ${d >= 0 ? "+" : ""}${d.toFixed(3)})`,
      );
    });
    rows.push(cells);
    summary[name] = { ...rounded(mean), ...(worlds.length > 1 ? { sd: rounded(sds) } : {}) };
  }
  console.log(
    `\nchapter ${c}, ${c === "3" ? "test week" : "test folds at the validation's choice"}${
      worlds.length > 1 ? `: mean ± sd over ${worlds.length} worlds` : ""
    }`,
  );
  console.log(
    table(["model", "AUC ROC (book, diff)", "AP (book, diff)", "CP@100 (book, diff)"], rows),
  );
  console.log(`chapter ${c} took ${spent[c].toFixed(1)} s`);
  json[`chapter${c}`] = summary;
  if (c === "3" && flags.peer) {
    const peerRows = Object.keys(BOOK_CHAPTER3).map((name) => [
      name,
      ...METRICS.map((m) => {
        const ours = meanStd(worlds.map((w) => w[name][m])).mean;
        const theirs = meanStd((peerResults[name] ?? []).map((f) => f[m])).mean;
        const d = ours - theirs;
        return `${ours.toFixed(3)} / ${theirs.toFixed(3)} (${d >= 0 ? "+" : ""}${d.toFixed(3)})`;
      }),
    ]);
    for (
      const [label, ours, theirs] of [
        ["gbdt vs XGBoost hist", "gbdt", "gbdt_hist"],
        ["gbdt 50 x depth 3", "gbdt_small", "gbdt_small"],
        ["gbdt 50 x depth 3 vs hist", "gbdt_small", "gbdt_small_hist"],
      ]
    ) {
      const peer = peerResults[theirs] ?? [];
      if (!peer.length || !worlds.every((w) => w[ours])) continue;
      peerRows.push([
        label,
        ...METRICS.map((m) => {
          const a = meanStd(worlds.map((w) => w[ours][m])).mean;
          const b = meanStd(peer.map((f) => f[m])).mean;
          const d = a - b;
          return `${a.toFixed(3)} / ${b.toFixed(3)} (${d >= 0 ? "+" : ""}${d.toFixed(3)})`;
        }),
      ]);
    }
    console.log(
      "\nchapter 3 on the same matrices: fraudlab / scikit-learn and XGBoost, exact splits (diff)",
    );
    console.log(table(["model", "AUC ROC", "AP", "CP@100"], peerRows));
    json.chapter3Peer = Object.fromEntries(
      Object.keys(BOOK_CHAPTER3).map((name) => [
        name,
        rounded(
          Object.fromEntries(
            METRICS.map((m) => [m, meanStd((peerResults[name] ?? []).map((f) => f[m])).mean]),
          ) as Figures,
        ),
      ]),
    );
  }
}
console.log(JSON.stringify(json));
