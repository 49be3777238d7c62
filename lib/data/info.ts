/**
 * The dataset report behind `deno task data:info` and the demo: version plus
 * profile plus quality warnings, as one value or as text.
 * @module
 */
import { type Dataset, loadDataset } from "./load.ts";
import { type DatasetVersion, datasetVersion } from "./fingerprint.ts";
import { type DataProfile, formatProfile, profileDataset } from "./profile.ts";
import type { DatasetSpec } from "./spec.ts";

/** A dataset's version and profile. */
export interface DataInfo {
  /** The dataset's version (content hash, rows, schema hash). */
  version: DatasetVersion;
  /** Its profile. */
  profile: DataProfile;
}

/**
 * Loads a file and computes its version and profile (what `data:info` prints).
 *
 * @param path the file
 * @param spec its spec
 * @returns the dataset, its version and its profile
 *
 * @example
 * ```ts
 * import { exampleData } from "../testing/examples.ts";
 * import { loadSpec } from "./datasets.ts";
 * import { dataInfo } from "./info.ts";
 * const info = await dataInfo((await exampleData()).path, await loadSpec("txsim"));
 * console.log(info.version.rows, info.profile.warnings.length);
 * ```
 */
export async function dataInfo(
  path: string,
  spec: DatasetSpec,
): Promise<DataInfo & { dataset: Dataset }> {
  const dataset = await loadDataset(path, spec);
  return { dataset, version: datasetVersion(dataset), profile: profileDataset(dataset) };
}

/**
 * Renders a dataset's version and profile as text.
 *
 * @param info what {@linkcode dataInfo} returns
 * @returns the text `data:info` prints
 *
 * @example
 * ```ts
 * import { exampleData } from "../testing/examples.ts";
 * import { loadSpec } from "./datasets.ts";
 * import { dataInfo, formatDataInfo } from "./info.ts";
 * const info = await dataInfo((await exampleData()).path, await loadSpec("txsim"));
 * console.log(formatDataInfo(info).split("\n")[0]);
 * ```
 */
export function formatDataInfo(info: DataInfo): string {
  const v = info.version;
  return [
    `dataset ${v.path} (spec ${v.spec.name} v${v.spec.version})`,
    `version sha256 ${v.sha256}  bytes ${v.bytes}  schema ${v.schemaHash}`,
    formatProfile(info.profile),
  ].join("\n");
}
