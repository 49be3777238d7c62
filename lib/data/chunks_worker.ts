/**
 * The worker of {@linkcode readDatasetChunksAhead}: reads the parts with
 * `readDatasetChunks` and posts each as Arrow IPC bytes when it has a
 * credit for it.
 * @module
 */
import { readDatasetChunks } from "./chunks.ts";
import type { AheadMessage, AheadRequest } from "./chunks_ahead.ts";
import { UserError } from "../util/errors.ts";
import { lowerThreadPriority } from "../util/priority.ts";

const scope = globalThis as unknown as {
  onmessage: (e: MessageEvent<AheadRequest>) => void;
  postMessage: (message: AheadMessage, transfer?: Transferable[]) => void;
};
let credits = 0;
let wake: (() => void) | null = null;
scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === "more") {
    credits++;
    wake?.();
    return;
  }
  read(m).catch((err) => {
    scope.postMessage({
      type: "error",
      message: (err as Error).message,
      user: err instanceof UserError,
    });
  });
};

async function read(m: Extract<AheadRequest, { type: "read" }>): Promise<void> {
  lowerThreadPriority(); // reading ahead: the reader's thread goes first
  let sha256: string | null = null;
  for await (
    const part of readDatasetChunks(m.path, m.spec, {
      rows: m.rows,
      labels: m.labels,
      group: m.group,
      onHash: (h) => sha256 = h,
    })
  ) {
    while (credits === 0) await new Promise<void>((r) => wake = r);
    wake = null;
    credits--;
    const ipc = new Uint8Array(part.ds.frame.writeIPC()); // its own buffer, to transfer
    // Only the asked-for columns the part has (one it lacks is named by whoever needs it).
    const frame = part.ds.frame, has = (c: string) => frame.columns.includes(c);
    const some = m.columns
      ? new Uint8Array(frame.select(...m.columns.filter(has)).writeIPC())
      : null;
    const { frame: _f, bytes: _b, ...ds } = part.ds;
    const moved: Transferable[] = [ipc.buffer, ...(some ? [some.buffer] : [])];
    for (const g of Object.values(part.groups ?? {})) {
      moved.push(g.starts.buffer as ArrayBuffer, g.order.buffer as ArrayBuffer);
    }
    scope.postMessage({ type: "part", ipc, some, meta: { ...part, ds } }, moved);
  }
  scope.postMessage({ type: "end", sha256 });
}
