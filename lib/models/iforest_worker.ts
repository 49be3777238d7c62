/**
 * Worker side of parallel Isolation Forest scoring: receives a forest and a
 * block of rows, returns their scores (transferred, not copied).
 * @module
 */
import { type Forest, scoreForest } from "./iforest.ts";

interface Job {
  forest: Forest;
  data: Float32Array;
  rows: number;
  cols: number;
}

/** The worker global scope, typed by what this worker uses. */
const scope = globalThis as unknown as {
  onmessage: (e: MessageEvent<Job>) => void;
  postMessage: (message: unknown, transfer: ArrayBuffer[]) => void;
};

scope.onmessage = (e) => {
  const { forest, data, rows, cols } = e.data;
  const scores = scoreForest(forest, { data, rows, cols, columns: [] });
  scope.postMessage(scores, [scores.buffer as ArrayBuffer]);
};
