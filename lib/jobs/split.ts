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
import { DAY_MS } from "../util/time.ts";

/** Row indices of the three parts a run uses. */
export interface RunSplit {
  fit: Uint32Array;
  validation: Uint32Array;
  test: Uint32Array;
  description: string;
}

/** Splits a dataset's rows as a run config says. */
export function splitForRun(
  config: RunConfig,
  data: { ds: Dataset; labels: Int8Array },
): RunSplit {
  const { ds, labels } = data;
  const split = config.split;
  if (split.method === "time") {
    if (!ds.spec.time) {
      throw new UserError(`--split time: spec "${ds.spec.name}" has no time column`);
    }
    if (split.trainDays < 2) {
      throw new UserError(
        "--split time: --train-days must be at least 2 (one day is held out to choose the threshold)",
      );
    }
    const t = timesMs(ds.frame, ds.spec.time);
    let max = -Infinity;
    for (let i = 0; i < t.length; i++) if (t[i] > max) max = t[i];
    const end = split.testEnd ? Date.parse(split.testEnd) : (Math.floor(max / DAY_MS) + 1) * DAY_MS;
    const startMs = end - (split.testDays + split.delayDays + split.trainDays) * DAY_MS;
    const s = splitTimeWindows(t, {
      trainDays: split.trainDays,
      gapDays: split.delayDays,
      testDays: split.testDays,
      startMs,
    });
    const inner = splitStratified(Int8Array.from(s.train, (i) => labels[i]), {
      testFraction: config.validationFraction,
      seed: config.seed + 1,
    });
    const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    return {
      fit: inner.train.map((j) => s.train[j]),
      validation: inner.test.map((j) => s.train[j]),
      test: s.test,
      description: `time: train ${iso(startMs)}..${iso(startMs + split.trainDays * DAY_MS)} ` +
        `(validation = stratified ${config.validationFraction} of it), label delay ${split.delayDays}d, ` +
        `test ${iso(end - split.testDays * DAY_MS)}..${iso(end)} (end exclusive)`,
    };
  }
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
