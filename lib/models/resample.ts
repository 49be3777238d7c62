/**
 * Rebalancing the fit rows (after the pipeline, never validation or test):
 * SMOTE (Chawla et al., 2002, as imbalanced-learn's `SMOTE` makes it),
 * random undersampling (as its `RandomUnderSampler`), or SMOTE then
 * undersampling. Seeded.
 *
 * Syntax (`--resample`): `none`, `smote[:k=5,ratio=R]`,
 * `undersample[:ratio=R]`, `smote+undersample[:k=5,ratio=R,under=U]`.
 * Ratios are the fraud rows over the legitimate rows afterwards, as
 * imbalanced-learn's float `sampling_strategy`: SMOTE adds
 * ⌊ratio · legitimate⌋ − fraud synthetic fraud rows, undersampling keeps
 * ⌊fraud / ratio⌋ legitimate rows.
 *
 * A synthetic row lies on the segment from a fraud row to one of its k
 * nearest fraud neighbours (Euclidean, itself excluded), at a uniform
 * step: x + u · (x_nn − x). The pairs (row, neighbour) are drawn uniformly,
 * as imbalanced-learn draws them; with its draws the points are its points
 * (tested on a committed fixture).
 * @module
 */
import type { Matrix } from "../features/pipeline.ts";
import { Rng } from "../util/rng.ts";
import { UserError } from "../util/errors.ts";

/** A parsed `--resample`. */
export type Resample =
  | { method: "none" }
  | { method: "smote"; k: number; ratio: number }
  | { method: "undersample"; ratio: number }
  | { method: "smote+undersample"; k: number; ratio: number; under: number };

/** The syntax, for help and errors. */
export const RESAMPLE_SYNTAX =
  "none, smote[:k=5,ratio=R], undersample[:ratio=R] or smote+undersample[:k=5,ratio=R,under=U]";

/** Reads a `--resample` value (defaults: k 5, ratio 1, under 1); a one-line UserError otherwise. */
export function parseResample(text: string): Resample {
  const [method, args = ""] = text.split(":", 2);
  const known: Record<string, string[]> = {
    none: [],
    smote: ["k", "ratio"],
    undersample: ["ratio"],
    "smote+undersample": ["k", "ratio", "under"],
  };
  if (!(method in known)) {
    throw new UserError(`--resample: unknown method "${method}" (expected ${RESAMPLE_SYNTAX})`);
  }
  const values: Record<string, number> = { k: 5, ratio: 1, under: 1 };
  for (const part of args ? args.split(",") : []) {
    const [key, v] = part.split("=", 2);
    if (!known[method].includes(key)) {
      throw new UserError(
        `--resample ${text}: unknown setting "${key}" for ${method} (expected ${
          known[method].join(", ") || "none"
        })`,
      );
    }
    const x = Number(v);
    const ok = key === "k" ? Number.isInteger(x) && x >= 1 && x <= 100 : x > 0 && x <= 1;
    if (!ok) {
      throw new UserError(
        `--resample ${text}: ${key} must be ${key === "k" ? "a whole number 1..100" : "in (0, 1]"}`,
      );
    }
    values[key] = x;
  }
  if (method === "none") return { method };
  if (method === "undersample") return { method, ratio: values.ratio };
  if (method === "smote") return { method, k: values.k, ratio: values.ratio };
  return { method: "smote+undersample", k: values.k, ratio: values.ratio, under: values.under };
}

/** The `text` form of a {@linkcode Resample} (what run configs store). */
export function resampleText(r: Resample): string {
  if (r.method === "none") return "none";
  if (r.method === "undersample") return `undersample:ratio=${r.ratio}`;
  if (r.method === "smote") return `smote:k=${r.k},ratio=${r.ratio}`;
  return `smote+undersample:k=${r.k},ratio=${r.ratio},under=${r.under}`;
}

/**
 * Each row's k nearest other rows (Euclidean), nearest first (ties by
 * index), as a rows × k array.
 */
export function nearestNeighbours(
  X: Float64Array,
  rows: number,
  cols: number,
  k: number,
): Int32Array {
  const out = new Int32Array(rows * k);
  const d = new Float64Array(rows), idx = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < rows; j++) {
      let s = 0;
      for (let c = 0; c < cols; c++) {
        const diff = X[i * cols + c] - X[j * cols + c];
        s += diff * diff;
      }
      d[j] = j === i ? Infinity : s;
      idx[j] = j;
    }
    const order = Array.from(idx).sort((a, b) => d[a] - d[b] || a - b);
    for (let m = 0; m < k; m++) out[i * k + m] = order[m];
  }
  return out;
}

