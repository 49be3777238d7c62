/**
 * The model a server is serving, swapped atomically: a request reads
 * {@linkcode ModelHolder.current} once and finishes on that model, so
 * in-flight requests complete on the old one while new requests get the
 * new one. A candidate that fails to load (bad checksums, missing files) is
 * refused and the old model keeps serving.
 * @module
 */
import type { HistoryLimits, OnlineVelocity } from "../features/online.ts";
import { resolveModelRef } from "../registry/aliases.ts";
import { artifactsRoot } from "../registry/store.ts";
import {
  type LoadOptions,
  loadServedModel,
  newHistory,
  sameVelocity,
  type ServedModel,
} from "./scorer.ts";

/** The outcome of one reload check. */
export interface ReloadOutcome {
  status: "unchanged" | "swapped" | "refused";
  from?: string;
  to?: string;
  error?: string;
}

/** What the holder serves: a model and the entity history its velocity features read. */
export interface Serving {
  model: ServedModel;
  history: OnlineVelocity | null;
}

/** Holds the served model; see the module doc. */
export class ModelHolder {
  #serving: Serving | null = null;
  readonly #listeners: ((s: Serving, previous: Serving | null) => void)[] = [];
  /** Bounds and clock of every entity history this holder creates. */
  readonly limits: HistoryLimits;
  /** Seeds a new entity history (history file, prediction log); identity when absent. */
  warm: (model: ServedModel, history: OnlineVelocity) => Promise<void> = async () => {};

  /** How a reload loads its model. */
  readonly load: LoadOptions;

  constructor(limits: HistoryLimits = {}, load: LoadOptions = {}) {
    this.limits = limits;
    this.load = load;
  }

  /** The model and history to use for one request (null until a model is loaded). */
  get current(): Serving | null {
    return this.#serving;
  }

  /** Called after every swap (metrics, logs). */
  onSwap(listener: (s: Serving, previous: Serving | null) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Serves `model` from now on. The entity history carries over when the
   * velocity options are the same; otherwise a new one is warmed first.
   */
  async swap(model: ServedModel): Promise<void> {
    const previous = this.#serving;
    let history = previous?.history ?? null;
    if (
      !previous || !sameVelocity(previous.model.run.pipeline.velocity, model.run.pipeline.velocity)
    ) {
      history = newHistory(model, this.limits);
      if (history) await this.warm(model, history);
    }
    const next = { model, history };
    this.#serving = next; // one assignment: the swap is atomic for the event loop
    // The old model's explanation worker ends (a request still on it explains on one thread).
    if (previous && previous.model !== model) previous.model.close();
    for (const l of this.#listeners) l(next, previous);
  }

  /**
   * Checks where `ref` (NAME@ALIAS) points now and swaps when it moved.
   * Loading verifies the run's checksums; a failure leaves the old model.
   */
  async reload(ref: string, root = artifactsRoot()): Promise<ReloadOutcome> {
    const cur = this.#serving?.model;
    let target: string;
    try {
      target = ref.startsWith("run:")
        ? ref.slice(4)
        : (await resolveModelRef(ref, root)).version.run_id;
    } catch (e) {
      return { status: "refused", from: cur?.run.id, error: (e as Error).message };
    }
    if (cur && cur.run.id === target) {
      return { status: "unchanged", from: cur.run.id };
    }
    try {
      const model = await loadServedModel(ref, root, this.load);
      await this.swap(model);
      return { status: "swapped", from: cur?.run.id, to: model.run.id };
    } catch (e) {
      return { status: "refused", from: cur?.run.id, to: target, error: (e as Error).message };
    }
  }
}
