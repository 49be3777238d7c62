/**
 * Helpers shared by fraudlab's tests: temporary files and running a task as
 * a user would.
 * @module
 */

/** Writes `text` to a new temporary file with the given extension; returns its path. */
export async function tempFile(text: string | Uint8Array, ext = ".csv"): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "fraudlab_test_", suffix: ext });
  if (typeof text === "string") await Deno.writeTextFile(path, text);
  else await Deno.writeFile(path, text);
  return path;
}

/** What a task printed and how it exited. */
export interface TaskResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno run -A tasks/<name>.ts ...args` from the repository root. */
export function runTaskFile(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<TaskResult> {
  return runScript(`tasks/${name}.ts`, args, env);
}

/** Runs `deno run -A <script> ...args` (a path from the repository root) to its end. */
export async function runScript(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<TaskResult> {
  const root = new URL("../../", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Asserts |actual − expected| ≤ tolerance, naming both in the failure. */
export function assertClose(
  actual: number,
  expected: number,
  options: { tolerance: number; what?: string },
): void {
  const { tolerance } = options, what = options.what ?? "value";
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new Error(`${what}: expected ${expected} ± ${tolerance}, got ${actual}`);
  }
}
