/**
 * `deno task notebooks [--only NAME]... [--scale full|small] [--out reports/notebooks]`
 *
 * Executes every notebook headless with the Deno kernel (installing the
 * kernelspec when missing), fails on any cell error, checks that each code
 * cell showed something, and writes an executed HTML copy of each into
 * reports/notebooks/ (listed in reports/index.html). `--scale small` runs
 * them on the shrunk data the tests use.
 */
import { join } from "node:path";
import {
  ensureDenoKernel,
  executeNotebook,
  notebookHtml,
  NOTEBOOKS,
} from "../lib/notebook/execute.ts";
import { reportsRoot } from "../lib/registry/store.ts";
import { recordReport } from "../lib/report/index_page.ts";
import { table } from "../lib/util/table.ts";
import { UserError } from "../lib/util/errors.ts";
import { parseFlags, runTask } from "../lib/util/cli.ts";

await runTask(async (args) => {
  const flags = parseFlags(args, {
    only: { type: "string", multiple: true, help: "run only these notebooks (repeatable)" },
    scale: { type: "string", default: "full", help: "full or small data" },
    out: { type: "string", help: "where the executed HTML copies go (default reports/notebooks)" },
  }, {
    usage: "deno task notebooks [--only NAME]... [--scale full|small] [--out DIR]",
    about: "Execute every notebook headless (Deno kernel); fail on any cell error.",
    examples: ["deno task notebooks --only 01_explore --scale small"],
  });
  if (flags.scale !== "full" && flags.scale !== "small") {
    throw new UserError(`--scale: expected full or small, got "${flags.scale}"`);
  }
  const names = flags.only?.length
    ? flags.only.map((o) => {
      const hit = NOTEBOOKS.find((n) => n === o || n.startsWith(`${o}_`));
      if (!hit) throw new UserError(`--only ${o}: no such notebook (${NOTEBOOKS.join(", ")})`);
      return hit;
    })
    : [...NOTEBOOKS];
  const outDir = flags.out ?? join(reportsRoot(), "notebooks");
  await ensureDenoKernel();
  const work = await Deno.makeTempDir({ prefix: "fraudlab_notebooks_" });
  const rows: string[][] = [];
  let silent = 0;
  try {
    for (const name of names) {
      console.log(`executing notebooks/${name}.ipynb (${flags.scale} data)…`);
      const nb = await executeNotebook(name, {
        outDir: work,
        env: { FRAUDLAB_NOTEBOOK_SCALE: flags.scale },
      });
      const html = await notebookHtml(nb.path, outDir);
      await recordReport({
        kind: "notebook",
        file: html,
        title: `notebook ${name}`,
        created: new Date().toISOString(),
        data: [],
        verdict: `${nb.codeCells} code cells, ${nb.plots} plots, ${nb.seconds.toFixed(1)} s`,
      });
      silent += nb.silentCells.length;
      rows.push([
        name,
        nb.seconds.toFixed(1),
        String(nb.codeCells),
        String(nb.plots),
        nb.silentCells.length ? nb.silentCells.join(",") : "–",
        html,
      ]);
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
  console.log(
    table(["notebook", "seconds", "code cells", "plots", "cells without output", "html"], rows),
  );
  if (silent) throw new UserError(`${silent} code cells showed nothing (see the table)`);
});
