/**
 * The notebooks run headless with the Deno kernel on small data: no cell
 * fails, every code cell shows something, the plots are there, and the
 * config 02_baselines saves re-runs as `deno task train --config` with the
 * same metrics. Needs Jupyter (nbconvert) and the Deno kernelspec; .ci/run
 * installs both. Without Jupyter these tests fail, naming what is missing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ensureDenoKernel, type ExecutedNotebook, executeNotebook, NOTEBOOKS } from "./execute.ts";

/** Fewest outputs with plots each notebook must show (an output may hold several). */
const MIN_PLOTS: Record<string, number> = {
  "01_explore": 4,
  "02_baselines": 3,
  "03_autoencoder": 3,
  "04_drift": 1,
};

Deno.test("notebooks are committed without outputs", () => {
  for (const name of NOTEBOOKS) {
    const nb = JSON.parse(Deno.readTextFileSync(join("notebooks", `${name}.ipynb`)));
    assert.deepStrictEqual(nb.metadata.kernelspec.name, "deno", `${name}: kernel`);
    for (const cell of nb.cells) {
      if (cell.cell_type !== "code") continue;
      assert.deepStrictEqual(cell.outputs, [], `${name}: a cell has outputs`);
      assert.deepStrictEqual(cell.execution_count, null, `${name}: a cell has an execution count`);
    }
  }
});

Deno.test({
  name: "notebooks execute on small data; 02's config re-runs as a task with the same metrics",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    await ensureDenoKernel();
    const root = await Deno.makeTempDir({ prefix: "fraudlab_nb_test_" });
    const env = {
      FRAUDLAB_NOTEBOOK_SCALE: "small",
      FRAUDLAB_ARTIFACTS: join(root, "artifacts"),
      FRAUDLAB_REPORTS: join(root, "reports"),
      FRAUDLAB_NOTEBOOK_OUT: join(root, "notebooks"),
    };
    const executed: Record<string, ExecutedNotebook> = {};
    try {
      for (const name of NOTEBOOKS) {
        await t.step(name, async () => {
          const nb = await executeNotebook(name, { outDir: join(root, "executed"), env });
          executed[name] = nb;
          assert.deepStrictEqual(nb.errors, [], `${name}: cell errors`);
          assert.deepStrictEqual(nb.silentCells, [], `${name}: code cells without output`);
          assert(
            nb.plots >= MIN_PLOTS[name],
            `${name}: ${nb.plots} plot outputs, expected at least ${MIN_PLOTS[name]}`,
          );
        });
      }
      await t.step(
        "02's saved config re-run as deno task train gives the same metrics",
        async () => {
          const config = join(env.FRAUDLAB_NOTEBOOK_OUT, "02_baselines.json");
          const expected = JSON.parse(
            await Deno.readTextFile(join(env.FRAUDLAB_NOTEBOOK_OUT, "02_baselines.expected.json")),
          );
          const out = await new Deno.Command(Deno.execPath(), {
            args: ["run", "-A", "tasks/train.ts", "--config", config, "--json", "--quiet"],
            env: { ...env, NO_COLOR: "1" },
            stdout: "piped",
            stderr: "piped",
          }).output();
          const stderr = new TextDecoder().decode(out.stderr);
          assert(out.success, `train --config failed: ${stderr.slice(-2000)}`);
          const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
          const task = JSON.parse(lines[lines.length - 1]);
          assert(task.run_id !== expected.run, "the task made a new run");
          const metrics = JSON.parse(await Deno.readTextFile(join(task.dir, "metrics.json")));
          assert.deepStrictEqual(task.threshold.value, expected.threshold);
          assert.deepStrictEqual(metrics.validation, expected.validation);
          assert.deepStrictEqual(metrics.test, expected.test);
        },
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
