/**
 * Fitting a detector on rows of a feature frame. Kept apart from the kind
 * table (detector.ts) so that model modules, and the worker threads that
 * load them, never load the data-frame library.
 * @module
 */
import { type Resample, resampleFit, resampleText } from "./resample.ts";
import { UserError } from "../util/errors.ts";
import { type FeatureFrame, type FittedPipeline, transformFrame } from "../features/pipeline.ts";
import type { Detector, DetectorKind, FitOptions, FitReport, Params } from "./detector.ts";

/** A detector fitted by {@linkcode fitOnRows}. */
export interface FittedDetector {
  detector: Detector;
  report: FitReport;
  /** Rows of the fit set (label-0 rows for kinds fitted on negatives). */
  fitRows: number;
  /** Rows the pipeline transformed for the fit (fewer when the kind samples). */
  transformedRows: number;
  /** Synthetic fraud rows added and legitimate rows removed by the resampling, when asked. */
  resampled?: { added: number; removed: number; method: string };
}

/**
 * Fits a new `kind` detector on rows `rows` of a feature frame, transformed
 * by a fitted pipeline: label-0 rows only for kinds fitted on negatives; and
 * for kinds that read a sample of their fit set, only the sampled rows are
 * transformed (an Isolation Forest on 800,000 rows reads at most
 * trees × ψ of them, so the full matrix is never built).
 * `labels` is indexed by frame row.
 */
export async function fitOnRows(
  model: { kind: DetectorKind; params: Params; resample?: Resample },
  data: {
    /** The fitted pipeline that turns feature rows into the model's matrix. */
    pipeline: FittedPipeline;
    /** The feature frame (inputs and velocity features). */
    ff: FeatureFrame;
    /** The frame rows to fit on. */
    rows: ArrayLike<number>;
    /** 0/1 per frame row. */
    labels: ArrayLike<number>;
  },
  options: FitOptions,
): Promise<FittedDetector> {
  const { kind, params } = model;
  const { pipeline, ff, rows, labels } = data;
  let fitSet = new Int32Array(rows.length), n = 0;
  const negativesOnly = kind.fitOn === "negatives";
  for (let k = 0; k < rows.length; k++) {
    const i = rows[k];
    if (!negativesOnly || labels[i] === 0) fitSet[n++] = i;
  }
  fitSet = fitSet.subarray(0, n);
  const detector = kind.create(params);
  let sampleRows: Int32Array | undefined;
  let read = fitSet;
  if (kind.fitSample) {
    sampleRows = kind.fitSample(fitSet.length, detector.params, options.seed);
    read = sampleRows.map((k) => fitSet[k]);
  }
  let X = transformFrame(pipeline, ff, { rows: read });
  let y: Int8Array = Int8Array.from(read, (i) => labels[i]);
  let resampled: FittedDetector["resampled"];
  const r = model.resample;
  if (r && r.method !== "none") {
    if (!kind.supervised || kind.fitSample) {
      throw new UserError(
        `--resample: ${kind.name} does not learn from labels; resampling is for supervised kinds`,
      );
    }
    const out = resampleFit(X, y, r, options.seed);
    X = out.X;
    y = out.y;
    resampled = { added: out.added, removed: out.removed, method: resampleText(r) };
  }
  const report = await detector.fit(X, y, {
    ...options,
    sample: sampleRows ? { of: fitSet.length, rows: sampleRows } : undefined,
  });
  return {
    detector,
    report,
    fitRows: fitSet.length,
    transformedRows: read.length,
    ...(resampled ? { resampled } : {}),
  };
}
