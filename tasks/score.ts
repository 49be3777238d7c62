/**
 * `deno task score --model NAME@ALIAS | --run RUN --data FILE --out FILE
 *   [--reasons N] [--explain alerts|all|none] [--history FILE]`: scores new,
 * unlabeled transactions with a stored model in parts with bounded memory,
 * velocity features included, exactly as the scoring server would, and
 * writes id, score, probability (calibrated runs), decision and reasons.
 * The work is the batch scoring job (`lib/jobs/score.ts`).
 */
import { EXPLAIN_MODES, type ExplainMode, runScoreJob } from "../lib/jobs/score.ts";
import { MAX_CHUNK_ROWS } from "../lib/data/chunks.ts";
import { intFlag, parseFlags, runTask } from "../lib/util/cli.ts";
import { UserError } from "../lib/util/errors.ts";
import { fmt } from "../lib/report/html.ts";

await runTask(async (args) => {
  const flags = parseFlags(args, {
    model: {
      type: "string",
      default: "champion",
      help: "the model: NAME@ALIAS, NAME@VERSION or an alias",
    },
    run: { type: "string", help: "a run id instead of a registered model" },
    data: {
      type: "string",
      help: "transactions to score: CSV or Parquet (no labels needed), or a log window log:24h",
    },
    log: {
      type: "string",
      help:
        "with --data log:…: the prediction log (default $FRAUDLAB_LOG or artifacts/predictions.sqlite)",
    },
    out: { type: "string", help: "where the scores go (CSV or Parquet by extension)" },
    reasons: { type: "string", default: "3", help: "reasons per explained row (0: none)" },
    explain: {
      type: "string",
      default: "alerts",
      help: `rows given reasons: ${EXPLAIN_MODES.join(", ")}`,
    },
    history: {
      type: "string",
      help: "earlier transactions feeding the velocity history first (their last retention window)",
    },
    "chunk-rows": { type: "string", default: "250000", help: "about how many rows a part holds" },
    json: { type: "boolean", default: false, help: "print the summary as JSON" },
    quiet: { type: "boolean", default: false, help: "no progress display" },
  }, {
    usage:
      "deno task score [--model NAME@ALIAS | --run RUN] --data FILE --out FILE [--reasons N] [--history FILE]",
    about:
      "Score new transactions with a stored model, in parts with bounded memory, as the server would.",
    examples: [
      "deno task score --model txsim@champion --data data/today.csv --out scores/today.csv",
      "deno task score --run 20261201-134849-gbdt-f029b5 --data new.parquet --history data/tx.parquet --out s.parquet",
      "deno task score --model txsim@challenger --data log:24h --out rescored.csv",
    ],
  });
  if (!flags.data) throw new UserError("--data FILE is required");
  if (!flags.out) throw new UserError("--out FILE is required");
  const r = await runScoreJob({
    model: flags.run ? `run:${flags.run}` : flags.model as string,
    data: flags.data as string,
    log: flags.log as string | undefined,
    out: flags.out as string,
    reasons: intFlag(flags.reasons as string, { name: "reasons", fallback: 3, min: 0, max: 50 }),
    explain: flags.explain as ExplainMode,
    history: flags.history as string | undefined,
    chunkRows: intFlag(flags["chunk-rows"] as string, {
      name: "chunk-rows",
      fallback: 250_000,
      min: 1,
      max: MAX_CHUNK_ROWS,
    }),
    quiet: flags.quiet as boolean,
  });
  if (flags.json) {
    console.log(JSON.stringify(r));
    return;
  }
  const refusedBy = Object.entries(r.refusedBy).map(([k, v]) => `${k} ${fmt(v)}`).join(", ");
  console.log(
    `scored ${fmt(r.scored)} of ${
      fmt(r.rows)
    } rows with ${r.model.name} v${r.model.version} (${r.model.kind}, run ${r.model.run_id})`,
  );
  console.log(
    `alerts ${fmt(r.alerts)} (${(100 * r.alerts / Math.max(1, r.scored)).toFixed(2)}%), explained ${
      fmt(r.explained)
    }, refused ${fmt(r.refused)}${refusedBy ? ` (${refusedBy})` : ""}`,
  );
  if (r.warm) {
    console.log(
      `history: ${
        fmt(r.warm.kept)
      } transactions from ${r.warm.source} (${r.warm.from} .. ${r.warm.to})`,
    );
  }
  console.log(
    `${r.seconds.toFixed(1)} s, ${fmt(Math.round(r.rowsPerSecond))} rows/s, peak RSS ${
      (r.peakRss / 2 ** 20).toFixed(0)
    } MiB${r.sha256 ? `, data sha256 ${r.sha256.slice(0, 12)}` : ""}`,
  );
  console.log(
    `stages: ${
      Object.entries(r.timings).map(([k, v]) => `${k.replace(/_s$/, "")} ${v.toFixed(1)}s`).join(
        ", ",
      )
    }`,
  );
  const v = r.velocityParts;
  if (v.grouped + v.rows > 0) {
    console.log(`velocity: ${v.grouped} part(s) value by value, ${v.rows} row after row`);
  }
  console.log(`wrote ${r.out}`);
});
