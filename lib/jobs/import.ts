/**
 * Importing a model made elsewhere as a fraudlab run: an XGBoost model
 * saved by `save_model` (JSON, `binary:logistic`) whose features are the
 * spec's numeric columns in the spec's order, missing values left to the
 * model's default directions. The run is made as a trained run is (split,
 * threshold on validation rows, test metrics, drift profile, report), with
 * the imported trees in place of a fit, so it can be promoted and served
 * with TreeSHAP reasons like any gbdt run.
 * @module
 */
import { basename } from "node:path";
import type { FittedPipeline } from "../features/pipeline.ts";
import { sha256Hex } from "../data/fingerprint.ts";
import { gbdtFromEnsemble } from "../models/gbdt.ts";
import { treeImportance } from "../models/trees.ts";
import { parseXgboostModel } from "../models/xgboost.ts";
import type { RunConfigInput } from "../registry/config.ts";
import type { TrainResult } from "../registry/runs.ts";
import { UserError } from "../util/errors.ts";
import { type Prefitted, type TrainOptions, trainRun } from "./train.ts";

/** The feature pipeline of an imported model: raw numeric columns, missing kept, nothing derived. */
export const IMPORTED_FEATURES = { velocity: false, impute: false, categorical: false } as const;

/**
 * Makes a run from an XGBoost JSON model file.
 *
 * @param model the model file
 * @param input the run config (data, spec, split, threshold, …); its model,
 *   params and features are the import's own
 * @param options as for `trainRun`
 * @returns the stored run
 */
export async function importXgboostRun(
  model: string,
  input: RunConfigInput,
  options: TrainOptions = {},
): Promise<TrainResult> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(model);
  } catch {
    throw new UserError(`--xgboost: cannot read ${model}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new UserError(`${model}: not JSON (${(e as Error).message}); save the model as .json`);
  }
  // The features are the pipeline's columns: known once the data is read.
  const prefitted = (pipeline: FittedPipeline): Prefitted => {
    const columns = pipeline.columns;
    const ensemble = parseXgboostModel(value, { what: model, features: columns.length });
    const names = (value as { learner?: { feature_names?: string[] } }).learner?.feature_names;
    const differs = Array.isArray(names) ? names.findIndex((n, j) => n !== columns[j]) : -1;
    if (differs >= 0) {
      throw new UserError(
        `${model}: feature ${differs} is "${
          names![differs]
        }", the spec's numeric column ${differs} is "${columns[differs]}"`,
      );
    }
    const importance = treeImportance(ensemble.trees, ensemble.cols);
    const source = {
      format: "xgboost-json",
      file: basename(model),
      sha256: sha256Hex(bytes),
      trees: ensemble.trees.length,
    };
    return {
      detector: gbdtFromEnsemble(ensemble),
      source,
      report: {
        imported: `${source.format} ${source.file} (sha256 ${source.sha256})`,
        trees: ensemble.trees.length,
        nodes: ensemble.trees.reduce((s, t) => s + t.feature.length, 0),
        gainImportance: importance.gain,
        coverImportance: importance.cover,
      },
    };
  };
  return await trainRun(
    { ...input, model: "gbdt", params: {}, features: { ...IMPORTED_FEATURES } },
    { ...options, prefitted },
  );
}
