/**
 * fraudlab's public API: what notebooks, tasks and the server compose.
 * @module
 */
export * from "./data/spec.ts";
export * from "./data/datasets.ts";
export * from "./data/load.ts";
export * from "./data/frame.ts";
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
export * from "./features/pipeline.ts";
export * from "./models/mod.ts";
export * from "./eval/curves.ts";
export * from "./eval/threshold.ts";
export * from "./eval/evaluate.ts";
export * from "./registry/config.ts";
export * from "./registry/store.ts";
export * from "./registry/runs.ts";
export * from "./registry/aliases.ts";
export * from "./report/eval_report.ts";
export * from "./report/index_page.ts";
export { escapeHtml, fmt, htmlTable, page } from "./report/html.ts";
export { Plot, plotSvg } from "./report/plot.ts";
export * from "./report/display.ts";
export * from "./report/eval_plots.ts";
export * from "./notebook/mod.ts";
export { type DriftJob, runDriftJob } from "./jobs/drift.ts";
export * from "./jobs/train.ts";
export * from "./jobs/evaluate.ts";
export * from "./jobs/monitor.ts";
export * from "./models/explain.ts";
export * from "./util/table.ts";
