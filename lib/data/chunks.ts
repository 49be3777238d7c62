/**
 * Reading a large transaction file part by part with bounded memory: a CSV
 * is cut at record boundaries (outside quotes) into parts of about a given
 * number of rows, each read with the file's header; a Parquet file is read
 * in row slices. Every part is validated and typed as {@linkcode loadDataset}
 * would the whole file, and errors name rows and lines of the whole file.
 * The file's sha256 is computed on the way (the dataset version's hash).
 * @module
 */
import pl from "nodejs-polars";
import { createHash } from "node:crypto";
import { type Dataset, formatOf, loadDatasetBytes, loadDatasetFrame } from "./load.ts";
import { groupedRows } from "./frame.ts";
import type { DatasetSpec } from "./spec.ts";
import { UserError } from "../util/errors.ts";

/** One part of a file read by {@linkcode readDatasetChunks}. */
export interface DatasetChunk {
  /** The part, validated and typed. */
  ds: Dataset;
  /** Data rows of the file before this part. */
  firstRow: number;
  /** Bytes (CSV) or rows (Parquet) of the file read so far, and in all: for progress. */
  done: number;
  total: number;
  /**
   * The columns {@linkcode ChunkOptions.group} names, each one's rows
   * grouped by value (`groupedRows`); absent when none was asked for.
   */
  groups?: Record<string, Grouped>;
  /**
   * The part's frame as Arrow IPC bytes, when it came so (read on a worker,
   * `readDatasetChunksAhead`); the frame was read from a copy of them.
   */
  ipc?: Uint8Array;
}

/** A column's rows grouped by value, as `groupedRows` gives them. */
export type Grouped = ReturnType<typeof groupedRows>;

/** Options of {@linkcode readDatasetChunks}. */
export interface ChunkOptions {
  /** About how many rows a part holds. Default 250,000. */
  rows?: number;
  /** "optional" reads a file without labels (see `LoadOptions.labels`). Default "optional". */
  labels?: "required" | "optional";
  /** Called once the whole file was read, with its sha256 (hex; CSV only, null for Parquet). */
  onHash?: (sha256: string | null) => void;
  /** Columns whose rows each part groups by value ({@linkcode DatasetChunk.groups}). */
  group?: string[];
}

/** Default {@linkcode ChunkOptions.rows}. */
export const DEFAULT_CHUNK_ROWS = 250_000;
/** Largest {@linkcode ChunkOptions.rows}: a part is held in memory whole. */
export const MAX_CHUNK_ROWS = 10_000_000;

const LF = 10, QUOTE = 34;
/** Bytes read at a time. */
const BLOCK = 8 << 20;

/**
 * The parts of a CSV or Parquet file, in file order (see the module doc).
 *
 * @param path the file
 * @param spec the spec its columns follow
 * @param options rows per part, whether labels are required
 * @returns the parts, one at a time
 *
 * @example
 * ```ts
 * import { exampleData } from "../testing/examples.ts";
 * import { readDatasetChunks } from "./chunks.ts";
 * const { path, ds } = await exampleData();
 * let rows = 0;
 * for await (const part of readDatasetChunks(path, ds.spec, { rows: 5000 })) rows += part.ds.frame.height;
 * console.log(rows === ds.frame.height);
 * ```
 */
export async function* readDatasetChunks(
  path: string,
  spec: DatasetSpec,
  options: ChunkOptions = {},
): AsyncGenerator<DatasetChunk> {
  const rows = options.rows ?? DEFAULT_CHUNK_ROWS;
  if (!(Number.isInteger(rows) && rows > 0 && rows <= MAX_CHUNK_ROWS)) {
    throw new UserError(`rows per part must be an integer in [1, ${MAX_CHUNK_ROWS}], got ${rows}`);
  }
  const labels = options.labels ?? "optional";
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UserError(`${path}: no such file`);
    throw new UserError(`${path}: cannot read (${(e as Error).message})`);
  }
  if (info.isDirectory) throw new UserError(`${path}: is a directory, not a file`);
  const parts = formatOf(path) === "parquet"
    ? parquetChunks(path, spec, { rows, labels, onHash: options.onHash })
    : csvChunks(path, spec, { rows, labels, size: info.size, onHash: options.onHash });
  const group = options.group ?? [];
  for await (const part of parts) {
    if (group.length === 0) yield part;
    else {
      yield {
        ...part,
        groups: Object.fromEntries(group.map((c) => [c, groupedRows(part.ds.frame, c)])),
      };
    }
  }
}

