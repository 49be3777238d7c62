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
 * With `rules: "handbook"`, the Handbook's features instead (`HANDBOOK_RULES`
 * in velocity.ts; the card's windows include the current transaction, whose
 * amount {@linkcode OnlineVelocity.features} then takes).
 *
 * A missing entity gives null features for that entity. History older than
 * the longest window plus the delay is pruned: before the clock's time when
 * the history has one ({@linkcode HistoryLimits.clock}, the server's), else
 * before the newest time seen. Memory is bounded: at most
 * {@linkcode HistoryLimits.maxEntities} values per entity column (the least
 * recently seen is forgotten first) and {@linkcode HistoryLimits.maxEvents}
 * events per value (the oldest go first); both are counted.
 * @module
 */
import type { VelocityOptions } from "./velocity.ts";
import { selectKth } from "../util/select.ts";
import { DAY_MS } from "../util/time.ts";

/** One remembered transaction (shared by the lists of all its entities). */
interface Event {
  t: number;
  amount: number | null;
  fraud: boolean;
  id: string | null;
  /** Entity lists holding it: its id is forgotten when the last one drops it. */
  refs: number;
}

/** Bounds of an {@linkcode OnlineVelocity}. */
export interface HistoryLimits {
  /** Values remembered per entity column; the least recently seen is forgotten first. Default 1,000,000. */
  maxEntities?: number;
  /** Events remembered per entity value; the oldest are dropped first. Default 100,000. */
  maxEvents?: number;
  /** The time pruning follows (epoch ms), e.g. the server's clock. Default: the newest event time seen. */
  clock?: () => number;
}

/** What a history holds and has forgotten to stay within its limits. */
export interface HistoryStats {
  /** Values held, per entity column. */
  entities: number[];
  /** Values forgotten because their column was full, per entity column. */
  evicted: number[];
  /** Events dropped because their value's list was full. */
  capped: number;
}

/** Default {@linkcode HistoryLimits.maxEntities}. */
export const DEFAULT_MAX_ENTITIES = 1_000_000;
/** Default {@linkcode HistoryLimits.maxEvents}. */
export const DEFAULT_MAX_EVENTS = 100_000;

/** An entity value's events, ascending by time, with a pruned prefix. */
interface Events {
  list: Event[];
  start: number;
  /** When the value was last seen (a counter of adds). */
  seen: number;
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

/** The first event after `t` (from the list's live start). */
function upperBound(ev: Events, t: number): number {
  let lo = ev.start, hi = ev.list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ev.list[mid].t <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Mean of the amounts of events from `from` before `tMs`, as a sum of amount / n terms. */
function finiteMean(ev: Events, from: number, tMs: number, n: number): number {
  let mean = 0;
  for (let i = from; i < ev.list.length && ev.list[i].t < tMs; i++) {
    const a = ev.list[i].amount;
    if (a !== null) mean += a / n;
  }
  return mean;
}

/** Entity history for online velocity features. */
export class OnlineVelocity {
  readonly options: Required<VelocityOptions>;
  readonly #entities: Map<string, Events>[];
  readonly #byId = new Map<string, Event>();
  readonly #retainMs: number;
  readonly #maxEntities: number;
  readonly #maxEvents: number;
  readonly #clock: (() => number) | null;
  readonly #evicted: number[];
  #capped = 0;
  #tick = 0;
  #newest = -Infinity;
  #addsSinceSweep = 0;

  constructor(options: Required<VelocityOptions>, limits: HistoryLimits = {}) {
    this.options = options;
    this.#entities = options.entities.map(() => new Map());
    this.#evicted = options.entities.map(() => 0);
    this.#retainMs = (Math.max(...options.windowsDays, 0) + options.delayDays) * DAY_MS;
    this.#maxEntities = limits.maxEntities ?? DEFAULT_MAX_ENTITIES;
    this.#maxEvents = limits.maxEvents ?? DEFAULT_MAX_EVENTS;
    this.#clock = limits.clock ?? null;
  }

  /** Values held and forgotten (see {@linkcode HistoryStats}). */
  get stats(): HistoryStats {
    return {
      entities: this.#entities.map((m) => m.size),
      evicted: [...this.#evicted],
      capped: this.#capped,
    };
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
  features(
    tMs: number,
    entityValues: (string | null)[],
    amount: number | null = null,
  ): VelocityValues {
    if (this.options.rules === "handbook") return this.#handbook(tMs, entityValues, amount);
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
        // Amounts near the float64 range could overflow their sum: the mean
        // is then summed from amount / n terms, which stays finite.
        out[`${name}_mean_amount_${w}d`] = n === 0
          ? null
          : Number.isFinite(sum)
          ? sum / n
          : finiteMean(ev!, lowerBound(ev!, tMs - wMs), tMs, n);
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

  /** The Handbook's features (`HANDBOOK_RULES` in velocity.ts); `amount` is the current transaction's. */
  #handbook(tMs: number, entityValues: (string | null)[], amount: number | null): VelocityValues {
    const out: VelocityValues = {};
    const { windowsDays, delayDays, entities, calendar } = this.options;
    const dMs = Math.round(delayDays * DAY_MS);
    for (let e = 0; e < entities.length; e++) {
      const name = entities[e], key = entityValues[e];
      const ev = key === null ? undefined : this.#entities[e].get(key);
      for (const w of windowsDays) {
        const nb = `${name}_NB_TX_${w}DAY_WINDOW`;
        const second = e === 0
          ? `${name}_AVG_AMOUNT_${w}DAY_WINDOW`
          : `${name}_RISK_${w}DAY_WINDOW`;
        if (key === null) {
          out[nb] = out[second] = null;
          continue;
        }
        const wMs = Math.round(w * DAY_MS);
        if (e === 0) {
          // (t − w, t), then the current transaction.
          let n = amount === null ? 0 : 1, sum = amount ?? 0;
          if (ev) {
            const end = lowerBound(ev, tMs);
            for (let i = upperBound(ev, tMs - wMs); i < end; i++) {
              const a = ev.list[i].amount;
              if (a !== null) {
                n++;
                sum += a;
              }
            }
          }
          out[nb] = n;
          out[second] = n === 0 ? null : sum / n;
        } else {
          // (t − delay − w, t − delay]
          let all = 0, fraud = 0;
          if (ev) {
            const end = upperBound(ev, tMs - dMs);
            for (let i = upperBound(ev, tMs - dMs - wMs); i < end; i++) {
              all++;
              if (ev.list[i].fraud) fraud++;
            }
          }
          out[nb] = all;
          out[second] = all > 0 ? fraud / all : 0;
        }
      }
    }
    if (calendar) {
      const d = new Date(tMs);
      const dow = d.getUTCDay();
      out.TX_DURING_WEEKEND = dow === 0 || dow === 6 ? 1 : 0;
      out.TX_DURING_NIGHT = d.getUTCHours() <= 6 ? 1 : 0;
    }
    return out;
  }

  /**
   * Remembers a transaction. `id` (optional) lets a later label find it;
   * `fraud` is its label when already known. Returns false when it is not
   * kept: already remembered by id, older than the retention, or with no
   * entity value.
   */
  add(
    tMs: number,
    entityValues: (string | null)[],
    amount: number | null,
    id?: string | null,
    fraud = false,
  ): boolean {
    if (id != null && this.#byId.has(id)) return false; // the same transaction scored twice counts once
    const event: Event = { t: tMs, amount, fraud, id: id ?? null, refs: 0 };
    if (tMs > this.#newest) this.#newest = tMs;
    const horizon = this.#horizon();
    if (tMs < horizon) return false; // already older than any window of now
    for (let e = 0; e < entityValues.length; e++) {
      const key = entityValues[e];
      if (key === null) continue;
      const map = this.#entities[e];
      let ev = map.get(key);
      if (!ev) {
        if (map.size >= this.#maxEntities) this.#evictLeastRecent(e);
        map.set(key, ev = { list: [], start: 0, seen: 0 });
      }
      ev.seen = ++this.#tick;
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
      event.refs++;
      this.#prune(ev, horizon);
      if (list.length - ev.start > this.#maxEvents) {
        this.#capped++;
        this.#drop(ev, ev.start + 1);
      }
    }
    if (event.refs === 0) return false;
    if (id != null) this.#byId.set(id, event);
    if (++this.#addsSinceSweep >= 50_000) this.sweep();
    return true;
  }

  /** Events older than this are pruned: retention before the clock (or the newest time seen). */
  #horizon(): number {
    return (this.#clock ? this.#clock() : this.#newest) - this.#retainMs;
  }

  /**
   * Forgets the least recently seen tenth (at least one) of entity column
   * `e`'s values. In bulk, because a Map evicted one entry at a time from
   * its front slows down on the holes deletions leave: about 20 µs per
   * eviction at 200,000 values, against well under 1 µs amortized here.
   */
  #evictLeastRecent(e: number): void {
    const map = this.#entities[e];
    const n = map.size;
    if (n === 0) return;
    const seen = new Float64Array(n);
    let i = 0;
    for (const ev of map.values()) seen[i++] = ev.seen;
    const k = Math.max(1, Math.floor(n / 10));
    const cut = selectKth(seen, { n, k: k - 1 }); // counters are distinct: exactly k at or below
    for (const [key, ev] of map) {
      if (ev.seen <= cut) {
        map.delete(key);
        this.#drop(ev, ev.list.length);
        this.#evicted[e]++;
      }
    }
  }

  /** Prunes every entity (also those not seen lately) and forgets empty ones. */
  sweep(): void {
    this.#addsSinceSweep = 0;
    const horizon = this.#horizon();
    for (const map of this.#entities) {
      for (const [key, ev] of map) {
        this.#prune(ev, horizon);
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

  /** Drops events older than `horizon` from the front of a list. */
  #prune(ev: Events, horizon: number): void {
    let s = ev.start;
    while (s < ev.list.length && ev.list[s].t < horizon) s++;
    if (s !== ev.start) this.#drop(ev, s);
  }

  /** Drops the list's events before index `to`; an event no list holds any more loses its id. */
  #drop(ev: Events, to: number): void {
    for (let i = ev.start; i < to; i++) {
      const event = ev.list[i];
      if (--event.refs === 0 && event.id !== null && this.#byId.get(event.id) === event) {
        this.#byId.delete(event.id);
      }
    }
    ev.start = to;
    if (to > 64 && to * 2 > ev.list.length) {
      ev.list = ev.list.slice(to);
      ev.start = 0;
    }
  }
}
