/**
 * Worker side of two-thread tree-ensemble batch scoring (gbdt, rf):
 * receives the ensemble's walk plan, the first margin, the divisor and a
 * block of rows, returns (first margin + leaf values) / divisor per row,
 * the same arithmetic as the kind's own thread.
 * @module
 */
import { serveScoring } from "./split_score.ts";
import { planWalk, type WalkPlan } from "./trees_wasm.ts";

serveScoring<{ plan: WalkPlan; base: number; divide: number }>((job, X) => {
  const margin = new Float64Array(X.rows).fill(job.base);
  planWalk(job.plan)(X, margin);
  const out = new Float32Array(X.rows);
  for (let i = 0; i < X.rows; i++) out[i] = job.divide === 1 ? margin[i] : margin[i] / job.divide;
  return out;
});
