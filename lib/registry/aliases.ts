/**
 * The model registry: named models with numbered versions, each pointing at
 * a run, and aliases (`champion`, `challenger`, …) with a promotion history.
 * Stored as one JSON file (`artifacts/registry.json`) rewritten atomically;
 * every read-modify-write holds an exclusive lock on `registry.lock`
 * ({@linkcode withRegistryLock}), so concurrent promotions never lose a
 * version. Names and aliases match {@linkcode NAME_PATTERN}, and the parsed
 * file's maps have no prototype, so no name can reach an inherited property.
 * @module
 */
import { join } from "node:path";
import { UserError } from "../util/errors.ts";
import { artifactsRoot, jsonText, writeAtomic } from "./store.ts";
import { headline, type LoadedRun, loadRun } from "./runs.ts";

/** One registered version. */
export interface ModelVersion {
  /** Version number (1, 2, …). */
  version: number;
  /** The run it points at. */
  run_id: string;
  /** Model kind. */
  kind: string;
  /** When it was registered (ISO). */
  registered: string;
  /** Test metrics of the run when it was registered. */
  test: Record<string, number | null>;
  /** Content hash of the run's training data. */
  data_sha256: string;
}

/** One alias move (or a gate's decision about it). */
export interface AliasEvent {
  at: string;
  alias: string;
  from: number | null;
  /** The version the alias points at after the event; null when it was removed. */
  to: number | null;
  reason: string;
  /** What moved it: a manual promotion (absent), a gate decision, or a rollback. */
  kind?: "gate" | "rollback";
  /** A gate's decision. */
  decision?: GateDecision;
  /** A gate's evidence: both models' figures on the same window and the rules applied. */
  evidence?: Record<string, unknown>;
}

/** What a champion/challenger gate decided. */
export type GateDecision = "promote" | "keep" | "reject";

/** A registered model. */
export interface RegisteredModel {
  versions: ModelVersion[];
  aliases: Record<string, number>;
  history: AliasEvent[];
}

/** The whole registry file. */
export interface Registry {
  format: "fraudlab.registry/1";
  models: Record<string, RegisteredModel>;
}

/** Path of the registry file. */
export function registryPath(root = artifactsRoot()): string {
  return join(root, "registry.json");
}

/** A copy of a JSON object with no prototype (names cannot reach Object.prototype). */
function bare<T>(o: Record<string, T> | undefined): Record<string, T> {
  const out = Object.create(null) as Record<string, T>;
  if (o && typeof o === "object") { for (const k of Object.keys(o)) out[k] = o[k]; }
  return out;
}

/** Reads the registry (empty when none exists yet). */
export async function readRegistry(root = artifactsRoot()): Promise<Registry> {
  let r: Registry;
  try {
    r = JSON.parse(await Deno.readTextFile(registryPath(root))) as Registry;
    if (r.format !== "fraudlab.registry/1") throw new Error("wrong format");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return { format: "fraudlab.registry/1", models: bare({}) };
    }
    throw new UserError(`${registryPath(root)}: unreadable registry (${(e as Error).message})`);
  }
  const models = bare(r.models);
  for (const name of Object.keys(models)) {
    const m = models[name];
    models[name] = { ...m, aliases: bare(m.aliases) };
  }
  return { format: r.format, models };
}

/**
 * Runs `fn` holding the registry's exclusive lock (a `registry.lock` file
 * beside it, locked with `Deno.FsFile.lock`): one read-modify-write at a
 * time, across processes.
 */
export async function withRegistryLock<T>(root: string, fn: () => Promise<T>): Promise<T> {
  await Deno.mkdir(root, { recursive: true });
  const file = await Deno.open(join(root, "registry.lock"), {
    create: true,
    write: true,
    truncate: false,
  });
  try {
    await file.lock(true);
    return await fn();
  } finally {
    file.close(); // closing releases the lock
  }
}

/** For each registered run id: labels such as `txsim v2 (champion)`. */
export function registryTags(reg: Registry): Map<string, string[]> {
  const tags = new Map<string, string[]>();
  for (const [name, m] of Object.entries(reg.models)) {
    for (const v of m.versions) {
      const aliases = Object.entries(m.aliases).filter(([, n]) => n === v.version).map(([a]) => a);
      tags.set(v.run_id, [
        ...(tags.get(v.run_id) ?? []),
        `${name} v${v.version}${aliases.length ? ` (${aliases.join(", ")})` : ""}`,
      ]);
    }
  }
  return tags;
}

