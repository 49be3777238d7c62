/**
 * Writing frames: Parquet or CSV by the file extension, atomically.
 * @module
 */
import pl from "nodejs-polars";
import { UserError } from "../util/errors.ts";

/**
 * Writes a frame to `path` as Parquet or CSV by the extension, atomically
 * (a temporary file renamed into place). Datetimes are written to CSV as ISO
 * 8601 text.
 */
export function writeFrame(frame: pl.DataFrame, path: string): void {
  const lower = path.toLowerCase();
  const tmp = `${path}.${Deno.pid}.tmp`;
  try {
    if (lower.endsWith(".parquet")) frame.writeParquet(tmp, { compression: "zstd" });
    else if (lower.endsWith(".csv")) frame.writeCSV(tmp);
    else throw new UserError(`--out ${path}: expected a .parquet or .csv file name`);
    Deno.renameSync(tmp, path);
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch { /* nothing written */ }
    if (e instanceof UserError) throw e;
    throw new UserError(`--out ${path}: cannot write (${(e as Error).message.split("\n")[0]})`);
  }
}
