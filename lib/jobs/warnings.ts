/**
 * What `train` warns about, printed and stored in the run (run.json
 * `warnings`) and its report: figures that flatter or say little.
 * @module
 */
import type { Dataset } from "../data/load.ts";
import { profileDataset } from "../data/profile.ts";
import type { RunSplit } from "./split.ts";
import type { RunWarning } from "../registry/runs.ts";

/** Fewest fraud rows to fit on, and to validate on, before a run warns. */
export const MIN_FIT_POSITIVES = 30;
export const MIN_VALIDATION_POSITIVES = 10;

/**
 * The warnings that apply to a run: too few frauds to fit or validate on,
 * a validation AP of 1.0, a feature that alone separates the label (as
 * `data:info` finds it), and validation or test rows that repeat a fit row
 * in every column the spec uses.
 */
export function trainWarnings(
  ds: Dataset,
  run: { split: RunSplit; labels: Int8Array; validationAp: number },
): RunWarning[] {
  const { split, labels } = run;
  const out: RunWarning[] = [];
  const frauds = (rows: Uint32Array) => rows.reduce((s, i) => s + labels[i], 0);
  const fit = frauds(split.fit), val = frauds(split.validation);
  if (fit < MIN_FIT_POSITIVES) {
    out.push({
      kind: "few_fit_positives",
      message:
        `only ${fit} fraud rows to fit on (fewer than ${MIN_FIT_POSITIVES}): the model has little to learn from`,
    });
  }
  if (val < MIN_VALIDATION_POSITIVES) {
    out.push({
      kind: "few_validation_positives",
      message:
        `only ${val} fraud rows to validate on (fewer than ${MIN_VALIDATION_POSITIVES}): the threshold and validation figures are noise`,
    });
  }
  if (run.validationAp === 1) {
    out.push({
      kind: "perfect_validation",
      message:
        "validation average precision is 1.0: validation is too easy (random rows of the training window?) or a feature leaks the label",
    });
  }
  for (const w of profileDataset(ds).warnings) {
    if (w.kind === "leakage" || w.kind === "leakage_missingness") {
      out.push({ kind: w.kind, message: w.message });
    }
  }
  const s = ds.spec;
  const used = [...new Set([...s.numeric, ...s.categorical, ...s.entities, s.label])];
  if (used.length > 0) {
    const hashes = ds.frame.select(...used).hashRows().toArray() as bigint[];
    const fitRows = new Set<bigint>();
    for (const i of split.fit) fitRows.add(hashes[i]);
    const repeats = (rows: Uint32Array) =>
      rows.reduce((n, i) => n + (fitRows.has(hashes[i]) ? 1 : 0), 0);
    const v = repeats(split.validation), t = repeats(split.test);
    if (v + t > 0) {
      out.push({
        kind: "duplicates_across_split",
        message:
          `${v} validation and ${t} test rows repeat a fit row in every used column: their scores are recalled, not predicted`,
      });
    }
  }
  return out;
}
