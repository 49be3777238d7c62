/**
 * fraudlab's public API: what notebooks, tasks and the server compose.
 * @module
 */
export * from "./data/spec.ts";
export * from "./data/datasets.ts";
export * from "./data/load.ts";
export * from "./data/fingerprint.ts";
export * from "./data/profile.ts";
export * from "./data/simulate.ts";
export * from "./data/write.ts";
export * from "./data/split.ts";
export * from "./features/velocity.ts";
export * from "./eval/metrics.ts";
export * from "./util/errors.ts";
export * from "./util/rng.ts";
export * from "./util/progress.ts";
export * from "./data/info.ts";
