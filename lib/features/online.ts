/**
 * Velocity features one transaction at a time, as the scoring server needs
 * them: an in-memory history per entity value (customer, terminal, …) gives
 * the same numbers {@linkcode velocityFeatures} computes over a whole frame.
 *
 * For a transaction at time t and each entity and window w:
 * - `<e>_n_<w>d`: the entity's earlier transactions with an amount in
 *   [t − w, t) (transactions at exactly t are not counted);
 * - `<e>_mean_amount_<w>d`: their mean amount (null when there are none);
 * - `<e>_risk_<w>d`: fraud share of the entity's transactions in
 *   [t − delay − w, t − delay), 0 when that window is empty. Online, a
 *   transaction counts as fraud once a label says so ({@linkcode
 *   OnlineVelocity.label}); an unlabelled one counts as legitimate, as a
 *   transaction without a chargeback does in the training data.
 * - calendar: `hour` (UTC), `is_night` (hour < 6), `is_weekend` (Sat, Sun).
 *
 * A missing entity gives null features for that entity. History older than
 * the longest window plus the delay (before the newest time seen) is pruned.
 * @module
 */
import type { VelocityOptions } from "./velocity.ts";

const DAY_MS = 86_400_000;

/** One remembered transaction (shared by the lists of all its entities). */
interface Event {
  t: number;
  amount: number | null;
  fraud: boolean;
  id: string | null;
}

/** An entity value's events, ascending by time, with a pruned prefix. */
interface Events {
  list: Event[];
  start: number;
}

/** The values {@linkcode OnlineVelocity.features} computes, by feature name. */
export type VelocityValues = Record<string, number | null>;

/** First index i ≥ start with list[i].t ≥ t (binary search). */
function lowerBound(ev: Events, t: number): number {
  let lo = ev.start, hi = ev.list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ev.list[mid].t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Entity history for online velocity features. */
export class OnlineVelocity {
  readonly options: Required<VelocityOptions>;
  readonly #entities: Map<string, Events>[];
  readonly #byId = new Map<string, Event>();
  readonly #retainMs: number;
  #newest = -Infinity;
  #addsSinceSweep = 0;

  constructor(options: Required<VelocityOptions>) {
    this.options = options;
    this.#entities = options.entities.map(() => new Map());
    this.#retainMs = (Math.max(...options.windowsDays, 0) + options.delayDays) * DAY_MS;
  }

  /** How far back a transaction's features look (longest window plus the delay), ms. */
  get retainMs(): number {
    return this.#retainMs;
  }

  /** Transactions with an id currently remembered (late labels can reach them). */
  get idsHeld(): number {
    return this.#byId.size;
  }

  /**
   * The features of a transaction at `tMs` for the given entity values
   * (null = missing), from the history only: call {@linkcode add} after.
   */
  features(tMs: number, entityValues: (string | null)[]): VelocityValues {
    const out: VelocityValues = {};
    const { windowsDays, delayDays, entities, calendar } = this.options;
    const dMs = Math.round(delayDays * DAY_MS);
    for (let e = 0; e < entities.length; e++) {
      const name = entities[e];
      const key = entityValues[e];
      const ev = key === null ? undefined : this.#entities[e].get(key);
      for (const w of windowsDays) {
        if (key === null) {
          out[`${name}_n_${w}d`] = null;
          out[`${name}_mean_amount_${w}d`] = null;
          out[`${name}_risk_${w}d`] = null;
          continue;
        }
        const wMs = Math.round(w * DAY_MS);
        let n = 0, sum = 0, all = 0, fraud = 0;
        if (ev) {
          const end = lowerBound(ev, tMs);
          for (let i = lowerBound(ev, tMs - wMs); i < end; i++) {
            const a = ev.list[i].amount;
            if (a !== null) {
              n++;
              sum += a;
            }
          }
          const rEnd = lowerBound(ev, tMs - dMs);
          for (let i = lowerBound(ev, tMs - dMs - wMs); i < rEnd; i++) {
            all++;
            if (ev.list[i].fraud) fraud++;
          }
        }
        out[`${name}_n_${w}d`] = n;
        out[`${name}_mean_amount_${w}d`] = n > 0 ? sum / n : null;
        out[`${name}_risk_${w}d`] = all > 0 ? fraud / all : 0;
      }
    }
    if (calendar) {
      const d = new Date(tMs);
      const hour = d.getUTCHours(), dow = d.getUTCDay();
      out.hour = hour;
      out.is_night = hour < 6 ? 1 : 0;
      out.is_weekend = dow === 0 || dow === 6 ? 1 : 0;
    }
    return out;
  }

  /**
   * Remembers a transaction. `id` (optional) lets a later label find it;
   * `fraud` is its label when already known.
   */
  add(
    tMs: number,
    entityValues: (string | null)[],
    amount: number | null,
    id?: string | null,
    fraud = false,
  ): void {
    if (id != null && this.#byId.has(id)) return; // the same transaction scored twice counts once
    const event: Event = { t: tMs, amount, fraud, id: id ?? null };
    let held = false;
    for (let e = 0; e < entityValues.length; e++) {
      const key = entityValues[e];
      if (key === null) continue;
      const map = this.#entities[e];
      let ev = map.get(key);
      if (!ev) map.set(key, ev = { list: [], start: 0 });
      const list = ev.list;
      if (list.length === 0 || list[list.length - 1].t <= tMs) list.push(event);
      else {
        // Out of order: insert after every event at the same time or earlier.
        let lo = ev.start, hi = list.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (list[mid].t <= tMs) lo = mid + 1;
          else hi = mid;
        }
        list.splice(lo, 0, event);
      }
      this.#prune(ev, tMs);
      held = true;
    }
    if (!held) return;
    if (id != null) this.#byId.set(id, event);
    if (tMs > this.#newest) this.#newest = tMs;
    if (++this.#addsSinceSweep >= 50_000) this.sweep();
  }

  /** Prunes every entity (also those not seen lately) and forgets empty ones. */
  sweep(): void {
    this.#addsSinceSweep = 0;
    for (const map of this.#entities) {
      for (const [key, ev] of map) {
        this.#prune(ev, this.#newest);
        if (ev.start >= ev.list.length) map.delete(key);
      }
    }
  }

  /** Records a late label; false when the transaction is not (or no longer) remembered. */
  label(id: string, fraud: boolean): boolean {
    const event = this.#byId.get(id);
    if (!event) return false;
    event.fraud = fraud;
    return true;
  }

  /** Drops events too old to enter any window of a transaction at `nowMs` or later. */
  #prune(ev: Events, nowMs: number): void {
    const horizon = Math.max(nowMs, this.#newest) - this.#retainMs;
    let s = ev.start;
    while (s < ev.list.length && ev.list[s].t < horizon) {
      const id = ev.list[s++].id;
      if (id !== null) this.#byId.delete(id);
    }
    if (s === ev.start) return;
    ev.start = s;
    if (s > 64 && s * 2 > ev.list.length) {
      ev.list = ev.list.slice(s);
      ev.start = 0;
    }
  }
}
