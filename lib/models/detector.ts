/**
 * The one contract every model kind implements, and the table of kinds the
 * trainer, the registry and the server look kinds up in (and nowhere else).
 * @module
 */
import type { Matrix } from "../features/pipeline.ts";
import { UserError } from "../util/errors.ts";

/** Model parameters: JSON scalars only, so a run's config stays re-runnable. */
export type Params = Record<string, number | string | boolean>;

/** Options for {@linkcode Detector.fit}. */
export interface FitOptions {
  /** Seed for every random choice. */
  seed: number;
  /** Hide the progress bar. */
  quiet?: boolean;
  /** Called after each training epoch of iterative kinds (timing, notebooks). */
  onEpoch?: (epoch: number, loss: number) => void;
  /**
   * Set when X holds only the rows `rows` (ascending, from the kind's
   * `fitSample`) of a fit set of `of` rows; the fit equals one on every row.
   */
  sample?: { of: number; rows: Int32Array };
  /** The run's validation rows, for kinds that stop early on them (gbdt). */
  validation?: { X: Matrix; y: Int8Array };
}

/** What a fit reports besides the fitted state (loss history and the like). */
export interface FitReport {
  /** A parameter's value. */
  [key: string]: number | string | number[] | boolean;
}

/**
 * A fraud detector. Scores are "higher = more suspicious"; explanations are
 * per-feature contributions for one row, in matrix column order.
 */
export interface Detector {
  /** The kind's name in `MODEL_KINDS`. */
  readonly kind: string;
  /** Resolved parameters (defaults filled in). */
  readonly params: Params;
  /** Fits on `X` (and labels `y` for supervised kinds). */
  fit(X: Matrix, y: Int8Array | undefined, options: FitOptions): Promise<FitReport>;
  /** Scores every row of `X`. */
  score(X: Matrix): Float32Array;
  /** Optional: scores a large batch using more than one core; same numbers as `score`. */
  scoreMany?(X: Matrix): Promise<Float32Array>;
  /** Per-feature contributions to one row's score (length = columns). */
  explain(row: Float32Array): Float32Array;
  /**
   * Optional, for the serving path: scores one row and writes its
   * contributions into `contributions` in one pass; same numbers as `score`
   * and `explain`.
   */
  scoreOne?(row: Float32Array, contributions: Float32Array): number;
  /**
   * Optional, for kinds whose explanation costs far more than their score
   * (tree ensembles): one row's score alone, the same number as `score`.
   */
  scoreRow?(row: Float32Array): number;
  /**
   * Optional, for the serving path (tree ensembles): explain one row at a
   * time on `threads` threads (a worker walks part of the trees); 1 ends
   * the worker. The contributions are the same for any number.
   */
  explainThreads?(threads: number): void;
  /** Writes the fitted model into `dir`; returns the file names written. */
  save(dir: string): Promise<string[]>;
}

/** A registered kind. */
export interface DetectorKind {
  name: string;
  /** One line for listings. */
  description: string;
  /** Whether it learns from labels (fraud / legitimate) rather than flagging the unusual. */
  supervised: boolean;
  /** What it cannot do, one clause for the model card's limits (e.g. "linear in the features"). */
  limits: string;
  /** The feature scaling the kind expects. */
  standardize: boolean;
  /** Whether it takes missing values (NaN) itself, so the pipeline may leave them unimputed. */
  missingValues: boolean;
  /** Which training rows it fits on: every row, or only label-0 rows. */
  fitOn: "all" | "negatives";
  /** Parameter defaults; the only keys `create` accepts. */
  defaults: Params;
  /** What the explanation means, for reports. */
  explains: string;
  /** A new unfitted detector with validated parameters. */
  create(params: Params): Detector;
  /** Reads a fitted detector written by `save`. */
  load(dir: string, params: Params): Promise<Detector>;
  /**
   * Optional, for kinds that read only a sample of their fit set (iforest):
   * the rows of an n-row fit set that `fit` reads with these resolved
   * parameters and seed, ascending. Only those rows need transforming.
   */
  fitSample?(n: number, params: Params, seed: number): Int32Array;
}

/**
 * Merges user parameters over a kind's defaults, refusing unknown keys and
 * values of the wrong type. Strings that look like numbers or booleans are
 * converted when the default is a number or boolean (`--param trees=200`).
 */
