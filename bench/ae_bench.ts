/**
 * Autoencoder training throughput beside PyTorch, on the same bytes: the
 * limits harness's 200,000 × 30 float32 file (../shared/peers/limits/ae_data.py)
 * and its net (30→16→8→16→30 ReLU, Adam 1e-3, MSE).
 *
 *   /usr/bin/python3 ../shared/peers/limits/ae_data.py /tmp/ae_200k_30.f32
 *   deno run -A bench/ae_bench.ts --data /tmp/ae_200k_30.f32 [--batches 256,1024] [--no-peer]
 *
 * fraudlab: the `autoencoder` kind's own fit loop with each engine (typed
 * arrays, the default; TensorFlow.js wasm), one warm-up epoch then one timed
 * epoch; rows/s = rows / timed epoch seconds. Peer: `ae_torch.py` (torch,
 * 2 threads) run right after, same batch.
 */
import { parseArgs } from "node:util";
import { getKind, resolveParams, tfReady } from "../lib/models/mod.ts";
import { table } from "../lib/util/table.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    data: { type: "string" },
    batches: { type: "string", default: "256,1024" },
    "no-peer": { type: "boolean", default: false },
    peers: { type: "string", default: "../shared/peers" },
  },
});
if (!flags.data) {
  console.error("usage: ae_bench.ts --data FILE.f32 [--batches 256,1024] [--no-peer]");
  Deno.exit(2);
}
const bytes = await Deno.readFile(flags.data);
const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const D = 30, n = data.length / D;
const X = { data, rows: n, cols: D, columns: Array.from({ length: D }, (_, j) => `f${j}`) };
const backend = await tfReady();

async function ours(batch: number, engine: string): Promise<number> {
  const kind = getKind("autoencoder");
  const det = kind.create(
    resolveParams(kind, {
      epochs: 2,
      batchSize: batch,
      patience: 0,
      validationFraction: 0,
      engine,
    }),
  );
  const marks: number[] = [performance.now()];
  await det.fit(X, undefined, {
    seed: 0,
    quiet: true,
    onEpoch: () => marks.push(performance.now()),
  });
  return n / ((marks[2] - marks[1]) / 1000);
}

async function torch(batch: number): Promise<number | null> {
  if (flags["no-peer"]) return null;
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [`${flags.peers}/limits/ae_torch.py`, "--batch", String(batch), "--data", flags.data!],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    console.error(new TextDecoder().decode(out.stderr).slice(-400));
    return null;
  }
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines.at(-1)!).train_rows_per_s;
}

const rows: string[][] = [];
for (const b of flags.batches!.split(",").map(Number)) {
  const a = await ours(b, "typed");
  const w = await ours(b, "tfjs");
  const t = await torch(b);
  const fmt = (v: number) => Math.round(v).toLocaleString("en-US");
  rows.push([
    String(b),
    fmt(a),
    fmt(w),
    t === null ? "–" : fmt(t),
    t === null ? "–" : `${(a / t).toFixed(2)}×`,
    t === null ? "–" : `${(w / t).toFixed(2)}×`,
  ]);
}
console.log(`autoencoder training, ${n.toLocaleString("en-US")} × ${D}; tfjs backend ${backend}`);
console.log(table([
  "batch",
  "fraudlab typed rows/s",
  "fraudlab tfjs rows/s",
  "PyTorch rows/s",
  "typed / PyTorch",
  "tfjs / PyTorch",
], rows));
