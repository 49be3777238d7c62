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
 * An entity value's events, ascending by time, in typed arrays (no object
 * per transaction: a history of millions of them would be as slow to
 * collect as it has objects), with a pruned prefix `[0, start)` and running
 * counts: entry i of `n`, `c`, `x` and `f` covers events `[0, i)`, so a
 * window's figure is the difference of two entries. Every count is a whole
 * number (amounts as whole cents), so a difference is exact whatever the
 * list held before the window: a window's sum is the same number however
 * the history was pruned.
 */
interface Events {
  /** Events held (`[0, len)`, the live ones from `start`). */
  len: number;
  start: number;
  /** When the value was last seen (a counter of adds). */
  seen: number;
  /** Times, ascending. */
  ts: Float64Array;
  /** Amounts (NaN: none). */
  am: Float64Array;
  /** The transaction's id slot (-1: no id), for labels and for forgetting ids. */
  slot: Int32Array;
  /** Events with an amount. */
  n: Int32Array;
  /** Their amounts in whole cents (an amount that is not whole cents adds 0 here and 1 to `x`). */
  c: Float64Array;
  /** Amounts that are not whole cents (a window holding one sums its amounts one by one). */
  x: Int32Array;
  /** Events labelled fraud. */
  f: Int32Array;
  /**
   * Where the last query's windows began and ended ({@linkcode windowBounds}),
   * for a later query at the same time or after: its bounds only move on.
   */
  cursor: Int32Array | null;
  /** The last query's time; NaN when the cursor is void (events moved). */
  cursorT: number;
}

/** Adds between two sweeps of every entity list ({@linkcode OnlineVelocity.sweep}). */
const SWEEP_ADDS = 50_000;

/** Room a new entity list starts with. */
const FIRST_CAPACITY = 8;

/**
 * The arrays of a list with room for `cap` events, on one buffer (one
 * allocation: a buffer costs far more to allocate than a view on it):
 * 40 bytes an event. The whole-number counts other than cents fit 32 bits
 * (a list is rebased whenever it is compacted, and holds at most
 * `maxEvents` plus its pruned part).
 */
function arrays(cap: number): Pick<Events, "ts" | "am" | "slot" | "n" | "c" | "x" | "f"> {
  const buf = new ArrayBuffer(cap * 8 * 2 + (cap + 1) * 8 + cap * 4 + (cap + 1) * 4 * 3 + 4);
  let at = 0;
  const f64 = (n: number) => {
    const a = new Float64Array(buf, at, n);
    at += n * 8;
    return a;
  };
  const i32 = (n: number) => {
    const a = new Int32Array(buf, at, n);
    at += n * 4;
    return a;
  };
  const ts = f64(cap), am = f64(cap), c = f64(cap + 1);
  return { ts, am, c, slot: i32(cap), n: i32(cap + 1), x: i32(cap + 1), f: i32(cap + 1) };
}

/** A new, empty entity list. */
function newEvents(): Events {
  return { len: 0, start: 0, seen: 0, cursor: null, cursorT: NaN, ...arrays(FIRST_CAPACITY) };
}

/** Entries `[from, from + n]` of running counts moved to the front, less the entry at `from`. */
function rebase(counts: Float64Array | Int32Array, from: number, n: number): void {
  const base = counts[from];
  for (let j = 0; j <= n; j++) counts[j] = counts[from + j] - base;
}

/**
 * Makes room for one more event: first by moving the live events to the
 * front (the counts rebased, exactly: they are whole numbers), else by
 * doubling the arrays.
 */
