/**
 * Writing frames: Parquet or CSV by the file extension, atomically.
 * @module
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Frame } from "./frame.ts";
import { UserError } from "../util/errors.ts";

/**
 * Writes a frame to `path` as Parquet or CSV by the extension, atomically
 * (a temporary file renamed into place), creating its folder when needed.
 * Datetimes are written to CSV as ISO 8601 text.
 *
 * @param frame the frame
 * @param path a `.parquet` or `.csv` file
 *
 * @example
 * ```ts
 * import pl from "nodejs-polars";
 * import { writeFrame } from "./write.ts";
 * const path = `${await Deno.makeTempDir()}/x.csv`;
 * writeFrame(pl.DataFrame({ amount: [1, 2] }), path);
 * console.log(await Deno.readTextFile(path)); // amount\n1.0\n2.0
 * ```
 */
export function writeFrame(frame: Frame, path: string): void {
  const lower = path.toLowerCase();
  const tmp = `${path}.${Deno.pid}.tmp`;
  try {
    if (!lower.endsWith(".parquet") && !lower.endsWith(".csv")) {
      throw new UserError(`--out ${path}: expected a .parquet or .csv file name`);
    }
    mkdirSync(dirname(path), { recursive: true });
    if (lower.endsWith(".parquet")) frame.writeParquet(tmp, { compression: "zstd" });
    else if (lower.endsWith(".csv")) frame.writeCSV(tmp);
    else throw new UserError(`--out ${path}: expected a .parquet or .csv file name`);
    Deno.renameSync(tmp, path);
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch { /* nothing written */ }
    if (e instanceof UserError) throw e;
    const why = (e as Error).message.split("\n")[0].replace(
      /^called `Result::unwrap\(\)` on an `Err` value: /,
      "",
    );
    throw new UserError(`--out ${path}: cannot write (${why})`);
  }
}
