/**
 * Fitting a detector on rows of a feature frame. Kept apart from the kind
 * table (detector.ts) so that model modules, and the worker threads that
 * load them, never load the data-frame library.
 * @module
 */
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
  model: { kind: DetectorKind; params: Params },
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
  const X = transformFrame(pipeline, ff, { rows: read });
  const y = Int8Array.from(read, (i) => labels[i]);
  const report = await detector.fit(X, y, {
    ...options,
    sample: sampleRows ? { of: fitSet.length, rows: sampleRows } : undefined,
  });
  return { detector, report, fitRows: fitSet.length, transformedRows: read.length };
}
