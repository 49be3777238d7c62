/**
 * `deno task features --data FILE --spec S --out FILE [--windows 1,7,30] [--delay 7]`:
 * adds leak-free velocity, delayed-label risk and calendar features to a
 * dataset and writes it (Parquet or CSV by the extension).
 */
import pl from "nodejs-polars";
import { loadDataset, loadSpec, UserError, velocityFeatures, writeFrame } from "../lib/mod.ts";
import { parseFlags, runTask } from "../lib/util/cli.ts";

await runTask(async (args) => {
  const flags = parseFlags(args, {
    data: { type: "string", help: "the data file" },
    spec: { type: "string", default: "txsim", help: "dataset spec" },
    out: { type: "string", help: "output file (CSV or Parquet by extension)" },
    windows: {
      type: "string",
      default: "1,7,30",
      help: "velocity windows in days, comma-separated",
    },
    delay: { type: "string", default: "7", help: "label delay in days for the risk features" },
  }, {
    usage: "deno task features --data FILE --spec S --out FILE [--windows 1,7,30] [--delay 7]",
    about: "The dataset plus leak-free velocity, risk and calendar features.",
    examples: [
      "deno task features --data data/demo.parquet --spec txsim --out data/demo_features.parquet",
    ],
  });
  if (!flags.data) throw new UserError("--data FILE is required");
  if (!flags.out) throw new UserError("--out FILE is required (.parquet or .csv)");
  const windowsDays = flags.windows!.split(",").map((w) => {
    const n = Number(w);
    if (!(n > 0)) {
      throw new UserError(
        `--windows: expected days > 0 separated by commas, got "${flags.windows}"`,
      );
    }
    return n;
  });
  const delayDays = Number(flags.delay);
  if (!(delayDays >= 0)) throw new UserError(`--delay: expected days >= 0, got "${flags.delay}"`);
  const ds = await loadDataset(flags.data, await loadSpec(flags.spec!));
  const t0 = performance.now();
  const feats = velocityFeatures(ds, { windowsDays, delayDays });
  const seconds = (performance.now() - t0) / 1000;
  writeFrame(pl.concat([ds.frame, feats], { how: "horizontal" }), flags.out);
  console.log(
    `wrote ${flags.out}: ${ds.frame.height} rows, ${feats.width} features added in ${
      seconds.toFixed(1)
    }s ` +
      `(${feats.columns.join(", ")})`,
  );
});