/** What model names and aliases look like. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/** Options for {@linkcode promote}. */
export interface PromoteOptions {
  /** Model name. Default: the run's dataset spec name. */
  model?: string;
  /** Alias to move. Default "champion". */
  alias?: string;
  /** Why (kept in the history). */
  reason?: string;
  /** Artifacts root (default `artifacts/` or `$FRAUDLAB_ARTIFACTS`). */
  root?: string;
}

/**
 * Registers a run as a new version of a model and points the alias at it.
 * The run is loaded (checksums verified) first; a tampered run is refused.
 *
 * @param ref the run (id, directory, or NAME@VERSION / NAME@ALIAS)
 * @param options model name, alias (default champion), reason and root
 * @returns the model, the new version, the alias and the version it pointed at before
 *
 * @example
 * ```ts
 * import { exampleData, exampleRun } from "../testing/examples.ts";
 * import { promote } from "./aliases.ts";
 * const { root } = await exampleData();
 * const p = await promote((await exampleRun()).dir, { root, model: "example", reason: "first" });
 * console.log(p.alias, p.version.version);
 * ```
 */
export async function promote(
  ref: string,
  options: PromoteOptions = {},
): Promise<{ model: string; version: ModelVersion; alias: string; previous: number | null }> {
  const root = options.root ?? artifactsRoot();
  // A run id, or NAME@VERSION / NAME@ALIAS (whose model name is the default).
  const byName = ref.includes("@") ? ref.split("@", 1)[0] : undefined;
  const run = await loadRunRef(ref, root);
  const name = options.model ?? byName ?? run.spec.name;
  const alias = options.alias ?? "champion";
  if (!NAME_PATTERN.test(name)) {
    throw new UserError(
      `--model: "${name.slice(0, 80)}" is not a valid model name (${NAME_PATTERN.source}${
        options.model ? "" : "; the spec's name is the default, pass --model"
      })`,
    );
  }
  if (!NAME_PATTERN.test(alias)) {
    throw new UserError(
      `--alias: "${alias.slice(0, 80)}" is not a valid alias (${NAME_PATTERN.source})`,
    );
  }
  return await withRegistryLock(root, async () => {
    const reg = await readRegistry(root);
    const model = reg.models[name] ??= { versions: [], aliases: bare({}), history: [] };
    let version = model.versions.find((v) => v.run_id === run.id);
    if (!version) {
      version = {
        version: model.versions.length ? Math.max(...model.versions.map((v) => v.version)) + 1 : 1,
        run_id: run.id,
        kind: run.config.model,
        registered: new Date().toISOString(),
        test: headline(run.metrics.test),
        data_sha256: run.dataset.sha256,
      };
      model.versions.push(version);
    }
    const previous = model.aliases[alias] ?? null;
    model.aliases[alias] = version.version;
    model.history.push({
      at: new Date().toISOString(),
      alias,
      from: previous,
      to: version.version,
      reason: options.reason ?? "manual promotion",
    });
    await writeAtomic(registryPath(root), jsonText(reg));
    return { model: name, version, alias, previous };
  });
}

/** Parses `NAME@ALIAS`, `NAME@VERSION` or a bare alias (model defaults to the only one). */
export async function resolveModelRef(
  ref: string,
  root = artifactsRoot(),
): Promise<{ model: string; version: ModelVersion; alias?: string }> {
  const reg = await readRegistry(root);
  let [name, tag] = ref.includes("@") ? ref.split("@", 2) : [undefined, ref];
  if (!name) {
    const names = Object.keys(reg.models).filter((n) => tag in reg.models[n].aliases);
    if (names.length === 0) {
      throw new UserError(`no model has the alias "${tag}" (registry ${registryPath(root)})`);
    }
    if (names.length > 1) {
      throw new UserError(
        `alias "${tag}" exists for several models (${names.join(", ")}): write NAME@${tag}`,
      );
    }
    name = names[0];
  }
  if (!NAME_PATTERN.test(name) || !/^\d{1,9}$|^[a-z0-9][a-z0-9_.-]{0,63}$/.test(tag)) {
    throw new UserError(
      `"${
        ref.slice(0, 80)
      }" is not a model reference (NAME@ALIAS or NAME@VERSION, names ${NAME_PATTERN.source})`,
    );
  }
  const model = reg.models[name];
  if (!model) {
    throw new UserError(
      `no registered model "${name}" (known: ${Object.keys(reg.models).join(", ") || "none"})`,
    );
  }
  const num = /^\d+$/.test(tag) ? Number(tag) : model.aliases[tag];
  const version = model.versions.find((v) => v.version === num);
  if (!version) throw new UserError(`model "${name}" has no version or alias "${tag}"`);
  return { model: name, version, alias: /^\d+$/.test(tag) ? undefined : tag };
}