function makeRoom(ev: Events): void {
  const cap = ev.ts.length;
  if (ev.len < cap) return;
  const from = ev.start, live = ev.len - from;
  // Compacted once a quarter is pruned (amortized: each move pays for a quarter of new events),
  // else grown by half: a list holds at most about twice its live events.
  if (from * 4 >= cap) {
    ev.ts.copyWithin(0, from, ev.len);
    ev.am.copyWithin(0, from, ev.len);
    ev.slot.copyWithin(0, from, ev.len);
    ev.cursorT = NaN; // indices moved
    rebase(ev.n, from, live);
    rebase(ev.c, from, live);
    rebase(ev.x, from, live);
    rebase(ev.f, from, live);
    ev.len = live;
    ev.start = 0;
    return;
  }
  const next = arrays(Math.ceil(cap * 1.5));
  next.ts.set(ev.ts);
  next.am.set(ev.am);
  next.slot.set(ev.slot);
  next.n.set(ev.n);
  next.c.set(ev.c);
  next.x.set(ev.x);
  next.f.set(ev.f);
  Object.assign(ev, next);
}

/** Running counts with an event of count `d` inserted at index `i` of a list of `len`. */
function insertCount(p: Float64Array | Int32Array, i: number, len: number, d: number): void {
  if (i < len) p.copyWithin(i + 2, i + 1, len + 1);
  p[i + 1] = p[i] + d;
  if (d !== 0) { for (let j = i + 2; j <= len + 1; j++) p[j] += d; }
}

/**
 * Inserts an event with its counts: last when in order, else after every
 * event at the same time or earlier (the later ones move up).
 */
