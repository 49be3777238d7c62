/**
 * The scoring thread of the batch scoring job (`score.ts`): loads the
 * model, then scores and writes each featured part it is sent, in order,
 * answering each with its counts and stage times. The output is appended
 * to the job's temporary CSV file, or written as one Parquet file per part
 * into the job's part folder.
 * @module
 */
import pl from "nodejs-polars";
import { Buffer } from "node:buffer";
import { loadServedModel } from "../serving/scorer.ts";
import { UserError } from "../util/errors.ts";
import { type ExplainMode, scorePart, type ScorerState, scorerState } from "./score_part.ts";

/** What the job sends. */
export type ScorerRequest =
  | {
    type: "init";
    /** `run:DIR` of the served model's run. */
    model: string;
    root: string;
    reasons: number;
    explain: ExplainMode;
    names: string[];
    format: "csv" | "parquet";
    /** The CSV file to append to, or the folder of Parquet parts. */
    target: string;
  }
  | {
    type: "part";
    seq: number;
    /** The part's frame as Arrow IPC bytes. */
    ipc: Uint8Array;
    firstRow: number;
    /** The rows refused so far and why. */
    refusedAt: Int32Array;
    refusedWhy: string[];
    derived: Float64Array[] | null;
  }
  | { type: "close" };

/** What the scoring thread answers. */
export type ScorerAnswer =
  | { type: "ready" }
  | {
    type: "done";
    seq: number;
    rows: number;
    scored: number;
    alerts: number;
    explained: number;
    /** Refusals this part added, by kind. */
    refusedBy: Record<string, number>;
    /** Seconds by stage for this part. */
    timings: Record<string, number>;
    /** The part's velocity columns, handed back for the next part's features. */
    derived: Float64Array[] | null;
  }
  | { type: "closed" }
  | { type: "error"; message: string; user: boolean };

const scope = globalThis as unknown as {
  onmessage: (e: MessageEvent<ScorerRequest>) => void;
  postMessage: (message: ScorerAnswer, transfer?: Transferable[]) => void;
};

let state: ScorerState | null = null;
let out: { format: "csv" | "parquet"; target: string; file: Deno.FsFile | null } | null = null;
let timings: Record<string, number> = {};
let lastLap = 0, parts = 0;
// Requests are handled one after another, in the order sent.
let queue: Promise<void> = Promise.resolve();
let failed = false;

scope.onmessage = (e) => {
  queue = queue.then(() => failed ? undefined : handle(e.data)).catch((err) => {
    failed = true;
    scope.postMessage({
      type: "error",
      message: (err as Error).message,
      user: err instanceof UserError,
    });
  });
};

async function handle(m: ScorerRequest): Promise<void> {
  if (m.type === "init") {
    const model = await loadServedModel(m.model, m.root);
    state = scorerState(model, {
      reasons: m.reasons,
      explain: m.explain,
      names: m.names,
      lap: (name?: string) => {
        const now = performance.now();
        if (name) timings[name] = (timings[name] ?? 0) + (now - lastLap) / 1000;
        lastLap = now;
      },
    });
    out = {
      format: m.format,
      target: m.target,
      file: m.format === "csv" ? await Deno.open(m.target, { write: true, append: true }) : null,
    };
    scope.postMessage({ type: "ready" });
    return;
  }
  if (m.type === "close") {
    out?.file?.close();
    scope.postMessage({ type: "closed" });
    return;
  }
  const s = state!, o = out!;
  timings = {};
  lastLap = performance.now();
  const frame = pl.readIPC(Buffer.from(m.ipc.buffer, m.ipc.byteOffset, m.ipc.byteLength));
  const refused: (string | null)[] = new Array(frame.height).fill(null);
  m.refusedAt.forEach((i, k) => refused[i] = m.refusedWhy[k]);
  const before = { ...s.refusedBy };
  const r = scorePart(s, {
    frame,
    n: frame.height,
    firstRow: m.firstRow,
    refused,
    derived: m.derived,
  });
  if (o.file) {
    const text = r.frame.writeCSV({ includeHeader: parts === 0 }) as unknown as Uint8Array;
    let at = 0;
    while (at < text.length) at += await o.file.write(text.subarray(at));
  } else {
    r.frame.writeParquet(`${o.target}/${String(parts).padStart(6, "0")}.parquet`);
  }
  s.lap("write_s");
  parts++;
  const added: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.refusedBy)) {
    if (v !== (before[k] ?? 0)) added[k] = v - (before[k] ?? 0);
  }
  scope.postMessage({
    type: "done",
    seq: m.seq,
    rows: frame.height,
    scored: r.scored,
    alerts: r.alerts,
    explained: r.explained,
    refusedBy: added,
    timings,
    derived: m.derived,
  }, (m.derived ?? []).map((d) => d.buffer as ArrayBuffer));
  // Frames live in polars' native memory, which V8 does not see: collected part by part.
  (globalThis as { gc?: () => void }).gc?.();
}