/** Loads the run behind `NAME@ALIAS` (or a bare alias such as `champion`). */
export async function loadModelRef(
  ref: string,
  root = artifactsRoot(),
): Promise<LoadedRun & { model: string; version: number }> {
  const r = await resolveModelRef(ref, root);
  const run = await loadRun(r.version.run_id, root);
  return { ...run, model: r.model, version: r.version.version };
}

/** Metric names `--promote-if-better` accepts, with their keys in a run's headline. */
export const PROMOTION_METRICS: Record<string, string> = {
  ap: "averagePrecision",
  averagePrecision: "averagePrecision",
  auc: "rocAuc",
  rocAuc: "rocAuc",
  "recall@1%fpr": "recallAt1pctFpr",
  recallAt1pctFpr: "recallAt1pctFpr",
  "p@k": "precisionAtK",
  precisionAtK: "precisionAtK",
  "daily-p@k": "dailyPrecisionAtK",
  dailyPrecisionAtK: "dailyPrecisionAtK",
  "card-p@k": "entityPrecisionAtK",
  entityPrecisionAtK: "entityPrecisionAtK",
  f1: "f1",
};

/** Parses `METRIC[:MARGIN]`. */
export function parsePromotionRule(text: string): { metric: string; margin: number } {
  const [name, marginText] = text.split(":", 2);
  const metric = PROMOTION_METRICS[name];
  if (!metric) {
    throw new UserError(
      `--promote-if-better: unknown metric "${name}" (known: ${
        Object.keys(PROMOTION_METRICS).join(", ")
      })`,
    );
  }
  const margin = marginText === undefined ? 0 : Number(marginText);
  if (!Number.isFinite(margin) || margin < 0) {
    throw new UserError(`--promote-if-better: margin must be a number >= 0, got "${marginText}"`);
  }
  return { metric, margin };
}

/**
 * Loads a run named by id (or unique id prefix), by `NAME@ALIAS` /
 * `NAME@VERSION`, or by a bare alias such as `champion`; checksums verified.
 *
 * @param ref the reference
 * @param root the artifacts root (default `artifacts/` or `$FRAUDLAB_ARTIFACTS`)
 * @returns the run
 *
 * @example
 * ```ts
 * import { exampleData, exampleRun } from "../testing/examples.ts";
 * import { loadRunRef, promote } from "./aliases.ts";
 * const { root } = await exampleData();
 * await promote((await exampleRun()).dir, { root, model: "example" });
 * console.log((await loadRunRef("example@champion", root)).config.model); // logreg
 * ```
 */
export async function loadRunRef(ref: string, root = artifactsRoot()): Promise<LoadedRun> {
  if (!ref.includes("@")) {
    let notRun: UserError;
    try {
      return await loadRun(ref, root);
    } catch (e) {
      if (!(e instanceof UserError) || !e.message.startsWith("no run")) throw e;
      notRun = e;
    }
    try {
      return await loadModelRef(ref, root);
    } catch (e) {
      if (!(e instanceof UserError) || !e.message.startsWith("no model has the alias")) throw e;
      throw new UserError(`${notRun.message} (and no model has the alias "${ref.slice(0, 80)}")`);
    }
  }
  return await loadModelRef(ref, root);
}

/** What {@linkcode recordGateDecision} changed. */
export interface GateRecord {
  model: string;
  decision: GateDecision;
  /** The challenger's version, and the champion's before and after. */
  challenger: number;
  championBefore: number | null;
  championAfter: number | null;
}

/**
 * Writes a gate's decision into the registry, under its lock: `promote`
 * moves the champion alias to the challenger's version (and clears the
 * challenger alias), `keep` leaves both aliases, `reject` removes the
 * challenger alias. Every decision goes into the history with its reason
 * and evidence. Refused when the challenger alias moved since the gate
 * looked at it (`expect`), so a decision never lands on another version.
 *
 * @param name the registered model
 * @param gate the decision, its reason and evidence, the version decided on
 * @param options artifacts root, aliases (default champion and challenger)
 * @returns the versions before and after
 */
