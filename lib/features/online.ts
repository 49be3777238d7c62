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
import { velocityColumnNames, type VelocityOptions } from "./velocity.ts";
import { selectKth } from "../util/select.ts";
import { DAY_MS } from "../util/time.ts";

/**
 * One remembered transaction, shared by the lists of all its entities. Its
 * time and amount live in each list's arrays (`ts`, `am`), not here: a
 * double in an object is a heap number of its own, and a history of
 * millions of transactions is as slow to collect as it has objects.
 */
interface Event {
  fraud: boolean;
  id: string | null;
  /** Entity lists holding it: its id is forgotten when the last one drops it. */
  refs: number;
  /**
   * The lists it was added to, for a late label to update their fraud
   * counts: the first two in fields, any further ones in an array (an array
   * per event would cost several hundred bytes each).
   */
  l0: Events | null;
  l1: Events | null;
  more: Events[] | null;
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

/**
 * An entity value's events, ascending by time, with a pruned prefix, and
 * running counts over the list: entry i of each count array covers
 * `list[0..i)` (entry `list.length` the whole list), so a window's figure is
 * the difference of two entries. Every count is a whole number (amounts as
 * whole cents), so a difference is exact whatever the list held before the
 * window: a window's sum is the same number however the history was pruned.
 */
interface Events {
  list: Event[];
  /** The events' times (searched without reaching into each event). */
  ts: number[];
  /** Their amounts (NaN: none). */
  am: number[];
  start: number;
  /** When the value was last seen (a counter of adds). */
  seen: number;
  /** Events with an amount. */
  n: number[];
  /** Their amounts in whole cents (an amount that is not whole cents adds 0 here and 1 to `x`). */
  c: number[];
  /** Amounts that are not whole cents (a window holding one sums its amounts one by one). */
  x: number[];
  /** Events labelled fraud. */
  f: number[];
}

/** Cents of an amount held exactly as whole cents (magnitude below 2^31 cents), else NaN. */
function centsOf(a: number): number {
  const c = Math.round(a * 100);
  return c / 100 === a && Math.abs(c) < 2 ** 31 ? c : NaN;
}

/**
 * The UTC hour (0–23) and weekday (0 = Sunday) of an epoch-ms time, as
 * `Date`'s getUTCHours and getUTCDay give them, without a `Date`.
 */
function utcHourDay(tMs: number): { hour: number; dow: number } {
  const hours = Math.floor(tMs / 3_600_000), days = Math.floor(tMs / DAY_MS);
  return { hour: ((hours % 24) + 24) % 24, dow: (((days + 4) % 7) + 7) % 7 }; // 1970-01-01 was a Thursday
}

/** A running count with an event of count `d` inserted before list index `at`. */
function insertCount(counts: number[], at: number, d: number): void {
  counts.splice(at + 1, 0, counts[at] + d);
  if (d !== 0) { for (let j = at + 2; j < counts.length; j++) counts[j] += d; }
}

/** Entries from `from` on, less the entry at `from` (whole numbers: exact). */
function rebased(counts: number[], from: number): number[] {
  const base = counts[from];
  const out = counts.slice(from);
  if (base !== 0) { for (let j = 0; j < out.length; j++) out[j] -= base; }
  return out;
}

/** A new, empty entity list. */
function newEvents(): Events {
  return { list: [], ts: [], am: [], start: 0, seen: 0, n: [0], c: [0], x: [0], f: [0] };
}

/**
 * Mean amount of `list[lo..hi)` (`n` of them with an amount): from the
 * whole cents when every amount is, else summed one by one (then from
 * amount / n terms if the sum overflows).
 */
function windowMean(ev: Events, lo: number, hi: number, n: number): number {
  if (ev.x[hi] === ev.x[lo]) return (ev.c[hi] - ev.c[lo]) / 100 / n;
  const am = ev.am;
  let sum = 0;
  for (let i = lo; i < hi; i++) {
    const a = am[i];
    if (a === a) sum += a;
  }
  if (Number.isFinite(sum)) return sum / n;
  // Amounts near the float64 range overflow their sum: a sum of amount / n terms stays finite.
  let mean = 0;
  for (let i = lo; i < hi; i++) {
    const a = am[i];
    if (a === a) mean += a / n;
  }
  return mean;
}

/** The values {@linkcode OnlineVelocity.features} computes, by feature name. */
export type VelocityValues = Record<string, number | null>;

/** First index i ≥ start with ts[i] ≥ t (binary search). */
function lowerBound(ev: Events, t: number): number {
  const ts = ev.ts;
  let lo = ev.start, hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ts[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first event after `t` (from the list's live start). */
function upperBound(ev: Events, t: number): number {
  const ts = ev.ts;
  let lo = ev.start, hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ts[mid] <= t) lo = mid + 1;
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
  readonly #maxEntities: number;
  readonly #maxEvents: number;
  readonly #clock: (() => number) | null;
  readonly #evicted: number[];
  #capped = 0;
  #tick = 0;
  #newest = -Infinity;
  #addsSinceSweep = 0;
  readonly #names: string[];
  readonly #scratch: Float64Array;
  readonly #windowsMs: number[];
  readonly #delayMs: number;
  /** Per entity column, the last value looked up and its list: `add` after `features` finds it again. */
  readonly #lastKey: (string | null)[];
  readonly #lastEvents: (Events | undefined)[];

  constructor(options: Required<VelocityOptions>, limits: HistoryLimits = {}) {
    this.options = options;
    this.#names = velocityColumnNames(options.entities, options);
    this.#windowsMs = options.windowsDays.map((w) => Math.round(w * DAY_MS));
    this.#delayMs = Math.round(options.delayDays * DAY_MS);
    this.#lastKey = options.entities.map(() => null);
    this.#lastEvents = options.entities.map(() => undefined);
    this.#scratch = new Float64Array(this.#names.length);
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

  /** The names {@linkcode features} gives, in the order {@linkcode featuresInto} writes them. */
  get names(): readonly string[] {
    return this.#names;
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
    const row = this.#scratch;
    this.featuresInto(tMs, entityValues, amount, { out: row, at: 0 });
    const out: VelocityValues = {};
    const names = this.#names;
    for (let k = 0; k < names.length; k++) out[names[k]] = row[k] === row[k] ? row[k] : null;
    return out;
  }

  /**
   * {@linkcode features} written into `into.out` from index `into.at`, in
   * the order of {@linkcode names}, NaN for a missing (null) value: what a
   * batch fills column after column without an object per transaction.
   */
  featuresInto(
    tMs: number,
    entityValues: (string | null)[],
    amount: number | null,
    into: { out: Float64Array; at: number },
  ): void {
    if (this.options.rules === "handbook") {
      this.#handbook(tMs, entityValues, amount, into.out, into.at);
      return;
    }
    const out = into.out;
    let k = into.at;
    const windows = this.#windowsMs, dMs = this.#delayMs, W = windows.length;
    const E = this.options.entities.length;
    for (let e = 0; e < E; e++) {
      const key = entityValues[e];
      const ev = this.#lookup(e, key);
      // [t − w, t) and [t − delay − w, t − delay): the windows' common ends.
      const end = ev ? lowerBound(ev, tMs) : 0, rEnd = ev ? lowerBound(ev, tMs - dMs) : 0;
      for (let wi = 0; wi < W; wi++) {
        if (key === null) {
          out[k++] = NaN;
          out[k++] = NaN;
          out[k++] = NaN;
          continue;
        }
        if (!ev) {
          out[k++] = 0;
          out[k++] = NaN;
          out[k++] = 0;
          continue;
        }
        const wMs = windows[wi];
        const lo = lowerBound(ev, tMs - wMs), rLo = lowerBound(ev, tMs - dMs - wMs);
        const n = ev.n[end] - ev.n[lo], all = rEnd - rLo;
        out[k++] = n;
        out[k++] = n === 0 ? NaN : windowMean(ev, lo, end, n);
        out[k++] = all > 0 ? (ev.f[rEnd] - ev.f[rLo]) / all : 0;
      }
    }
    if (this.options.calendar) {
      const { hour, dow } = utcHourDay(tMs);
      out[k++] = hour;
      out[k++] = hour < 6 ? 1 : 0;
      out[k++] = dow === 0 || dow === 6 ? 1 : 0;
    }
  }

  /** The Handbook's features (`HANDBOOK_RULES` in velocity.ts); `amount` is the current transaction's. */
  #handbook(
    tMs: number,
    entityValues: (string | null)[],
    amount: number | null,
    out: Float64Array,
    at: number,
  ): void {
    let k = at;
    const windows = this.#windowsMs, dMs = this.#delayMs, W = windows.length;
    const E = this.options.entities.length;
    for (let e = 0; e < E; e++) {
      const key = entityValues[e];
      const ev = this.#lookup(e, key);
      // The card's windows end before t; the others' at t − delay (inclusive).
      const end = ev ? lowerBound(ev, tMs) : 0, rEnd = ev ? upperBound(ev, tMs - dMs) : 0;
      for (let wi = 0; wi < W; wi++) {
        if (key === null) {
          out[k++] = NaN;
          out[k++] = NaN;
          continue;
        }
        const wMs = windows[wi];
        if (e === 0) {
          // (t − w, t), then the current transaction.
          const now = amount === null ? 0 : 1;
          let n = now, mean = amount ?? NaN;
          if (ev) {
            const lo = upperBound(ev, tMs - wMs);
            n += ev.n[end] - ev.n[lo];
            const cents = amount === null ? 0 : centsOf(amount);
            if (n === 0) mean = NaN;
            else if (ev.x[end] === ev.x[lo] && cents === cents) {
              mean = (ev.c[end] - ev.c[lo] + cents) / 100 / n;
            } else {
              let sum = amount ?? 0;
              for (let i = lo; i < end; i++) {
                const a = ev.am[i];
                if (a === a) sum += a;
              }
              mean = sum / n;
            }
          }
          out[k++] = n;
          out[k++] = n === 0 ? NaN : mean;
        } else {
          // (t − delay − w, t − delay]
          let all = 0, fraud = 0;
          if (ev) {
            const lo = upperBound(ev, tMs - dMs - wMs);
            all = rEnd - lo;
            fraud = ev.f[rEnd] - ev.f[lo];
          }
          out[k++] = all;
          out[k++] = all > 0 ? fraud / all : 0;
        }
      }
    }
    if (this.options.calendar) {
      const { hour, dow } = utcHourDay(tMs);
      out[k++] = dow === 0 || dow === 6 ? 1 : 0;
      out[k++] = hour <= 6 ? 1 : 0;
    }
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
    const event: Event = {
      fraud,
      id: id ?? null,
      refs: 0,
      l0: null,
      l1: null,
      more: null,
    };
    const cents = amount === null ? 0 : centsOf(amount);
    const dn = amount === null ? 0 : 1, dx = cents === cents ? 0 : 1, dc = dx ? 0 : cents;
    const df = fraud ? 1 : 0;
    if (tMs > this.#newest) this.#newest = tMs;
    const horizon = this.#horizon();
    if (tMs < horizon) return false; // already older than any window of now
    for (let e = 0; e < entityValues.length; e++) {
      const key = entityValues[e];
      if (key === null) continue;
      const map = this.#entities[e];
      let ev = this.#lookup(e, key);
      if (!ev) {
        if (map.size >= this.#maxEntities) this.#evictLeastRecent(e);
        map.set(key, ev = newEvents());
        this.#lastKey[e] = key;
        this.#lastEvents[e] = ev;
      }
      ev.seen = ++this.#tick;
      const list = ev.list;
      if (list.length === 0 || ev.ts[list.length - 1] <= tMs) {
        const m = list.length;
        list.push(event);
        ev.ts.push(tMs);
        ev.am.push(amount ?? NaN);
        ev.n.push(ev.n[m] + dn);
        ev.c.push(ev.c[m] + dc);
        ev.x.push(ev.x[m] + dx);
        ev.f.push(ev.f[m] + df);
      } else {
        // Out of order: insert after every event at the same time or earlier.
        const lo = upperBound(ev, tMs);
        list.splice(lo, 0, event);
        ev.ts.splice(lo, 0, tMs);
        ev.am.splice(lo, 0, amount ?? NaN);
        insertCount(ev.n, lo, dn);
        insertCount(ev.c, lo, dc);
        insertCount(ev.x, lo, dx);
        insertCount(ev.f, lo, df);
      }
      if (event.refs === 0) event.l0 = ev;
      else if (event.refs === 1) event.l1 = ev;
      else (event.more ??= []).push(ev);
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

  /** The list of value `key` of entity column `e` (undefined: none), the last one found kept at hand. */
  #lookup(e: number, key: string | null): Events | undefined {
    if (key === null) return undefined;
    if (key === this.#lastKey[e]) return this.#lastEvents[e];
    const ev = this.#entities[e].get(key);
    this.#lastKey[e] = key;
    this.#lastEvents[e] = ev;
    return ev;
  }

  /** Forgets the values kept at hand (after values leave a map). */
  #forgetLookups(): void {
    this.#lastKey.fill(null);
    this.#lastEvents.fill(undefined);
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
    this.#forgetLookups();
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
    this.#forgetLookups();
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
    if (event.fraud === fraud) return true;
    event.fraud = fraud;
    const d = fraud ? 1 : -1;
    const lists = [event.l0, event.l1, ...(event.more ?? [])];
    for (const ev of lists) {
      if (!ev) continue;
      // Its place in the list (from the live start; labels are rare, the count update as long).
      const i = ev.list.indexOf(event, ev.start);
      if (i >= 0) { for (let j = i + 1; j < ev.f.length; j++) ev.f[j] += d; }
    }
    return true;
  }

  /** Drops events older than `horizon` from the front of a list. */
  #prune(ev: Events, horizon: number): void {
    let s = ev.start;
    while (s < ev.ts.length && ev.ts[s] < horizon) s++;
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
      ev.ts = ev.ts.slice(to);
      ev.am = ev.am.slice(to);
      ev.n = rebased(ev.n, to);
      ev.c = rebased(ev.c, to);
      ev.x = rebased(ev.x, to);
      ev.f = rebased(ev.f, to);
      ev.start = 0;
    }
  }
}
