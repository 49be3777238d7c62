/**
 * `deno task runs [--compare RUN RUN ...] [--json]`: lists runs newest first
 * with their data version, headline test metrics and registry aliases; with
 * --compare, shows chosen runs side by side (params, data, split, metrics).
 */
import { listRuns, type LoadedRun, loadRun } from "../lib/registry/runs.ts";
import { readRegistry, registryTags } from "../lib/registry/aliases.ts";
import { table } from "../lib/util/table.ts";
import { fmt } from "../lib/report/html.ts";
import { UserError } from "../lib/util/errors.ts";
import { parseFlags, runTask } from "../lib/util/cli.ts";

await runTask(async (args) => {
  const flags = parseFlags(args, {
    compare: { type: "string", multiple: true, help: "runs to compare side by side (repeatable)" },
    json: { type: "boolean", default: false, help: "print as JSON" },
    limit: { type: "string", default: "50", help: "runs listed" },
  }, {
    usage: "deno task runs [--compare RUN --compare RUN ...] [--json]",
    about: "Runs newest first with data version, metrics and registry aliases.",
    examples: ["deno task runs", "deno task runs --compare RUN_A --compare RUN_B"],
  });
  const reg = await readRegistry();
  const tags = registryTags(reg);
  if (flags.compare?.length) {
    if (flags.compare.length < 2) {
      throw new UserError("--compare needs at least two runs (repeat --compare RUN)");
    }
    const runs: LoadedRun[] = [];
    for (const id of flags.compare) runs.push(await loadRun(id));
    const keys = [...new Set(runs.flatMap((r) => Object.keys(r.config.params)))];
    const metricKeys = ["rocAuc", "averagePrecision", "recallAt1pctFpr", "precisionAtK"] as const;
    const rows: string[][] = [
      ["kind", ...runs.map((r) => r.config.model)],
      ...keys.map((k) => [`param ${k}`, ...runs.map((r) => String(r.config.params[k] ?? "–"))]),
      ["data sha256", ...runs.map((r) => r.dataset.sha256.slice(0, 12))],
      ["rows", ...runs.map((r) => fmt(r.dataset.rows))],
      ["split", ...runs.map((r) => JSON.stringify(r.config.split))],
      ["seed", ...runs.map((r) => String(r.config.seed))],
      ["threshold", ...runs.map((r) => `${fmt(r.threshold.threshold)} (${r.threshold.strategy})`)],
      ...metricKeys.map((k) => [`test ${k}`, ...runs.map((r) => fmt(r.metrics.test[k]))]),
      ["test daily P@k", ...runs.map((r) => fmt(r.metrics.test.dailyPrecisionAtK?.mean))],
      ["test card P@k", ...runs.map((r) => fmt(r.metrics.test.entityPrecisionAtK?.mean))],
      ["registry", ...runs.map((r) => (tags.get(r.id) ?? []).join("; ") || "–")],
    ];
    if (flags.json) {
      console.log(
        JSON.stringify(
          runs.map((r) => ({ id: r.id, config: r.config, dataset: r.dataset, metrics: r.metrics })),
        ),
      );
    } else console.log(table(["", ...runs.map((r) => r.id)], rows));
    return;
  }
  const runs = (await listRuns()).slice(0, Number(flags.limit) || 50);
  if (flags.json) {
    console.log(JSON.stringify(runs.map((r) => ({ ...r, registry: tags.get(r.id) ?? [] }))));
    return;
  }
  if (runs.length === 0) {
    console.log("no runs yet: deno task train --data FILE --spec S --model KIND");
    return;
  }
  console.log(table(
    [
      "run",
      "kind",
      "data",
      "rows",
      "AUC",
      "AP",
      "P@k",
      "daily P@k",
      "card P@k",
      "threshold",
      "registry",
    ],
    runs.map((r) => [
      r.id,
      r.kind,
      r.data.sha256.slice(0, 8),
      fmt(r.data.rows),
      fmt(r.test.rocAuc),
      fmt(r.test.averagePrecision),
      fmt(r.test.precisionAtK),
      fmt(r.test.dailyPrecisionAtK),
      fmt(r.test.entityPrecisionAtK),
      fmt(Number(r.threshold)),
      (tags.get(r.id) ?? []).join("; ") || "",
    ]),
  ));
  for (const [name, m] of Object.entries(reg.models)) {
    const aliases = Object.entries(m.aliases).map(([a, v]) =>
      `${a} → v${v} (${m.versions.find((x) => x.version === v)?.run_id})`
    );
    console.log(`\nmodel ${name}: ${m.versions.length} versions; ${aliases.join(", ")}`);
    for (const h of m.history.slice(-5)) {
      console.log(
        `  ${h.at.slice(0, 19)} ${h.alias}: v${h.from ?? "–"} → ${
          h.to === null ? "removed" : `v${h.to}`
        }${
          h.decision ? ` [gate: ${h.decision}]` : h.kind === "rollback" ? " [rollback]" : ""
        } (${h.reason})`,
      );
    }
  }
});
