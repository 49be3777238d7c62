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

/** sha256 of bytes, hex. */
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
 * Computes a loaded dataset's version.
 *
 * @example
 * ```ts
 * const v = datasetVersion(await loadDataset("data/demo.parquet", spec));
 * console.log(v.sha256, v.rows, v.positives);
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
