/**
 * What a drift comparison returns: per column, prediction and target drift, schema changes and the verdict, as stored in a report's JSON.
 * @module
 */
import type { ReferenceProfile } from "./profile.ts";
import type { DriftTestName, TestResult } from "./tests.ts";
/** Format tag of a drift result. */
export const DRIFT_FORMAT = "fraudlab.drift/1";
/** One column's current side: its name, its values, and how many rows the reference has. */
export interface ColumnSide<T> {
  /** Column name. */
  column: string;
  /** The current values (NaN or null where missing). */
  values: ArrayLike<T>;
  /** Rows the reference profile was computed from. */
  referenceRows: number;
}

/** Options of one column's comparison: the run's options, the column's override. */
export type ColumnOptions = DriftOptions & {
  /** The column's own test and threshold. */
  override?: ColumnOverride;
};

/** A per-column choice of test and threshold. */
export interface ColumnOverride {
  /** The test (default: chosen by column type and reference size). */
  test?: DriftTestName;
  /** Its drift threshold (a p-value below it, or a distance at or above it). */
  threshold?: number;
}

/** Options of a comparison. */
export interface DriftOptions {
  /** Per-column test and threshold overrides. */
  columns?: Record<string, ColumnOverride>;
  /** Dataset drift when at least this share of the columns drifted. Default 0.5. */
  driftShare?: number;
  /** Test and threshold for the score distribution. */
  prediction?: ColumnOverride;
  /** Test and threshold for the label distribution. */
  target?: ColumnOverride;
  /**
   * The alert rate drifts when it changed by at least this factor (either
   * way) and a two-proportion Z-test says the change is real (p < 0.05).
   * Default 2.
   */
  alertRateFactor?: number;
  /** The fraud rate drifts when it changed by this factor (see TargetDrift). Default 2. */
  targetRateFactor?: number;
  /** A missing-value share change above this is flagged. Default 0.05. */
  missingShareTolerance?: number;
}

/** The current data, column by column. */
export interface CurrentData {
  rows: number;
  /** Numeric columns, NaN = missing. */
  numeric: Record<string, Float64Array>;
  /** Categorical columns, null or "" = missing. */
  categorical: Record<string, ArrayLike<string | null>>;
  /** The reference model's scores on the current rows. */
  scores?: Float32Array | null;
  /** Current labels, when known. */
  labels?: Int8Array | null;
}

/** Reference and current distributions of a column, as shares, for plotting. */
export interface DistributionPlot {
  /** Numeric columns as a histogram, categorical as bars. */
  kind: "histogram" | "bars";
  /** histogram: bin edges; shares[0] is below edges[0], the last share above the last edge. */
  edges?: number[];
  /** bars: category labels. */
  labels?: string[];
  /** Reference shares. */
  reference: number[];
  /** Current shares. */
  current: number[];
}

/** Summary statistics of one side of a column. */
export interface SideStats {
  /** Non-missing values. */
  count: number;
  /** Missing values. */
  missing: number;
  /** Missing over all values. */
  missingShare: number;
  /** Numeric: mean. */
  mean?: number;
  /** Numeric: standard deviation. */
  std?: number;
  /** Numeric: smallest value. */
  min?: number;
  /** Numeric: largest value. */
  max?: number;
  /** Numeric: median. */
  median?: number;
  /** Categorical: the most frequent category and its share. */
  top?: [string, number];
}

/** Drift of one column. */
export interface ColumnDrift {
  /** Column name. */
  column: string;
  /** Its type in the spec. */
  type: "numeric" | "categorical";
  /** How the column was tested (a numeric column with ≤ 5 distinct values as categorical). */
  testedAs: "numeric" | "categorical";
  /** The test outcome, or null when the current side had no values. */
  result: TestResult | null;
  /** Whether the test says it drifted. */
  drifted: boolean;
  /** Whether the test came from the defaults or an override. */
  chosenBy: "default" | "override";
  /** PSI over the reference's decile bins (numeric) or categories, for information. */
  psi: number | null;
  /** Reference statistics. */
  reference: SideStats;
  /** Current statistics. */
  current: SideStats;
  /** Data-quality changes between the two sides. */
  quality: {
    missingShareChange: number;
    /** Share of current values outside the reference [min, max] (numeric). */
    outOfRangeShare: number | null;
    /** Share of current values in categories the reference never had, and the top ones. */
    unseenShare: number | null;
    unseen: [string, number][];
    flags: string[];
  };
  /** What the report plots. */
  plot: DistributionPlot;
  /** Why the column was not tested, or how, when unusual. */
  note?: string;
}

/** Prediction drift: the score distribution and the alert rate. */
export interface PredictionDrift {
  /** Drift of the score distribution. */
  scores: ColumnDrift;
  /** The served threshold. */
  threshold: number;
  /** Alert rates at the threshold, their ratio and the Z-test on them. */
  alertRate: {
    reference: number;
    current: number;
    ratio: number;
    z: TestResult;
    factor: number;
    drifted: boolean;
  };
  /** Whether the scores or the alert rate drifted. */
  drifted: boolean;
}

/**
 * Target drift: the fraud rate. By default it drifts when it changed by at
 * least `targetRateFactor` (either way) and a two-proportion Z-test says
 * the change is real; with a `target` test override, by that test alone.
 * (A distance such as Jensen–Shannon barely moves when a 0.5% rate
 * triples, so it is not the default for a rare class.)
 */
export interface TargetDrift {
  /** Label column. */
  label: string;
  /** Reference rows, fraud rows and fraud rate. */
  reference: { rows: number; positives: number; rate: number };
  /** Current rows, fraud rows and fraud rate. */
  current: { rows: number; positives: number; rate: number };
  /** Current rate over reference rate. */
  ratio: number;
  /** The rate-change factor applied, or null under a test override. */
  factor: number | null;
  /** The Z-test (or the override's test). */
  result: TestResult;
  /** Whether the test came from the defaults or an override. */
  chosenBy: "default" | "override";
  /** Whether the fraud rate drifted. */
  drifted: boolean;
}

/** Schema differences between the reference and the current file. */
export interface SchemaChanges {
  /** Reference columns the current file lacks. */
  missing: string[];
  /** Current columns the reference lacks. */
  extra: string[];
  /** Columns whose type changed. */
  typeChanged: { column: string; reference: string; current: string }[];
}

/** The whole comparison. */
export interface DriftResult {
  /** File format tag. */
  format: typeof DRIFT_FORMAT;
  /** When it was computed (ISO). */
  created: string;
  /** The reference side: rows, where they came from, label. */
  reference: {
    rows: number;
    source: ReferenceProfile["source"];
    created: string | null;
    label: string;
  };
  /** The current side: rows and label. */
  current: { rows: number; label: string };
  /** Share of drifted columns at which the dataset drifts. */
  driftShare: number;
  /** Whether the dataset drifted (drifted share ≥ driftShare). */
  datasetDrift: boolean;
  /** Columns that drifted. */
  driftedColumns: number;
  /** Columns tested. */
  testedColumns: number;
  /** driftedColumns / testedColumns. */
  driftedShareValue: number;
  /** Drifted columns first, then by column order. */
  columns: ColumnDrift[];
  /** Prediction drift, when the reference has scores. */
  prediction: PredictionDrift | null;
  /** Target drift, when both sides have labels. */
  target: TargetDrift | null;
  /** Schema differences. */
  schema: SchemaChanges;
  /** Drift verdict (dataset, prediction or target drift) and why. */
  drift: boolean;
  /** Why, one line each. */
  reasons: string[];
  /** What limits the comparison (small samples, missing labels…). */
  warnings: string[];
}
