/**
 * Dataset versions: what a run records so that a model always names the exact
 * data it came from.
 * @module
 */
import { createHash } from "node:crypto";
import type { Dataset } from "./load.ts";

/** The identity of a dataset file as a spec read it. */
export interface DatasetVersion {
  /** sha256 of the file bytes, hex. */
  sha256: string;
  /** File size in bytes. */
  bytes: number;
  /** Data rows. */
  rows: number;
  /** Rows labelled 1. */
  positives: number;
  /** sha256 (first 16 hex) of the resolved spec: column names, roles and types. */
  schemaHash: string;
  /** The spec's name and version. */
  spec: { name: string; version: number };
  /** The path it was read from. */
  path: string;
}

/**
 * The sha256 of bytes or text, in hex.
 *
 * @param bytes the bytes (text is hashed as UTF-8)
 * @returns 64 hex digits
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./fingerprint.ts";
 * console.log(sha256Hex("abc").slice(0, 8)); // ba7816bf
 * ```
 */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A stable hash of a dataset's schema: the roles and types of its columns. */
export function schemaHash(ds: Dataset): string {
  const s = ds.spec;
  const schema = {
    label: s.label,
    id: s.id ?? null,
    time: s.time ?? null,
    amount: s.amount ?? null,
    entities: s.entities,
    numeric: s.numeric,
    categorical: s.categorical,
    dtypes: ds.frame.columns.map((c) => [c, String(ds.frame.getColumn(c).dtype)]),
  };
  return sha256Hex(JSON.stringify(schema)).slice(0, 16);
}

/**
 * Computes a loaded dataset's version: the sha256 of its file, rows, fraud
 * rows and a hash of its schema.
 *
 * @param ds a loaded dataset
 * @returns its version
 *
 * @example
 * ```ts
 * import { exampleData } from "../testing/examples.ts";
 * import { datasetVersion } from "./fingerprint.ts";
 * const v = datasetVersion((await exampleData()).ds);
 * console.log(v.sha256.slice(0, 12), v.rows, v.positives);
 * ```
 */
export function datasetVersion(ds: Dataset): DatasetVersion {
  return {
    sha256: sha256Hex(ds.bytes),
    bytes: ds.bytes.length,
    rows: ds.frame.height,
    positives: Number(ds.frame.getColumn(ds.spec.label).sum()),
    schemaHash: schemaHash(ds),
    spec: { name: ds.spec.name, version: ds.spec.version },
    path: ds.path,
  };
}
