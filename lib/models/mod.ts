/**
 * Every model kind, registered. Import this (not a single kind's module) to
 * get the full table the trainer, the registry and the server use.
 * @module
 */
import "./iforest.ts";
import "./logreg.ts";
import "./autoencoder.ts";

export * from "./detector.ts";
export * from "./fit.ts";
export {
  averagePathLength,
  explainForest,
  fitForest,
  type Forest,
  scoreForest,
} from "./iforest.ts";
export { lbfgs, type LbfgsOptions, type LbfgsResult, type Objective } from "./optim.ts";
export { tfReady } from "./tf.ts";
