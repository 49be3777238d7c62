/**
 * The rows a run fits on, chooses its threshold on and is tested on, as its
 * config's split says (time windows with a label delay, mod 5, prefix or
 * stratified).
 * @module
 */
import type { Dataset } from "../data/load.ts";
import { splitMod5, splitPrefix, splitStratified, splitTimeWindows } from "../data/split.ts";
import { timesMs } from "../features/velocity.ts";
import type { RunConfig } from "../registry/config.ts";
import { UserError } from "../util/errors.ts";
import { stringColumn } from "../data/frame.ts";
import { DAY_MS } from "../util/time.ts";

/** Row indices of the three parts a run uses. */
export interface RunSplit {
  fit: Uint32Array;
  validation: Uint32Array;
  test: Uint32Array;
  description: string;
  /** Validation and test transactions left out: their card was known to be compromised. */
  knownCompromised?: { validation: number; test: number };
}

type TimeSplit = Extract<RunConfig["split"], { method: "time" }>;

/**
 * Rows of `rows` whose card (`cards`) had no fraud known by their day: a
 * fraud at or after `fromMs` and before the start of their UTC day minus
 * the label delay (the Handbook's test-set rule).
 */
export function dropKnownCompromised(
  rows: Uint32Array,
  known: { times: ArrayLike<number>; labels: ArrayLike<number>; cards: ArrayLike<string | null> },
  rule: { fromMs: number; delayDays: number },
): Uint32Array {
  const { times, labels, cards } = known;
  const firstFraud = new Map<string, number>();
  for (let i = 0; i < times.length; i++) {
    const c = cards[i];
    if (labels[i] !== 1 || c === null || times[i] < rule.fromMs) continue;
    const f = firstFraud.get(c);
    if (f === undefined || times[i] < f) firstFraud.set(c, times[i]);
  }
  const kept: number[] = [];
  for (const r of rows) {
    const c = cards[r];
    const f = c === null ? undefined : firstFraud.get(c);
    const knownBy = Math.floor(times[r] / DAY_MS) * DAY_MS - rule.delayDays * DAY_MS;
    if (f === undefined || f >= knownBy) kept.push(r);
  }
  return Uint32Array.from(kept);
}

/**
 * The time split: fit window, label delay, validation window (out of time,
 * by default), test window, ending at `testEnd` (default: after the data);
 * with `compromised: "drop"`, validation and test leave out cards already
 * known to be compromised.
 */
function splitTimeForRun(
  config: RunConfig,
  split: TimeSplit,
  data: { ds: Dataset; labels: Int8Array },
): RunSplit {
  const { ds, labels } = data;
  if (!ds.spec.time) {
    throw new UserError(`--split time: spec "${ds.spec.name}" has no time column`);
  }
  const outOfTime = split.validation === "time";
  if (!outOfTime && split.trainDays < 2) {
    throw new UserError(
      "--split time --validation random: --train-days must be at least 2 (a share of it is held out to choose the threshold)",
    );
  }
  const t = timesMs(ds.frame, ds.spec.time);
  let max = -Infinity;
  for (let i = 0; i < t.length; i++) if (t[i] > max) max = t[i];
  const end = split.testEnd ? Date.parse(split.testEnd) : (Math.floor(max / DAY_MS) + 1) * DAY_MS;
  const testStart = end - split.testDays * DAY_MS;
  const valStart = outOfTime ? testStart - split.validationDays * DAY_MS : testStart;
  const fitEnd = valStart - split.delayDays * DAY_MS;
  const fitStart = fitEnd - split.trainDays * DAY_MS;
  const s = splitTimeWindows(t, {
    trainDays: split.trainDays,
    gapDays: split.delayDays,
    testDays: (end - valStart) / DAY_MS,
    startMs: fitStart,
  });
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  let fit: Uint32Array, validation: Uint32Array, test: Uint32Array, validationText: string;
  if (outOfTime) {
    fit = s.train;
    validation = s.test.filter((i) => t[i] < testStart);
    test = s.test.filter((i) => t[i] >= testStart);
    validationText = `validation ${iso(valStart)}..${iso(testStart)}`;
  } else {
    const inner = splitStratified(Int8Array.from(s.train, (i) => labels[i]), {
      testFraction: config.validationFraction,
      seed: config.seed + 1,
    });
    fit = inner.train.map((j) => s.train[j]);
    validation = inner.test.map((j) => s.train[j]);
    test = s.test;
    validationText = `validation = stratified ${config.validationFraction} of the training window`;
  }
  const card = ds.spec.entities[0];
  let knownCompromised: RunSplit["knownCompromised"];
  if (split.compromised === "drop" && card) {
    const known = { times: t, labels, cards: stringColumn(ds.frame, card) };
    const rule = { fromMs: fitStart, delayDays: split.delayDays };
    const v = outOfTime ? dropKnownCompromised(validation, known, rule) : validation;
    const k = dropKnownCompromised(test, known, rule);
    knownCompromised = { validation: validation.length - v.length, test: test.length - k.length };
    validation = v;
    test = k;
  }
  return {
    fit,
    validation,
    test,
    knownCompromised,
    description: `time: train ${iso(fitStart)}..${iso(fitEnd)}, label delay ${split.delayDays}d, ` +
      `${validationText}, test ${iso(testStart)}..${iso(end)} (end exclusive)` +
      (knownCompromised
        ? `; left out as known compromised (${card} with an earlier fraud): ${knownCompromised.validation} validation, ${knownCompromised.test} test transactions`
        : ""),
  };
}

/** Splits a dataset's rows as a run config says. */
export function splitForRun(
  config: RunConfig,
  data: { ds: Dataset; labels: Int8Array },
): RunSplit {
  const { labels } = data;
  const split = config.split;
  if (split.method === "time") return splitTimeForRun(config, split, data);
  const base = split.method === "mod5"
    ? splitMod5(labels.length)
    : split.method === "prefix"
    ? splitPrefix(labels.length, split.trainFraction)
    : splitStratified(labels, { testFraction: split.testFraction, seed: config.seed });
  const trainLabels = Int8Array.from(base.train, (i) => labels[i]);
  const inner = splitStratified(trainLabels, {
    testFraction: config.validationFraction,
    seed: config.seed + 1,
  });
  return {
    fit: inner.train.map((j) => base.train[j]),
    validation: inner.test.map((j) => base.train[j]),
    test: base.test,
    description: `${base.method}; validation = stratified ${config.validationFraction} of train`,
  };
}