async function* parquetChunks(
  path: string,
  spec: DatasetSpec,
  o: {
    rows: number;
    labels: "required" | "optional";
    onHash?: (sha256: string | null) => void;
  },
): AsyncGenerator<DatasetChunk> {
  let total: number;
  try {
    total = Number(
      pl.scanParquet(path).select(pl.len().alias("n")).collectSync().getColumn("n")[0],
    );
  } catch (e) {
    throw new UserError(
      `${path}: not a readable Parquet file (${(e as Error).message.split("\n")[0]})`,
    );
  }
  if (total === 0) throw new UserError(`${path}: no data rows`);
  for (let first = 0; first < total; first += o.rows) {
    const frame = pl.scanParquet(path).slice(first, o.rows).collectSync();
    const ds = loadDatasetFrame(frame, spec, {
      name: path,
      format: "parquet",
      labels: o.labels,
      part: { rows: first, lines: first },
    });
    yield { ds, firstRow: first, done: first + frame.height, total };
  }
  o.onHash?.(null);
}

async function* csvChunks(
  path: string,
  spec: DatasetSpec,
  o: {
    rows: number;
    labels: "required" | "optional";
    size: number;
    onHash?: (sha256: string | null) => void;
  },
): AsyncGenerator<DatasetChunk> {
  const file = await Deno.open(path, { read: true });
  const hash = createHash("sha256");
  try {
    // Bytes read and not yet given out: buf[lo, hi), read into in place (copying everything
    // pending at each 8 MB block copies up to a part's bytes 105 times for an 840 MB file).
    let buf = new Uint8Array(4 * BLOCK), lo = 0, hi = 0;
    let pending = buf.subarray(0, 0);
    let scanned = 0; // bytes of `pending` already scanned for record ends
    let inQuotes = false;
    let lastEnd = -1; // index in `pending` just after the last record's LF outside quotes
    let header: Uint8Array | null = null;
    let target = 0; // bytes per part, from the header part's bytes per row
    let firstRow = 0, lines = 1, done = 0, eof = false;
    while (true) {
      if (!eof) {
        if (buf.length - hi < BLOCK) {
          if ((hi - lo) + BLOCK <= buf.length / 2) buf.copyWithin(0, lo, hi);
          else {
            const grown = new Uint8Array(Math.max(2 * buf.length, (hi - lo) + BLOCK));
            grown.set(buf.subarray(lo, hi));
            buf = grown;
          }
          hi -= lo;
          lo = 0;
        }
        const n = await file.read(buf.subarray(hi, hi + BLOCK));
        if (n === null) eof = true;
        else {
          hash.update(buf.subarray(hi, hi + n));
          hi += n;
        }
        pending = buf.subarray(lo, hi);
      }
      if (!inQuotes && pending.indexOf(QUOTE, scanned) === -1) {
        // No quote in the new bytes (most files have none): the last line break ends a record
        // (a native search, 5.9 ms for 20 MB here against 21.4 ms byte by byte).
        const lf = pending.lastIndexOf(LF);
        if (lf >= scanned) lastEnd = lf + 1;
      } else {
        for (let i = scanned; i < pending.length; i++) {
          const b = pending[i];
          if (b === QUOTE) inQuotes = !inQuotes; // a doubled quote toggles twice
          else if (b === LF && !inQuotes) lastEnd = i + 1;
        }
      }
      scanned = pending.length;
      if (!header) {
        if (lastEnd < 0 && !eof) continue;
        const end = lastEnd < 0 ? pending.length : firstLf(pending);
        header = pending.slice(0, end);
        if (header.length > 0 && header[header.length - 1] !== LF) {
          const h = new Uint8Array(header.length + 1);
          h.set(header);
          h[header.length] = LF;
          header = h;
        }
        lo += end;
        pending = buf.subarray(lo, hi);
        done += end;
        scanned = pending.length;
        lastEnd = lastLf(pending);
        if (eof && pending.length === 0) {
          throw new UserError(
            `${path}: ${header.length <= 1 ? "empty file" : "no data rows (only a header)"}`,
          );
        }
        continue;
      }
      if (target === 0) {
        // Bytes per row from what has been read so far (at least a block or the whole file).
        if (!eof && pending.length < BLOCK) continue;
        const sample = Math.max(1, countLines(pending, lastEnd < 0 ? pending.length : lastEnd));
        target = Math.max(
          1,
          Math.round(((lastEnd < 0 ? pending.length : lastEnd) / sample) * o.rows),
        );
      }
      while (lastEnd > 0 && (lastEnd >= target || eof)) {
        const cut = cutAt(pending, lastEnd, target);
        const body = pending.subarray(0, cut);
        const ds = partOf(header, body, path, spec, { labels: o.labels, rows: firstRow, lines });
        done += cut;
        yield { ds, firstRow, done, total: o.size };
        firstRow += ds.frame.height;
        lines += countLines(body, body.length);
        lo += cut;
        pending = buf.subarray(lo, hi);
        lastEnd -= cut;
        scanned = pending.length;
      }
      if (eof) {
        if (pending.length > 0 && !isBlank(pending)) {
          // The last record has no line break after it.
          const ds = partOf(header, pending, path, spec, {
            labels: o.labels,
            rows: firstRow,
            lines,
          });
          done += pending.length;
          yield { ds, firstRow, done, total: o.size };
          firstRow += ds.frame.height;
        }
        if (firstRow === 0) throw new UserError(`${path}: no data rows (only a header)`);
        o.onHash?.(hash.digest("hex"));
        return;
      }
    }
  } finally {
    file.close();
  }
}