export async function recordGateDecision(
  name: string,
  gate: {
    decision: GateDecision;
    reason: string;
    evidence: Record<string, unknown>;
    expect: number;
  },
  options: { root?: string; champion?: string; challenger?: string } = {},
): Promise<GateRecord> {
  const root = options.root ?? artifactsRoot();
  const champion = options.champion ?? "champion", challenger = options.challenger ?? "challenger";
  return await withRegistryLock(root, async () => {
    const reg = await readRegistry(root);
    const model = reg.models[name];
    const v = model?.aliases[challenger];
    if (v === undefined) throw new UserError(`model "${name}" has no ${challenger}`);
    if (v !== gate.expect) {
      throw new UserError(
        `${name}@${challenger} moved to v${v} while the gate compared v${gate.expect}: decide again`,
      );
    }
    const before = model.aliases[champion] ?? null;
    const at = new Date().toISOString();
    const base = { at, kind: "gate" as const, decision: gate.decision, evidence: gate.evidence };
    if (gate.decision === "promote") {
      model.aliases[champion] = v;
      model.history.push({ ...base, alias: champion, from: before, to: v, reason: gate.reason });
      delete model.aliases[challenger];
      model.history.push({
        at,
        kind: "gate",
        alias: challenger,
        from: v,
        to: null,
        reason: `promoted to ${champion}`,
      });
    } else if (gate.decision === "keep") {
      model.history.push({ ...base, alias: challenger, from: v, to: v, reason: gate.reason });
    } else {
      delete model.aliases[challenger];
      model.history.push({ ...base, alias: challenger, from: v, to: null, reason: gate.reason });
    }
    await writeAtomic(registryPath(root), jsonText(reg));
    return {
      model: name,
      decision: gate.decision,
      challenger: v,
      championBefore: before,
      championAfter: model.aliases[champion] ?? null,
    };
  });
}

/**
 * The versions an alias has pointed at, oldest first, without those a
 * rollback undid: the last is the current one, the one before it what a
 * rollback restores.
 */
export function aliasLineage(model: RegisteredModel, alias: string): number[] {
  const stack: number[] = [];
  for (const h of model.history) {
    if (h.alias !== alias) continue;
    if (h.kind === "rollback") stack.pop();
    else if (h.to === null) stack.length = 0;
    else if (stack[stack.length - 1] !== h.to) stack.push(h.to);
  }
  return stack;
}

/**
 * Moves an alias (default champion) back to the version it pointed at
 * before its current one, skipping versions earlier rollbacks undid; the
 * rollback goes into the history. A server serving the alias hot-swaps to
 * the restored version.
 *
 * @param name the registered model
 * @param options alias, reason, artifacts root
 * @returns the versions before and after
 *
 * @example
 * ```ts
 * import { exampleData, exampleRun } from "../testing/examples.ts";
 * import { promote, rollback } from "./aliases.ts";
 * const { root } = await exampleData();
 * const run = await exampleRun();
 * await promote(run.dir, { root, model: "rollback-example" });
 * try {
 *   await rollback("rollback-example", { root });
 * } catch (e) {
 *   console.log((e as Error).message); // only one version so far: nothing to restore
 * }
 * ```
 */
export async function rollback(
  name: string,
  options: { alias?: string; reason?: string; root?: string } = {},
): Promise<{ model: string; alias: string; from: number; to: number }> {
  const root = options.root ?? artifactsRoot();
  const alias = options.alias ?? "champion";
  return await withRegistryLock(root, async () => {
    const reg = await readRegistry(root);
    const model = reg.models[name];
    if (!model) {
      throw new UserError(
        `no registered model "${name}" (known: ${Object.keys(reg.models).join(", ") || "none"})`,
      );
    }
    const current = model.aliases[alias];
    if (current === undefined) throw new UserError(`model "${name}" has no ${alias} to roll back`);
    const lineage = aliasLineage(model, alias);
    if (lineage.length < 2 || lineage[lineage.length - 1] !== current) {
      throw new UserError(
        `${name}@${alias} (v${current}) has no earlier version to roll back to`,
      );
    }
    const to = lineage[lineage.length - 2];
    model.aliases[alias] = to;
    model.history.push({
      at: new Date().toISOString(),
      alias,
      from: current,
      to,
      kind: "rollback",
      reason: options.reason ?? `rollback from v${current}`,
    });
    await writeAtomic(registryPath(root), jsonText(reg));
    return { model: name, alias, from: current, to };
  });
}
