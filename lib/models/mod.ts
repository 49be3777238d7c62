/**
 * Model kinds, the detector contract, fitting and batch scoring: what the
 * trainer, the registry and the server use. A kind's internals (the
 * forest's arrays, the autoencoder's layers) stay in its own module.
 * @module
 */
export * from "./detector.ts";
export * from "./kinds.ts";
export * from "./fit.ts";
export { lbfgs, type LbfgsOptions, type LbfgsResult, type Objective } from "./optim.ts";
export { tfReady } from "./tf.ts";