function insertEvent(
  ev: Events,
  e: { t: number; amount: number; slot: number; dn: number; dc: number; dx: number; df: number },
): void {
  makeRoom(ev); // first: compacting moves the events
  const len = ev.len;
  const i = len === 0 || ev.ts[len - 1] <= e.t ? len : upperBound(ev, e.t);
  if (i < len) {
    ev.cursorT = NaN; // indices moved
    ev.ts.copyWithin(i + 1, i, len);
    ev.am.copyWithin(i + 1, i, len);
    ev.slot.copyWithin(i + 1, i, len);
  }
  ev.ts[i] = e.t;
  ev.am[i] = e.amount;
  ev.slot[i] = e.slot;
  insertCount(ev.n, i, len, e.dn);
  insertCount(ev.c, i, len, e.dc);
  insertCount(ev.x, i, len, e.dx);
  insertCount(ev.f, i, len, e.df);
  ev.len = len + 1;
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

/** Bits set in a byte. */
function bits(b: number): number {
  let n = 0;
  for (; b; b &= b - 1) n++;
  return n;
}

/** The fraudlab rules' calendar features of a time into `out` from `k`: hour, is_night, is_weekend. */
function calendarInto(tMs: number, out: Float64Array, k: number): void {
  const { hour, dow } = utcHourDay(tMs);
  out[k] = hour;
  out[k + 1] = hour < 6 ? 1 : 0;
  out[k + 2] = dow === 0 || dow === 6 ? 1 : 0;
}

/**
 * Mean amount of events `[lo, hi)` (`n` of them with an amount): from the
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

/** The first index in `[ev.start, to]` with a time ≥ t, every time from `to` on being so. */
function lowerBound(ev: Events, t: number, to = ev.len): number {
  const ts = ev.ts;
  let lo = ev.start, hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ts[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index in `[ev.start, to]` with a time > t, every time from `to` on being so. */
function upperBound(ev: Events, t: number, to = ev.len): number {
  const ts = ev.ts;
  let lo = ev.start, hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ts[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The fraudlab windows' bounds of a query at `t`, into `ev.cursor`: at 0
 * the first event at t or after, at 1 the first at t − delay or after, at
 * 2 + w the first at t − w or after, at 2 + W + w the first at
 * t − delay − w or after (w over the windows, in ms). The same indices
 * {@linkcode lowerBound} gives; a query at or after the last one moves each
 * bound on from where it was (a file scored in time order: a step or two
 * per bound, against a binary search), any other searches afresh.
 */
function windowBounds(ev: Events, t: number, windows: number[], dMs: number): Int32Array {
  const W = windows.length;
  let c = ev.cursor;
  if (!c) c = ev.cursor = new Int32Array(2 + 2 * W);
  const ts = ev.ts, len = ev.len, start = ev.start;
  if (t >= ev.cursorT) {
    const move = (k: number, target: number) => {
      let p = c![k] < start ? start : c![k];
      while (p < len && ts[p] < target) p++;
      c![k] = p;
    };
    move(0, t);
    move(1, t - dMs);
    for (let w = 0; w < W; w++) {
      move(2 + w, t - windows[w]);
      move(2 + W + w, t - dMs - windows[w]);
    }
  } else {
    c[0] = lowerBound(ev, t);
    c[1] = lowerBound(ev, t - dMs, c[0]);
    for (let w = 0; w < W; w++) {
      c[2 + w] = lowerBound(ev, t - windows[w], c[0]);
      c[2 + W + w] = lowerBound(ev, t - dMs - windows[w], c[1]);
    }
  }
  ev.cursorT = t;
  return c;
}

/**
 * One entity column of a {@linkcode VelocityBatch}, grouped by value: the
 * rows `order[starts[r]], …, order[starts[r + 1] − 1]` hold value `keys[r]`
 * (null: missing), ascending within a value. {@linkcode entityRunsOf}
 * builds it from row values; a caller holding a frame may sort there.
 */
export interface EntityRuns {
  keys: (string | null)[];
  /** `keys.length + 1` offsets into `order`. */
  starts: Uint32Array;
  /** Every row of the batch once. */
  order: Uint32Array;
}

/** Transactions given to {@linkcode OnlineVelocity.batchInto}, in arrival order. */
export interface VelocityBatch {
  /** Event times (epoch ms); a row not skipped needs a finite one. */
  times: Float64Array;
  /** Per entity column (the history's `entities` order), its values grouped. */
  entities: EntityRuns[];
  /** Amounts (NaN: none), or null when there are none. */
  amounts: Float64Array | null;
  /** Transaction ids (null: none), or null when there are none. */
  ids: (string | null)[] | null;
  /** 1 for a row neither featured nor remembered (refused), or null. */
  skip: Uint8Array | null;
}

/**
 * {@linkcode EntityRuns} from one value per row (null: missing), grouped by
 * value in order of first appearance.
 */
export function entityRunsOf(values: (string | null)[]): EntityRuns {
  const at = new Map<string | null, number>();
  const keys: (string | null)[] = [];
  const run = new Uint32Array(values.length);
  const counts: number[] = [];
  for (let i = 0; i < values.length; i++) {
    let r = at.get(values[i]);
    if (r === undefined) {
      at.set(values[i], r = keys.length);
      keys.push(values[i]);
      counts.push(0);
    }
    run[i] = r;
    counts[r]++;
  }
  const starts = new Uint32Array(keys.length + 1);
  for (let r = 0; r < keys.length; r++) starts[r + 1] = starts[r] + counts[r];
  const next = starts.slice(0, keys.length), order = new Uint32Array(values.length);
  for (let i = 0; i < values.length; i++) order[next[run[i]]++] = i;
  return { keys, starts, order };
}

/** Entity history for online velocity features. */
export class OnlineVelocity {
  readonly options: Required<VelocityOptions>;
  readonly #entities: Map<string, Events>[];
  /** Remembered ids → their slot. */
  readonly #byId = new Map<string, number>();
  /** Per slot: the id, its entity values (to find its lists), how many lists hold it, its label. */
  #slotId: (string | null)[] = [];
  readonly #slotKeys: (string | null)[][];
  #slotRefs = new Uint8Array(1024);
  #slotFraud = new Uint8Array(1024);
  readonly #freeSlots: number[] = [];
  /** The slot of the transaction `add` is adding (-1: none). */
  #adding = -1;
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
    this.#slotKeys = options.entities.map(() => []);
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

  /** Whether a transaction with this id is remembered (a second one would not count). */
  remembers(id: string): boolean {
    return this.#byId.has(id);
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
    const E = this.options.entities.length, per = 3 * this.#windowsMs.length;
    for (let e = 0; e < E; e++, k += per) {
      const key = entityValues[e];
      this.#entityInto(key === null ? null : this.#lookup(e, key), key === null, tMs, out, k);
    }
    if (this.options.calendar) calendarInto(tMs, out, k);
  }

  /**
   * One entity value's features at `tMs` (fraudlab rules) into `out` from
   * `k`: per window its count, mean amount and risk; all NaN for a missing
   * value, none counted for a value with no list.
   */
  #entityInto(
    ev: Events | undefined | null,
    missing: boolean,
    tMs: number,
    out: Float64Array,
    k: number,
  ): void {
    const windows = this.#windowsMs, W = windows.length;
    if (missing || !ev) {
      for (let wi = 0; wi < W; wi++) {
        out[k++] = missing ? NaN : 0;
        out[k++] = NaN;
        out[k++] = missing ? NaN : 0;
      }
      return;
    }
    // [t − w, t) and [t − delay − w, t − delay): the windows' bounds.
    const b = windowBounds(ev, tMs, windows, this.#delayMs);
    const end = b[0], rEnd = b[1];
    for (let wi = 0; wi < W; wi++) {
      const lo = b[2 + wi], rLo = b[2 + W + wi];
      const n = ev.n[end] - ev.n[lo], all = rEnd - rLo;
      out[k++] = n;
      out[k++] = n === 0 ? NaN : windowMean(ev, lo, end, n);
      out[k++] = all > 0 ? (ev.f[rEnd] - ev.f[rLo]) / all : 0;
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
            const lo = upperBound(ev, tMs - wMs, end);
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
            const lo = upperBound(ev, tMs - dMs - wMs, rEnd);
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
    if (tMs > this.#newest) this.#newest = tMs;
    const horizon = this.#horizon();
    if (tMs < horizon) return false; // already older than any window of now
    const cents = amount === null ? 0 : centsOf(amount);
    const dx = amount !== null && cents !== cents ? 1 : 0;
    const event = {
      t: tMs,
      amount: amount ?? NaN,
      slot: -1,
      dn: amount === null ? 0 : 1,
      dc: dx ? 0 : cents,
      dx,
      df: fraud ? 1 : 0,
    };
    let held = 0;
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
      if (id != null && event.slot < 0) this.#adding = event.slot = this.#newSlot(id, fraud);
      insertEvent(ev, event);
      held++;
      if (event.slot >= 0) {
        this.#slotRefs[event.slot]++;
        this.#slotKeys[e][event.slot] = key;
      }
      this.#prune(ev, horizon);
      if (ev.len - ev.start > this.#maxEvents) {
        this.#capped++;
        this.#drop(ev, ev.start + 1);
      }
    }
    this.#adding = -1;
    if (event.slot >= 0) {
      if (this.#slotRefs[event.slot] === 0) {
        this.#freeSlot(event.slot); // a full list already dropped it again
        return false;
      }
      this.#byId.set(id!, event.slot);
    }
    if (held === 0) return false;
    if (++this.#addsSinceSweep >= SWEEP_ADDS) this.sweep();
    return true;
  }

  /**
   * {@linkcode featuresInto} then {@linkcode add} for each row of a batch in
   * arrival order (skipped rows neither), the features into `out`: one
   * column per name of {@linkcode names}, indexed by row. Returns how it went about it:
   *
   * - `"grouped"`: value after value of each entity column, each value's
   *   rows in order. An entity value's features depend only on its own
   *   events, so this gives every row the numbers row after row would,
   *   with one lookup per value instead of per row and each value's lists
   *   at hand (the window bounds move a step at a time). Taken when
   *   nothing couples the values within the batch: the fraudlab rules, no
   *   clock, the rows in time order from the newest time seen on (pruning
   *   then never reaches a window still to be asked), no id already
   *   remembered or given twice, and no limit reached (entities per column,
   *   events per value). Each list is pruned when it is added to, as row
   *   after row, and the sweep row after row would have made last is made
   *   at the end (the rows after it only added to their lists): the same
   *   ids are remembered after, and late labels reach the same transactions.
   * - `"rows"`: row after row, otherwise.
   */
  batchInto(batch: VelocityBatch, out: Float64Array[]): "grouped" | "rows" {
    const n = batch.times.length, m = this.#names.length, E = this.options.entities.length;
    if (batch.entities.length !== E) {
      throw new RangeError(`a batch needs ${E} entity columns, got ${batch.entities.length}`);
    }
    if (out.length !== m || out.some((c) => c.length < n)) {
      throw new RangeError(`a batch of ${n} needs ${m} output columns of at least ${n} values`);
    }
    const skip = batch.skip;
    for (let i = 0; i < n; i++) {
      if (!(skip && skip[i]) && !Number.isFinite(batch.times[i])) {
        throw new RangeError(`row ${i} has no finite time and is not skipped`);
      }
    }
    if (this.#grouped(batch, out)) return "grouped";
    const values: (string | null)[][] = batch.entities.map((r) => {
      const v: (string | null)[] = new Array(n).fill(null);
      for (let k = 0; k < r.keys.length; k++) {
        for (let j = r.starts[k]; j < r.starts[k + 1]; j++) v[r.order[j]] = r.keys[k];
      }
      return v;
    });
    const row: (string | null)[] = new Array(E);
    const into = { out: new Float64Array(m), at: 0 };
    const { amounts, ids } = batch;
    for (let i = 0; i < n; i++) {
      if (skip && skip[i]) continue;
      for (let e = 0; e < E; e++) row[e] = values[e][i];
      const a = amounts ? amounts[i] : NaN, t = batch.times[i];
      this.featuresInto(t, row, a !== a ? null : a, into);
      for (let k = 0; k < m; k++) out[k][i] = into.out[k];
      this.add(t, row, a !== a ? null : a, ids ? ids[i] : null);
    }
    return "rows";
  }

  /** The grouped way of {@linkcode batchInto}; false (nothing changed) when it does not apply. */
  #grouped(batch: VelocityBatch, out: Float64Array[]): boolean {
    const { times, skip, amounts, ids } = batch;
    const n = times.length, E = this.options.entities.length;
    if (this.options.rules === "handbook" || this.#clock || E > 8) return false; // a byte per row: E ≤ 8
    // In time order, from the newest time seen on.
    let first = NaN, last = this.#newest;
    for (let i = 0; i < n; i++) {
      if (skip && skip[i]) continue;
      const t = times[i];
      if (t < last) return false;
      if (first !== first) first = t;
      last = t;
    }
    if (first !== first) return true; // every row skipped
    // Which entity columns of each row hold a value (bit e; those rows are remembered), and no
    // limit reached.
    const held = new Uint8Array(n);
    const lists: (Events | undefined)[][] = [];
    for (let e = 0; e < E; e++) {
      const r = batch.entities[e], map = this.#entities[e];
      const evs: (Events | undefined)[] = new Array(r.keys.length);
      let fresh = 0;
      for (let k = 0; k < r.keys.length; k++) {
        const key = r.keys[k];
        let rows = 0;
        for (let j = r.starts[k]; j < r.starts[k + 1]; j++) {
          const i = r.order[j];
          if (skip && skip[i]) continue;
          rows++;
          if (key !== null) held[i] |= 1 << e;
        }
        if (key === null || rows === 0) continue;
        const ev = evs[k] = map.get(key);
        if (!ev) fresh++;
        if ((ev ? ev.len - ev.start : 0) + rows > this.#maxEvents) return false;
      }
      if (map.size + fresh > this.#maxEntities) return false;
      lists.push(evs);
    }
    // Ids: none remembered or twice; each row holding a value gets its slot now.
    let slots: Int32Array | null = null;
    if (ids) {
      slots = new Int32Array(n).fill(-1);
      for (let i = 0; i < n; i++) {
        const id = ids[i];
        if (id == null || (skip && skip[i])) continue;
        if (this.#byId.has(id)) {
          for (let h = 0; h < i; h++) {
            if (slots[h] >= 0) this.#freeSlot(slots[h]);
          }
          return false;
        }
        if (held[i] === 0) continue; // no list would hold it: not remembered
        const s = slots[i] = this.#newSlot(id, false);
        this.#byId.set(id, s);
      }
    }
    // Each value's `seen` as row after row would leave it: the count of adds at its last row.
    const before = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) before[i + 1] = before[i] + (skip && skip[i] ? 0 : bits(held[i]));
    // Amounts as events once for all entity columns: whole cents, or not (dx), or none.
    const cents = new Float64Array(n), kind = new Uint8Array(n); // 0 none, 1 cents, 2 not cents
    if (amounts) {
      for (let i = 0; i < n; i++) {
        const a = amounts[i];
        if (a !== a) continue;
        const c = centsOf(a);
        if (c === c) {
          cents[i] = c;
          kind[i] = 1;
        } else kind[i] = 2;
      }
    }
    const tick0 = this.#tick;
    this.#forgetLookups();
    const event = { t: 0, amount: NaN, slot: -1, dn: 0, dc: 0, dx: 0, df: 0 };
    const per = 3 * this.#windowsMs.length, row = new Float64Array(per), retain = this.#retainMs;
    for (let e = 0; e < E; e++) {
      const r = batch.entities[e], map = this.#entities[e], evs = lists[e];
      const cols = out.slice(e * per, (e + 1) * per), below = (1 << e) - 1;
      for (let k = 0; k < r.keys.length; k++) {
        const key = r.keys[k], from = r.starts[k], to = r.starts[k + 1];
        if (key === null) {
          this.#entityInto(null, true, 0, row, 0);
          for (let j = from; j < to; j++) {
            const i = r.order[j];
            if (!(skip && skip[i])) { for (let q = 0; q < per; q++) cols[q][i] = row[q]; }
          }
          continue;
        }
        let ev = evs[k], lastRow = -1;
        for (let j = from; j < to; j++) {
          const i = r.order[j];
          if (skip && skip[i]) continue;
          const t = times[i];
          this.#entityInto(ev, false, t, row, 0);
          for (let q = 0; q < per; q++) cols[q][i] = row[q];
          if (!ev) map.set(key, ev = newEvents());
          const how = kind[i];
          event.t = t;
          event.amount = how === 0 ? NaN : amounts![i];
          event.slot = slots ? slots[i] : -1;
          event.dn = how === 0 ? 0 : 1;
          event.dc = cents[i];
          event.dx = how === 2 ? 1 : 0;
          insertEvent(ev, event);
          if (event.slot >= 0) {
            this.#slotRefs[event.slot]++;
            this.#slotKeys[e][event.slot] = key;
          }
          this.#prune(ev, t - retain); // as `add` prunes: the newest time is this row's
          lastRow = i;
        }
        if (ev && lastRow >= 0) ev.seen = tick0 + before[lastRow] + bits(held[lastRow] & below) + 1;
      }
    }
    if (this.options.calendar) {
      const cal = out.slice(E * per), three = new Float64Array(3);
      for (let i = 0; i < n; i++) {
        if (skip && skip[i]) continue;
        calendarInto(times[i], three, 0);
        cal[0][i] = three[0];
        cal[1][i] = three[1];
        cal[2][i] = three[2];
      }
    }
    this.#tick = tick0 + before[n];
    this.#newest = Math.max(this.#newest, last);
    // The sweeps row after row would have made: the last one's pruning and forgetting of emptied
    // values leaves the same (the rows after it only added to their values' lists).
    let sweepAt = NaN;
    for (let i = 0; i < n; i++) {
      if (held[i] > 0 && !(skip && skip[i]) && ++this.#addsSinceSweep >= SWEEP_ADDS) {
        this.#addsSinceSweep = 0;
        sweepAt = times[i];
      }
    }
    if (sweepAt === sweepAt) this.#sweep(sweepAt - this.#retainMs);
    return true;
  }

  /** A slot for a new id (reused when one is free). */
  #newSlot(id: string, fraud: boolean): number {
    let s = this.#freeSlots.pop();
    if (s === undefined) {
      s = this.#slotId.length;
      this.#slotId.push(null);
      for (const keys of this.#slotKeys) keys.push(null);
      if (s >= this.#slotRefs.length) {
        const refs = new Uint8Array(this.#slotRefs.length * 2), fr = new Uint8Array(refs.length);
        refs.set(this.#slotRefs);
        fr.set(this.#slotFraud);
        this.#slotRefs = refs;
        this.#slotFraud = fr;
      }
    }
    this.#slotId[s] = id;
    for (const keys of this.#slotKeys) keys[s] = null;
    this.#slotRefs[s] = 0;
    this.#slotFraud[s] = fraud ? 1 : 0;
    return s;
  }

  /** Forgets a slot's id and frees it. */
  #freeSlot(s: number): void {
    const id = this.#slotId[s];
    if (id !== null && this.#byId.get(id) === s) this.#byId.delete(id);
    this.#slotId[s] = null;
    for (const keys of this.#slotKeys) keys[s] = null;
    this.#freeSlots.push(s);
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
        this.#drop(ev, ev.len);
        this.#evicted[e]++;
      }
    }
  }

  /** Prunes every entity (also those not seen lately) and forgets empty ones. */
  sweep(): void {
    this.#addsSinceSweep = 0;
    this.#sweep(this.#horizon());
  }

  #sweep(horizon: number): void {
    this.#forgetLookups();
    for (const map of this.#entities) {
      for (const [key, ev] of map) {
        this.#prune(ev, horizon);
        if (ev.start >= ev.len) map.delete(key);
      }
    }
  }

  /** Records a late label; false when the transaction is not (or no longer) remembered. */
  label(id: string, fraud: boolean): boolean {
    const slot = this.#byId.get(id);
    if (slot === undefined) return false;
    const now = fraud ? 1 : 0;
    if (this.#slotFraud[slot] === now) return true;
    this.#slotFraud[slot] = now;
    const d = fraud ? 1 : -1;
    for (let e = 0; e < this.#entities.length; e++) {
      const key: string | null = this.#slotKeys[e][slot];
      const ev: Events | undefined = key === null ? undefined : this.#entities[e].get(key);
      if (!ev) continue;
      // Its place in the list (from the live start; labels are rare, the count update as long).
      for (let i: number = ev.start; i < ev.len; i++) {
        if (ev.slot[i] !== slot) continue;
        for (let j = i + 1; j <= ev.len; j++) ev.f[j] += d;
        break;
      }
    }
    return true;
  }

  /** Drops events older than `horizon` from the front of a list. */
  #prune(ev: Events, horizon: number): void {
    let s = ev.start;
    while (s < ev.len && ev.ts[s] < horizon) s++;
    if (s !== ev.start) this.#drop(ev, s);
  }

  /** Drops the list's events before index `to`; an id no list holds any more is forgotten. */
  #drop(ev: Events, to: number): void {
    for (let i = ev.start; i < to; i++) {
      const s = ev.slot[i];
      // The transaction being added may leave a full list and still enter the next one.
      if (s >= 0 && --this.#slotRefs[s] === 0 && s !== this.#adding) this.#freeSlot(s);
    }
    ev.start = to;
  }
}