/**
 * Synthetic rows from minority rows `X` (rows × cols), their neighbours
 * `nn` (rows × k) and draws: row, neighbour slot and step per new row.
 */
export function smoteSamples(
  X: Float64Array,
  cols: number,
  nn: Int32Array,
  k: number,
  draws: { rows: ArrayLike<number>; slots: ArrayLike<number>; steps: ArrayLike<number> },
): Float64Array {
  const n = draws.rows.length;
  const out = new Float64Array(n * cols);
  for (let s = 0; s < n; s++) {
    const r = draws.rows[s], j = nn[r * k + draws.slots[s]], u = draws.steps[s];
    for (let c = 0; c < cols; c++) {
      const x = X[r * cols + c];
      out[s * cols + c] = x + u * (X[j * cols + c] - x);
    }
  }
  return out;
}

/**
 * The fit matrix and labels after `r` (a new matrix; the input is left as
 * it is). Throws a UserError when SMOTE meets a missing value or fewer
 * than two fraud rows.
 */
export function resampleFit(
  X: Matrix,
  y: Int8Array,
  r: Resample,
  seed: number,
): { X: Matrix; y: Int8Array; added: number; removed: number } {
  if (r.method === "none") return { X, y, added: 0, removed: 0 };
  const rng = new Rng(seed + 104_729);
  const cols = X.cols;
  let rows = Array.from({ length: X.rows }, (_, i) => i);
  let synthetic: Float64Array = new Float64Array(0);
  const count = (label: number) => rows.reduce((n, i) => n + (y[i] === label ? 1 : 0), 0);
  let added = 0;
  if (r.method === "smote" || r.method === "smote+undersample") {
    const minority = rows.filter((i) => y[i] === 1);
    const want = Math.floor(r.ratio * count(0)) - minority.length;
    if (want > 0) {
      if (minority.length < 2) {
        throw new UserError(
          `--resample smote: needs at least 2 fraud rows to fit on, got ${minority.length}`,
        );
      }
      const k = Math.min(r.k, minority.length - 1);
      const Xm = new Float64Array(minority.length * cols);
      minority.forEach((i, m) => {
        for (let c = 0; c < cols; c++) {
          const v = X.data[i * cols + c];
          if (v !== v) {
            throw new UserError(
              `--resample smote: column "${
                X.columns[c]
              }" has missing values (SMOTE needs them imputed)`,
            );
          }
          Xm[m * cols + c] = v;
        }
      });
      const nn = nearestNeighbours(Xm, minority.length, cols, k);
      const draws = {
        rows: new Int32Array(want),
        slots: new Int32Array(want),
        steps: new Float64Array(want),
      };
      for (let s = 0; s < want; s++) {
        const pair = rng.int(minority.length * k);
        draws.rows[s] = Math.floor(pair / k);
        draws.slots[s] = pair % k;
        draws.steps[s] = rng.random();
      }
      synthetic = smoteSamples(Xm, cols, nn, k, draws);
      added = want;
    }
  }
  let removed = 0;
  if (r.method === "undersample" || r.method === "smote+undersample") {
    const ratio = r.method === "undersample" ? r.ratio : r.under;
    const frauds = count(1) + added;
    const majority = rows.filter((i) => y[i] === 0);
    const keep = Math.min(majority.length, Math.floor(frauds / ratio));
    rng.shuffle(majority);
    const kept = new Set(majority.slice(0, keep));
    removed = majority.length - keep;
    rows = rows.filter((i) => y[i] === 1 || kept.has(i));
  }
  const n = rows.length + added;
  const data = new Float32Array(n * cols);
  const labels = new Int8Array(n);
  rows.forEach((i, m) => {
    data.set(X.data.subarray(i * cols, (i + 1) * cols), m * cols);
    labels[m] = y[i];
  });
  for (let s = 0; s < added; s++) {
    for (let c = 0; c < cols; c++) {
      data[(rows.length + s) * cols + c] = synthetic[s * cols + c];
    }
    labels[rows.length + s] = 1;
  }
  return { X: { data, rows: n, cols, columns: X.columns }, y: labels, added, removed };
}
