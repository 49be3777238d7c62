/**
 * The Python peer baseline (../shared/peers) as the benchmarks use it: its
 * spec turned into a fraudlab spec, and one `bench.py` task run whose JSON
 * record is returned.
 * @module
 */
import { join } from "node:path";
import type { DatasetSpec } from "../lib/data/spec.ts";

/** A peer spec file and the equivalent fraudlab spec. */
export async function loadPeerSpec(
  path: string,
): Promise<{
  peer: Record<string, unknown> & { split: string };
  spec: DatasetSpec & { numeric: string[]; categorical: string[] };
}> {
  const peer = JSON.parse(await Deno.readTextFile(path));
  return {
    peer,
    spec: {
      name: peer.name ?? "bench",
      label: peer.label,
      numeric: peer.numeric,
      categorical: peer.categorical ?? [],
      drop: peer.drop ?? [],
    },
  };
}

/**
 * Runs `bench.py --task TASK` with Debian's python3; the task's JSON record,
 * or null on failure. `outDir` keeps the results folder (the serve task
 * reads the iforest task's pickle from it); by default a temporary one is
 * used and removed.
 */
export async function runPeerTask(
  peers: string,
  specPath: string,
  task: string,
  csv: string,
  outDir?: string,
  // deno-lint-ignore no-explicit-any
): Promise<any | null> {
  const out = outDir ?? await Deno.makeTempDir();
  try {
    const res = await new Deno.Command("/usr/bin/python3", {
      args: [
        join(peers, "bench.py"),
        "--spec",
        specPath,
        "--task",
        task,
        "--csv",
        csv,
        "--out",
        out,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!res.success) {
      console.error(`peer ${task} failed: ${new TextDecoder().decode(res.stderr).slice(-500)}`);
      return null;
    }
    const file = [...Deno.readDirSync(out)].find((e) => e.name.endsWith(`__${task}.json`));
    return JSON.parse(await Deno.readTextFile(join(out, file!.name)));
  } finally {
    if (!outDir) await Deno.remove(out, { recursive: true });
  }
}
