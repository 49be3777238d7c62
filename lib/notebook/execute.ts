/**
 * Executing fraudlab's notebooks headless: nbconvert runs each one with the
 * Deno kernel into an executed copy, which is checked (no cell error, every
 * code cell showed something, plots present) and converted to static HTML.
 * Used by `deno task notebooks` and by the notebook tests.
 * @module
 */
import { basename, join } from "node:path";
import { UserError } from "../util/errors.ts";

/** The notebooks, in reading order. */
export const NOTEBOOKS = ["01_explore", "02_baselines", "03_autoencoder", "04_drift"] as const;

/** What one executed notebook holds. */
export interface ExecutedNotebook {
  name: string;
  /** The executed .ipynb (outputs included). */
  path: string;
  seconds: number;
  codeCells: number;
  /** Indices (among all cells) of code cells that produced no output. */
  silentCells: number[];
  /** Outputs carrying an SVG plot (as an image or inside HTML). */
  plots: number;
  /** Error outputs (none when nbconvert succeeded). */
  errors: string[];
}

async function run(cmd: string, args: string[], env?: Record<string, string>) {
  try {
    return await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UserError(
        `${cmd} is not installed: the notebooks need Jupyter (Debian: apt-get install -y ` +
          `jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel)`,
      );
    }
    throw e;
  }
}

/** Installs the Deno kernelspec for Jupyter when it is missing (`deno jupyter --install`). */
export async function ensureDenoKernel(): Promise<void> {
  const list = await run("jupyter", ["kernelspec", "list", "--json"]);
  if (!list.success) {
    throw new UserError(
      `jupyter kernelspec list failed: ${new TextDecoder().decode(list.stderr).slice(-500)}`,
    );
  }
  const specs = JSON.parse(new TextDecoder().decode(list.stdout)).kernelspecs ?? {};
  if (specs.deno) return;
  const install = await run(Deno.execPath(), ["jupyter", "--install"]);
  if (!install.success) {
    throw new UserError(
      `deno jupyter --install failed: ${new TextDecoder().decode(install.stderr).slice(-500)}`,
    );
  }
}

/** Counts what an executed notebook's outputs hold. */
export function inspectNotebook(
  name: string,
  run: { path: string; seconds: number },
): ExecutedNotebook {
  const { path, seconds } = run;
  const nb = JSON.parse(Deno.readTextFileSync(path)) as {
    cells: {
      cell_type: string;
      outputs?: {
        output_type: string;
        data?: Record<string, string | string[]>;
        ename?: string;
        evalue?: string;
      }[];
    }[];
  };
  const text = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join("") : v ?? "");
  let codeCells = 0, plots = 0;
  const silentCells: number[] = [], errors: string[] = [];
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type !== "code") return;
    codeCells++;
    const outputs = cell.outputs ?? [];
    if (outputs.length === 0) silentCells.push(i);
    for (const o of outputs) {
      if (o.output_type === "error") errors.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
      const d = o.data ?? {};
      if (d["image/svg+xml"] || text(d["text/html"]).includes("<svg")) plots++;
    }
  });
  return { name, path, seconds, codeCells, silentCells, plots, errors };
}

/**
 * Executes `notebooks/<name>.ipynb` headless into `outDir/<name>.ipynb`
 * (the kernel starts in notebooks/, with `env` added to this process's
 * environment). A failing cell throws a UserError quoting nbconvert's report.
 */
export async function executeNotebook(
  name: string,
  options: { outDir: string; env?: Record<string, string>; timeoutSeconds?: number },
): Promise<ExecutedNotebook> {
  const source = join("notebooks", `${name}.ipynb`);
  try {
    Deno.statSync(source);
  } catch {
    throw new UserError(`no notebook ${source} (notebooks: ${NOTEBOOKS.join(", ")})`);
  }
  await Deno.mkdir(options.outDir, { recursive: true });
  const t0 = performance.now();
  const out = await run("jupyter", [
    "nbconvert",
    "--to",
    "notebook",
    "--execute",
    `--ExecutePreprocessor.timeout=${options.timeoutSeconds ?? 600}`,
    "--ExecutePreprocessor.kernel_name=deno",
    // A cell's outputs that reach nbclient after its reply are waited for this long (its
    // default, 4 s, dropped a cell's display when the machine was busy with the other tests).
    "--ExecutePreprocessor.iopub_timeout=60",
    "--output-dir",
    options.outDir,
    source,
  ], { ...Deno.env.toObject(), NO_COLOR: "1", ...(options.env ?? {}) });
  const seconds = (performance.now() - t0) / 1000;
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr);
    const at = err.indexOf("CellExecutionError");
    throw new UserError(
      `notebook ${name} failed:\n${(at >= 0 ? err.slice(at) : err.slice(-3000)).trim()}`,
    );
  }
  return inspectNotebook(name, { path: join(options.outDir, `${name}.ipynb`), seconds });
}

/** Converts an executed notebook to static HTML in `outDir`; returns the HTML path. */
export async function notebookHtml(executed: string, outDir: string): Promise<string> {
  await Deno.mkdir(outDir, { recursive: true });
  const out = await run("jupyter", ["nbconvert", "--to", "html", "--output-dir", outDir, executed]);
  if (!out.success) {
    throw new UserError(
      `converting ${executed} to HTML failed: ${new TextDecoder().decode(out.stderr).slice(-1500)}`,
    );
  }
  return join(outDir, basename(executed).replace(/\.ipynb$/, ".html"));
}
