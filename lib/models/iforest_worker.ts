/**
 * Worker side of parallel Isolation Forest scoring: receives a forest and a
 * block of rows, returns their scores (transferred, not copied).
 * @module
 */
import { type Forest, scoreForest } from "./iforest.ts";
import { serveScoring } from "./split_score.ts";

serveScoring<{ forest: Forest }>((job, X) => scoreForest(job.forest, X));
