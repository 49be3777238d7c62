/**
 * Worker side of two-thread gbdt batch scoring: receives the flattened
 * trees, the first margin and a block of rows, returns their scores
 * (transferred, not copied).
 * @module
 */
import { type FlatTrees, scoreFlat } from "./trees_flat.ts";

interface Job {
  flat: FlatTrees;
  base: number;
  data: Float32Array;
  rows: number;
  cols: number;
}

const scope = globalThis as unknown as {
  onmessage: (e: MessageEvent<Job>) => void;
  postMessage: (message: unknown, transfer: ArrayBuffer[]) => void;
};

scope.onmessage = (e) => {
  const { flat, base, data, rows, cols } = e.data;
  const margin = new Float64Array(rows).fill(base);
  scoreFlat(flat, { data, rows, cols, columns: [] }, margin);
  const out = Float32Array.from(margin);
  scope.postMessage(out, [out.buffer as ArrayBuffer]);
};
