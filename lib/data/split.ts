/**
 * Train/test splits. Every split returns row indices (ascending, file order)
 * so the same split applies to frames, matrices and label arrays alike.
 * @module
 */
import { Rng } from "../util/rng.ts";
import { UserError } from "../util/errors.ts";
import { DAY_MS } from "../util/time.ts";

/** Row indices of each side of a split. */
export interface Split {
  train: Uint32Array;
  test: Uint32Array;
  /** How the split was made, for run records. */
  method: string;
}

/** `mod5`: row i is test iff i % 5 == 4 (the peer protocol's rule). */
export function splitMod5(rows: number): Split {
  const test = new Uint32Array(Math.floor(rows / 5));
  const train = new Uint32Array(rows - test.length);
  let a = 0, b = 0;
  for (let i = 0; i < rows; i++) {
    if (i % 5 === 4) test[b++] = i;
    else train[a++] = i;
  }
  return { train, test, method: "mod5" };
}

/** File-order prefix: the first floor(fraction · rows) rows train (the protocol's `time80` with 0.8). */
export function splitPrefix(rows: number, fraction = 0.8): Split {
  if (!(fraction > 0 && fraction < 1)) {
    throw new UserError(`split fraction must be in (0, 1), got ${fraction}`);
  }
  const cut = fraction === 0.8 ? Math.floor((4 * rows) / 5) : Math.floor(fraction * rows);
  const train = new Uint32Array(cut), test = new Uint32Array(rows - cut);
  for (let i = 0; i < cut; i++) train[i] = i;
  for (let i = cut; i < rows; i++) test[i - cut] = i;
  return { train, test, method: `prefix(${fraction})` };
}

/** Options for {@linkcode splitStratified}. */
export interface StratifiedOptions {
  /** Share of each class sent to test. Default 0.2. */
  testFraction?: number;
  /** Seed. Default 0. */
  seed?: number;
}

/**
 * Seeded stratified random split: each class sends round(testFraction · n_class)
 * of its rows to test, so both sides keep the fraud rate.
 */
export function splitStratified(labels: ArrayLike<number>, options: StratifiedOptions = {}): Split {
  const fraction = options.testFraction ?? 0.2;
  if (!(fraction > 0 && fraction < 1)) {
    throw new UserError(`--test-fraction must be in (0, 1), got ${fraction}`);
  }
  const rng = new Rng(options.seed ?? 0);
  const isTest = new Uint8Array(labels.length);
  for (const cls of [0, 1]) {
    const rows: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === cls) rows.push(i);
    rng.shuffle(rows);
    const k = Math.round(fraction * rows.length);
    for (let j = 0; j < k; j++) isTest[rows[j]] = 1;
  }
  return fromMask(isTest, `stratified(${fraction}, seed=${options.seed ?? 0})`);
}

function fromMask(isTest: Uint8Array, method: string): Split {
  let nTest = 0;
  for (const v of isTest) nTest += v;
  const train = new Uint32Array(isTest.length - nTest), test = new Uint32Array(nTest);
  let a = 0, b = 0;
  for (let i = 0; i < isTest.length; i++) {
    if (isTest[i]) test[b++] = i;
    else train[a++] = i;
  }
  return { train, test, method };
}

/** Options for {@linkcode splitTimeWindows}. */
export interface TimeWindowOptions {
  /** Days of training data. */
  trainDays: number;
  /** Days left out between train and test, so that test labels are not in train's future. Default 0. */
  gapDays?: number;
  /** Days of test data. */
  testDays: number;
  /** Start of the training window, epoch ms; default the earliest time. */
  startMs?: number;
}

/**
 * Time-window split over event times in epoch ms: train = [start, start +
 * trainDays), test = [start + trainDays + gapDays, … + testDays). Rows in
 * the gap or outside both windows belong to neither side. An empty window is
 * a UserError that names the window and the data's time range.
 */
export function splitTimeWindows(timesMs: ArrayLike<number>, options: TimeWindowOptions): Split {
  const { trainDays, testDays } = options;
  const gapDays = options.gapDays ?? 0;
  for (
    const [name, v] of [["train-days", trainDays], ["gap-days", gapDays], [
      "test-days",
      testDays,
    ]] as const
  ) {
    if (!(Number.isFinite(v) && v >= 0)) {
      throw new UserError(`--${name}: expected a number of days >= 0, got ${v}`);
    }
  }
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < timesMs.length; i++) {
    const t = timesMs[i];
    if (t < min) min = t;
    if (t > max) max = t;
  }
  const start = options.startMs ?? min;
  const trainEnd = start + trainDays * DAY_MS;
  const testStart = trainEnd + gapDays * DAY_MS;
  const testEnd = testStart + testDays * DAY_MS;
  const train: number[] = [], test: number[] = [];
  for (let i = 0; i < timesMs.length; i++) {
    const t = timesMs[i];
    if (t >= start && t < trainEnd) train.push(i);
    else if (t >= testStart && t < testEnd) test.push(i);
  }
  const iso = (
    ms: number,
  ) => (Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 19) : "none");
  const range = `data spans ${iso(min)} to ${iso(max)}`;
  if (train.length === 0) {
    throw new UserError(`train window ${iso(start)} to ${iso(trainEnd)} holds no rows (${range})`);
  }
  if (test.length === 0) {
    throw new UserError(
      `test window ${iso(testStart)} to ${iso(testEnd)} holds no rows (${range})`,
    );
  }
  return {
    train: Uint32Array.from(train),
    test: Uint32Array.from(test),
    method: `time(train=${trainDays}d, gap=${gapDays}d, test=${testDays}d, start=${iso(start)})`,
  };
}

/** Class counts of one side of a split. */
export interface SideCounts {
  rows: number;
  positives: number;
}

/** Counts rows and positives on each side. */
export function splitCounts(
  split: Split,
  labels: ArrayLike<number>,
): { train: SideCounts; test: SideCounts } {
  const count = (idx: Uint32Array): SideCounts => {
    let p = 0;
    for (const i of idx) p += labels[i] === 1 ? 1 : 0;
    return { rows: idx.length, positives: p };
  };
  return { train: count(split.train), test: count(split.test) };
}

/**
 * Throws a UserError unless both sides hold both classes (what supervised
 * training and AP / ROC-AUC need); names the side and its counts.
 */
export function requireBothClasses(split: Split, labels: ArrayLike<number>): void {
  const counts = splitCounts(split, labels);
  for (const side of ["train", "test"] as const) {
    const { rows, positives } = counts[side];
    if (positives === 0 || positives === rows) {
      throw new UserError(
        `${side} side of split ${split.method} holds a single class (${positives} fraud of ${rows} rows): ` +
          `widen the window or pick another split`,
      );
    }
  }
}
