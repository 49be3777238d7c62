/**
 * {@linkcode readDatasetChunks} on a worker thread, reading ahead: the
 * worker reads, validates and types the next parts while this thread works
 * on the current one, and hands each part over as Arrow IPC bytes
 * (transferred, not copied; read back here in a few milliseconds). The
 * parts, their order, their rows and every error are those of
 * {@linkcode readDatasetChunks} (a {@linkcode UserError} stays one, with its
 * message); at most `ahead` parts wait, so memory stays bounded.
 *
 * On 10,414,237 rows (840 MB CSV) reading and validating took 16.5 s of the
 * batch scoring job's one thread; see docs/benchmarks.md#batch-scoring.
 * @module
 */
import pl from "nodejs-polars";
import { Buffer } from "node:buffer";
import type { ChunkOptions, DatasetChunk } from "./chunks.ts";
import type { DatasetSpec } from "./spec.ts";
import { UserError } from "../util/errors.ts";

/** Default parts read ahead of the one being worked on. */
export const DEFAULT_AHEAD = 2;

/** What the worker posts. */
export type AheadMessage =
  | {
    type: "part";
    /** Every column of the part. */
    ipc: Uint8Array;
    /** The columns asked for (`columns`), when some were: the frame given here. */
    some: Uint8Array | null;
    meta: Omit<DatasetChunk, "ds"> & { ds: Omit<DatasetChunk["ds"], "frame" | "bytes"> };
  }
  | { type: "end"; sha256: string | null }
  | { type: "error"; message: string; user: boolean };

/** What the worker is sent: the file first, then one credit per part taken. */
export type AheadRequest =
  | {
    type: "read";
    path: string;
    spec: DatasetSpec;
    rows?: number;
    labels?: "required" | "optional";
    group?: string[];
    columns?: string[];
  }
  | { type: "more" };

/**
 * The parts of a CSV or Parquet file, read on a worker (see the module doc).
 *
 * @param path the file
 * @param spec the spec its columns follow
 * @param options those of {@linkcode readDatasetChunks}, and how many parts may wait
 * @returns the parts, one at a time
 */
export async function* readDatasetChunksAhead(
  path: string,
  spec: DatasetSpec,
  options: ChunkOptions & {
    /** Parts that may wait. Default {@linkcode DEFAULT_AHEAD}. */
    ahead?: number;
    /**
     * Only these columns in each part's frame (`ipc` still holds them all,
     * for a thread that needs them all): less to read back here.
     */
    columns?: string[];
  } = {},
): AsyncGenerator<DatasetChunk> {
  const ahead = options.ahead ?? DEFAULT_AHEAD;
  const worker = new Worker(new URL("./chunks_worker.ts", import.meta.url).href, {
    type: "module",
  });
  const queue: AheadMessage[] = [];
  let wake: (() => void) | null = null;
  let failed: Error | null = null;
  worker.onmessage = (e: MessageEvent<AheadMessage>) => {
    queue.push(e.data);
    wake?.();
  };
  worker.onerror = (e) => {
    e.preventDefault();
    failed = new Error(`the reading worker failed: ${e.message}`);
    wake?.();
  };
  try {
    worker.postMessage(
      {
        type: "read",
        path,
        spec,
        rows: options.rows,
        labels: options.labels,
        group: options.group,
        columns: options.columns,
      } satisfies AheadRequest,
    );
    for (let i = 0; i < ahead; i++) worker.postMessage({ type: "more" } satisfies AheadRequest);
    while (true) {
      while (queue.length === 0 && !failed) await new Promise<void>((r) => wake = r);
      wake = null;
      if (queue.length === 0) throw failed!;
      const m = queue.shift()!;
      if (m.type === "error") throw m.user ? new UserError(m.message) : new Error(m.message);
      if (m.type === "end") {
        options.onHash?.(m.sha256);
        return;
      }
      const mine = m.some ?? m.ipc;
      const frame = pl.readIPC(Buffer.from(mine.buffer, mine.byteOffset, mine.byteLength));
      worker.postMessage({ type: "more" } satisfies AheadRequest);
      yield { ...m.meta, ipc: m.ipc, ds: { ...m.meta.ds, frame, bytes: new Uint8Array(0) } };
    }
  } finally {
    worker.terminate();
  }
}
