/**
 * Drift at scale, side by side with the Python peer (../shared/peers) in one
 * run: the peers' synthetic CSV split by its time80 rule (first 80% of rows
 * = reference, last 20% = current), every numeric column.
 *
 *   deno run -A bench/drift_bench.ts --peer-spec ../shared/peers/specs/synth_1m.json \
 *     --csv /path/synth_1m.csv [--repeat 3] [--out bench_out/drift] [--no-peer]
 *
 * fraudlab's time covers what the peer's `drift_s` covers (loading and
 * splitting excluded): profiling the reference rows from scratch plus
 * comparing the current rows with that profile (default tests, PSI, data
 * quality). The compare step alone is what a monitoring job pays once a run
 * stores its profile. The HTML report is written and its size reported;
 * PSI, defined identically on both sides, is checked against the peer's.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { loadDataset } from "../lib/data/load.ts";
import { splitMod5, splitPrefix } from "../lib/data/split.ts";
import { currentData, referenceProfile } from "../lib/drift/dataset.ts";
import { compareToProfile, type DriftResult } from "../lib/drift/compare.ts";
import { renderDriftReport } from "../lib/report/drift_report.ts";
import { table } from "../lib/util/table.ts";
import { loadPeerSpec, runPeerTask } from "./peer.ts";

const flags = parseArgs({
  args: Deno.args,
  options: {
    "peer-spec": { type: "string" },
    csv: { type: "string" },
    repeat: { type: "string", default: "3" },
    out: { type: "string", default: "bench_out/drift" },
    "no-peer": { type: "boolean", default: false },
    peers: { type: "string", default: "../shared/peers" },
  },
}).values;
if (!flags["peer-spec"] || !flags.csv) {
  console.error(
    "usage: drift_bench.ts --peer-spec SPEC.json --csv FILE [--repeat N] [--out DIR] [--no-peer]",
  );
  Deno.exit(2);
}
const { peer: peerSpec, spec } = await loadPeerSpec(flags["peer-spec"]);
const tLoad = performance.now();
const ds = await loadDataset(flags.csv, spec);
const n = ds.frame.height;
const split = peerSpec.split === "mod5" ? splitMod5(n) : splitPrefix(n, 0.8);
console.log(
  `${spec.name}: ${n} rows × ${
    spec.numeric.length + spec.categorical.length
  } columns; reference ${split.train.length}, current ${split.test.length} (${peerSpec.split}); load ${
    ((performance.now() - tLoad) / 1000).toFixed(2)
  } s`,
);

const seconds = (t0: number) => (performance.now() - t0) / 1000;
const runs: { profile: number; compare: number }[] = [];
let result: DriftResult | null = null;
for (let r = 0; r < Number(flags.repeat); r++) {
  let t0 = performance.now();
  const profile = referenceProfile(ds, { rows: split.train });
  const profileS = seconds(t0);
  t0 = performance.now();
  result = compareToProfile(profile, currentData(ds, split.test));
  runs.push({ profile: profileS, compare: seconds(t0) });
}
const t0 = performance.now();
const html = renderDriftReport(result!);
const htmlS = seconds(t0);
await Deno.mkdir(flags.out!, { recursive: true });
const htmlPath = join(flags.out!, `${spec.name}_time80.html`);
await Deno.writeTextFile(htmlPath, html);
const bytes = new TextEncoder().encode(html).length;

interface PeerDrift {
  drift_s: number;
  drift: { numeric: Record<string, { psi: number; ks_pvalue: number; ks_statistic: number }> };
}
async function peer(): Promise<PeerDrift | null> {
  if (flags["no-peer"]) return null;
  return await runPeerTask(flags.peers!, flags["peer-spec"]!, "drift", flags.csv!);
}
const p = await peer();

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const total = runs.map((r) => r.profile + r.compare);
const f = (x: number, d = 2) => x.toFixed(d);
const rows = [
  [
    "fraudlab profile + compare",
    f(median(total)),
    `${f(Math.min(...total))}..${f(Math.max(...total))}`,
    p ? `${f(p.drift_s / median(total), 1)}×` : "–",
  ],
  [
    "fraudlab compare only (stored profile)",
    f(median(runs.map((r) => r.compare))),
    `${f(Math.min(...runs.map((r) => r.compare)))}..${f(Math.max(...runs.map((r) => r.compare)))}`,
    p ? `${f(p.drift_s / median(runs.map((r) => r.compare)), 1)}×` : "–",
  ],
  ["peer (scipy KS + numpy PSI)", p ? f(p.drift_s) : "–", "", ""],
];
console.log(table(["drift computation", "median s", "range s", "peer time / ours"], rows));
console.log(
  `profile ${f(median(runs.map((r) => r.profile)))} s of it; HTML report ${
    f(htmlS)
  } s, ${bytes} bytes (${f(bytes / 1e6, 3)} MB): ${htmlPath}`,
);
const drifted = result!.columns.filter((c) => c.drifted).map((c) => c.column);
console.log(
  `fraudlab: ${result!.driftedColumns}/${result!.testedColumns} columns drifted (${
    drifted.join(", ")
  }), dataset drift ${result!.datasetDrift ? "yes" : "no"}`,
);
if (p) {
  let worst = 0;
  for (const c of result!.columns) {
    const peerPsi = p.drift.numeric[c.column]?.psi;
    if (peerPsi !== undefined) worst = Math.max(worst, Math.abs(peerPsi - c.psi!));
  }
  const flagged = Object.entries(p.drift.numeric)
    .filter(([, v]) => v.psi >= 0.1 || v.ks_pvalue < 0.05).map(([k]) => k);
  console.log(
    `peer: columns with KS p < 0.05 or PSI ≥ 0.1: ${
      flagged.join(", ")
    }; max |PSI fraudlab − PSI peer| = ${worst.toExponential(2)}`,
  );
}
