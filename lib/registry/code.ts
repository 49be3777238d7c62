/**
 * The code version a run records in `code.json`.
 * @module
 */

/** The code version: git sha of the working tree and whether it has uncommitted changes. */
export async function codeVersion(): Promise<{ git: string; dirty: boolean | null }> {
  const root = new URL("../../", import.meta.url).pathname;
  const git = async (args: string[]) => {
    try {
      const out = await new Deno.Command("git", {
        args,
        cwd: root,
        stdout: "piped",
        stderr: "null",
      })
        .output();
      return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
    } catch {
      return null;
    }
  };
  const sha = await git(["rev-parse", "HEAD"]);
  if (!sha) return { git: "unknown", dirty: null };
  const status = await git(["status", "--porcelain", "--untracked-files=no"]);
  return { git: sha, dirty: status === null ? null : status.length > 0 };
}
