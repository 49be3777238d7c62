/**
 * Immutable, checksummed run directories. A run is written into a hidden
 * temporary directory next to its final place, its manifest (sha256 of every
 * file) written last, and the directory renamed into place, so a run is
 * either complete or absent. Loading verifies every checksum and refuses a
 * run with a missing, changed or unexpected file.
 * @module
 */
import { dirname, join, relative } from "node:path";
import { sha256Hex } from "../data/fingerprint.ts";
import { UserError } from "../util/errors.ts";

/** The artifacts root: `FRAUDLAB_ARTIFACTS` or `artifacts/` in the working directory. */
export function artifactsRoot(): string {
  return Deno.env.get("FRAUDLAB_ARTIFACTS") ?? "artifacts";
}

/** The reports root: `FRAUDLAB_REPORTS` or `reports/` in the working directory. */
export function reportsRoot(): string {
  return Deno.env.get("FRAUDLAB_REPORTS") ?? "reports";
}

/** Where runs live. */
export function runsDir(root = artifactsRoot()): string {
  return join(root, "runs");
}

/** A run's manifest: every file's sha256. */
export interface Manifest {
  format: "fraudlab.manifest/1";
  run_id: string;
  files: Record<string, { sha256: string; bytes: number }>;
}

/** Writes text or bytes, creating parent directories. */
async function put(path: string, content: string | Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  if (typeof content === "string") await Deno.writeTextFile(path, content);
  else await Deno.writeFile(path, content);
}

/** Stable JSON for run files: 2-space indent, trailing newline. */
export function jsonText(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v),
    2,
  ) + "\n";
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...await listFiles(p, base));
    else out.push(relative(base, p));
  }
  return out.sort();
}

/**
 * Removes run folders left half-written (`.tmp-*`, e.g. by a killed
 * `train`) that are older than `maxAgeMs` (default an hour): a run being
 * written right now by another process is younger. Returns the names removed.
 */
export async function removeStaleTemps(root: string, maxAgeMs = 3_600_000): Promise<string[]> {
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(root));
  } catch {
    return removed; // no runs folder yet
  }
  const cutoff = Date.now() - maxAgeMs;
  for (const e of entries) {
    if (!e.isDirectory || !e.name.startsWith(".tmp-")) continue;
    const path = join(root, e.name);
    try {
      const st = await Deno.stat(path);
      if ((st.mtime?.getTime() ?? Infinity) < cutoff) {
        await Deno.remove(path, { recursive: true });
        removed.push(e.name);
      }
    } catch { /* removed by another process meanwhile */ }
  }
  return removed;
}

/** A run being written; `commit` makes it visible. */
export class RunWriter {
  readonly tmp: string;
  constructor(readonly root: string, readonly id: string) {
    this.tmp = join(root, `.tmp-${id}-${crypto.randomUUID().slice(0, 8)}`);
  }

  /** Path of a file inside the run being written. */
  path(name: string): string {
    return join(this.tmp, name);
  }

  /** Writes a JSON file into the run. */
  async json(name: string, value: unknown): Promise<void> {
    await put(this.path(name), jsonText(value));
  }

  /** Writes a file into the run. */
  async file(name: string, content: string | Uint8Array): Promise<void> {
    await put(this.path(name), content);
  }

  /** Writes the manifest and renames the run into place; returns its directory. */
  async commit(): Promise<string> {
    const files: Manifest["files"] = {};
    for (const f of await listFiles(this.tmp)) {
      const bytes = await Deno.readFile(join(this.tmp, f));
      files[f] = { sha256: sha256Hex(bytes), bytes: bytes.byteLength };
    }
    const manifest: Manifest = { format: "fraudlab.manifest/1", run_id: this.id, files };
    await put(this.path("manifest.json"), jsonText(manifest));
    const final = join(this.root, this.id);
    try {
      await Deno.stat(final);
      throw new UserError(`run ${this.id} already exists in ${this.root}`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await Deno.rename(this.tmp, final);
    return final;
  }

  /** Removes the temporary directory (after a failure). */
  async abort(): Promise<void> {
    await Deno.remove(this.tmp, { recursive: true }).catch(() => {});
  }
}

/**
 * Verifies a run directory against its manifest; returns the manifest.
 * Throws a UserError naming the first missing, changed or unexpected file.
 */
export async function verifyRun(dir: string): Promise<Manifest> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UserError(`${dir}: not a run (no manifest.json)`);
    }
    throw new UserError(`${dir}/manifest.json: unreadable (${(e as Error).message})`);
  }
  if (manifest.format !== "fraudlab.manifest/1" || typeof manifest.files !== "object") {
    throw new UserError(`${dir}/manifest.json: not a fraudlab manifest`);
  }
  const present = (await listFiles(dir)).filter((f) => f !== "manifest.json");
  for (const f of present) {
    if (!(f in manifest.files)) {
      throw new UserError(`run refused: ${join(dir, f)} is not in the manifest (tampered run?)`);
    }
  }
  for (const [f, want] of Object.entries(manifest.files)) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(join(dir, f));
    } catch {
      throw new UserError(`run refused: ${join(dir, f)} is missing`);
    }
    if (bytes.byteLength !== want.bytes || sha256Hex(bytes) !== want.sha256) {
      throw new UserError(
        `run refused: ${
          join(dir, f)
        } does not match its checksum in the manifest (changed after the run was written)`,
      );
    }
  }
  return manifest;
}

/** Writes a file atomically (temp file, then rename). */
export async function writeAtomic(path: string, content: string | Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  if (typeof content === "string") await Deno.writeTextFile(tmp, content);
  else await Deno.writeFile(tmp, content);
  await Deno.rename(tmp, path);
}
