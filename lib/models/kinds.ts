/**
 * The table of model kinds, passed explicitly: the trainer, the registry and
 * the server look kinds up here (no kind registers itself on import), and
 * the default kind is defined once.
 * @module
 */
import { UserError } from "../util/errors.ts";
import type { DetectorKind } from "./detector.ts";
import { iforestKind } from "./iforest.ts";
import { logregKind } from "./logreg.ts";
import { autoencoderKind } from "./autoencoder.ts";
import { gbdtKind } from "./gbdt.ts";
import { dtKind, rfKind } from "./forest.ts";

/** Every model kind fraudlab trains and serves, in listing order. */
export const MODEL_KINDS: readonly DetectorKind[] = [
  iforestKind,
  logregKind,
  autoencoderKind,
  gbdtKind,
  rfKind,
  dtKind,
];

/** The kind `train` fits when a config names none. */
export const DEFAULT_KIND = "iforest";

/**
 * The kind called `name` in `kinds`, or a UserError listing the known ones.
 *
 * @param name a kind's name, e.g. `"logreg"`
 * @param kinds the table to look in (default {@linkcode MODEL_KINDS})
 * @returns the kind
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { getKind } from "./kinds.ts";
 * assert(getKind("logreg").supervised);
 * ```
 */
export function getKind(name: string, kinds: readonly DetectorKind[] = MODEL_KINDS): DetectorKind {
  const k = kinds.find((k) => k.name === name);
  if (!k) {
    throw new UserError(
      `unknown model kind "${name}" (known: ${kinds.map((k) => k.name).join(", ")})`,
    );
  }
  return k;
}

/**
 * The names of the kinds in `kinds`.
 *
 * @param kinds the table (default {@linkcode MODEL_KINDS})
 * @returns their names, in table order
 *
 * @example
 * ```ts
 * import { kindNames } from "./kinds.ts";
 * console.log(kindNames().join(", ")); // iforest, logreg, autoencoder
 * ```
 */
export function kindNames(kinds: readonly DetectorKind[] = MODEL_KINDS): string[] {
  return kinds.map((k) => k.name);
}