/** Where to cut `bytes` for a part of about `target` bytes: the last record end at or before it (else the first after). */
function cutAt(bytes: Uint8Array, lastEnd: number, target: number): number {
  if (lastEnd <= target) return lastEnd;
  const quote = bytes.indexOf(QUOTE);
  if (quote === -1 || quote >= lastEnd) {
    // No quote before the last record end: the first line break at or after the target.
    const lf = bytes.indexOf(LF, target - 1);
    return lf === -1 || lf + 1 > lastEnd ? lastEnd : lf + 1;
  }
  let inQuotes = false, best = -1;
  for (let i = 0; i < lastEnd; i++) {
    const b = bytes[i];
    if (b === QUOTE) inQuotes = !inQuotes;
    else if (b === LF && !inQuotes) {
      best = i + 1;
      if (best >= target) return best;
    }
  }
  return best > 0 ? best : lastEnd;
}

/** Just after the first record's line break (outside quotes), or the length when there is none. */
function firstLf(bytes: Uint8Array): number {
  let inQuotes = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === QUOTE) inQuotes = !inQuotes;
    else if (b === LF && !inQuotes) return i + 1;
  }
  return bytes.length;
}

/** Just after the last record's line break (outside quotes), or -1 when there is none. */
function lastLf(bytes: Uint8Array): number {
  let inQuotes = false, last = -1;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === QUOTE) inQuotes = !inQuotes;
    else if (b === LF && !inQuotes) last = i + 1;
  }
  return last;
}

function countLines(bytes: Uint8Array, end: number): number {
  let n = 0;
  for (let i = 0; i < end; i++) if (bytes[i] === LF) n++;
  return n;
}

function isBlank(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== LF && b !== 13 && b !== 32) return false;
  return true;
}

function partOf(
  header: Uint8Array,
  body: Uint8Array,
  path: string,
  spec: DatasetSpec,
  o: { labels: "required" | "optional"; rows: number; lines: number },
): Dataset {
  const bytes = new Uint8Array(header.length + body.length);
  bytes.set(header);
  bytes.set(body, header.length);
  return loadDatasetBytes(bytes, spec, {
    name: path,
    format: "csv",
    labels: o.labels,
    part: { rows: o.rows, lines: o.lines - 1 }, // lines before the part's records, the header not counted
  });
}