export function resolveParams(kind: DetectorKind, given: Record<string, unknown>): Params {
  const out: Params = { ...kind.defaults };
  for (const [key, raw] of Object.entries(given)) {
    if (!(key in kind.defaults)) {
      throw new UserError(
        `${kind.name}: unknown parameter "${key}" (known: ${
          Object.keys(kind.defaults).join(", ")
        })`,
      );
    }
    const def = kind.defaults[key];
    if (typeof def === "number") {
      const v = typeof raw === "number" ? raw : Number(raw);
      if (raw === "" || !Number.isFinite(v)) {
        throw new UserError(`${kind.name}: parameter "${key}" must be a number, got "${raw}"`);
      }
      out[key] = v;
    } else if (typeof def === "boolean") {
      if (raw === true || raw === "true") out[key] = true;
      else if (raw === false || raw === "false") out[key] = false;
      else {throw new UserError(
          `${kind.name}: parameter "${key}" must be true or false, got "${raw}"`,
        );}
    } else {
      out[key] = String(raw);
    }
  }
  return out;
}

/**
 * A `classWeight` parameter: "none", "balanced" (a row of class c weighs
 * n / (2·n_c)), or a number in (0, 1000]: the legitimate class's weight, the
 * fraud class's being 1 (scikit-learn's `class_weight={0: w}`, as the Fraud
 * Detection Handbook searches it). Throws a UserError naming the kind.
 */
export function classWeights(
  kind: string,
  value: unknown,
  counts?: { n: number; pos: number },
): { w0: number; w1: number } {
  if (value === "none") return { w0: 1, w1: 1 };
  if (value === "balanced") {
    const { n, pos } = counts ?? { n: 2, pos: 1 };
    return { w0: n / (2 * (n - pos)), w1: n / (2 * pos) };
  }
  const w = typeof value === "number"
    ? value
    : typeof value === "string" && value.trim() !== ""
    ? Number(value)
    : NaN;
  if (!(w > 0 && w <= 1000)) {
    throw new UserError(
      `${kind}: parameter "classWeight" must be "none", "balanced" or the legitimate class's weight in (0, 1000], got "${value}"`,
    );
  }
  return { w0: w, w1: 1 };
}

/** Checks a numeric parameter's range, naming the kind and parameter. */
export function checkParam(
  params: Params,
  key: string,
  range: { kind: string; min?: number; max?: number; integer?: boolean },
): number {
  const kind = range.kind;
  const v = params[key] as number;
  const bad = (range.integer && !Number.isInteger(v)) ||
    (range.min !== undefined && v < range.min) || (range.max !== undefined && v > range.max);
  if (bad) {
    const what = range.integer ? "a whole number" : "a number";
    const lo = range.min ?? "-inf", hi = range.max ?? "inf";
    throw new UserError(`${kind}: parameter "${key}" must be ${what} in [${lo}, ${hi}], got ${v}`);
  }
  return v;
}

/** Scores a batch with every core the kind can use (`scoreMany` when it has one). */
export function scoreBatch(detector: Detector, X: Matrix): Promise<Float32Array> {
  return detector.scoreMany ? detector.scoreMany(X) : Promise.resolve(detector.score(X));
}

/** Concatenates typed arrays into one little-endian byte buffer (model files). */
export function packArrays(arrays: (Float32Array | Float64Array | Int32Array)[]): Uint8Array {
  let bytes = 0;
  for (const a of arrays) bytes += a.byteLength;
  const out = new Uint8Array(bytes);
  let off = 0;
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
    off += a.byteLength;
  }
  return out;
}

/** Splits bytes written by {@linkcode packArrays} back into arrays of the given kinds and lengths. */
export function unpackArrays(
  bytes: Uint8Array,
  options: {
    /** Each array's type and length, in file order. */
    layout: { type: "f32" | "f64" | "i32"; length: number }[];
    /** The file, in errors. */
    what: string;
  },
): (Float32Array | Float64Array | Int32Array)[] {
  const { layout, what } = options;
  let off = 0;
  const out: (Float32Array | Float64Array | Int32Array)[] = [];
  const expected = layout.reduce((s, l) => s + l.length * (l.type === "f64" ? 8 : 4), 0);
  if (expected !== bytes.byteLength) {
    throw new UserError(`${what}: expected ${expected} bytes, found ${bytes.byteLength}`);
  }
  for (const l of layout) {
    const size = l.type === "f64" ? 8 : 4;
    // Copy each array so its buffer is aligned whatever precedes it.
    const buf = bytes.slice(off, off + l.length * size).buffer;
    if (l.type === "f32") out.push(new Float32Array(buf));
    else if (l.type === "f64") out.push(new Float64Array(buf));
    else out.push(new Int32Array(buf));
    off += l.length * size;
  }
  return out;
}
