/**
 * The transaction simulator behind the `txsim` dataset: customers and
 * terminals on a 100 × 100 km map, a daily card transaction process, four
 * fraud scenarios and optional drift scenarios that change the world from a
 * given date. Deterministic: the same options give the same rows.
 *
 * Hand-written (no package simulates card fraud); the world is modelled on the
 * transaction generator of the Fraud Detection Handbook (Le Borgne et al.,
 * 2022): customers with a home location, a spending profile and the terminals
 * within reach; terminals with a location and a merchant category.
 *
 * Fraud scenarios (`fraud_scenario` column; 0 = genuine):
 * 1. `large_amount`: a stolen card used once for a purchase far above the
 *    card's habits (600–2500) at a card-present terminal away from home.
 * 2. `compromised_terminal`: a skimmed terminal; every transaction on it for
 *    the next 28 days is fraud. The transactions look normal: only the
 *    terminal's fraud history (a delayed-label feature) reveals them.
 * 3. `compromised_card`: card details stolen; for 14 days a third of the
 *    card's transactions are fraud: card-not-present, amount × 3–6, a risky
 *    device, far from home.
 * 4. `card_testing`: a burst of 5–15 tiny online payments within 20 minutes
 *    from one risky device: caught by velocity features.
 * 5. `night_takeover` (only with the `new_fraud` drift): account takeover
 *    with night-time online purchases of electronics and travel at the card's
 *    usual amounts from a clean-looking device.
 *
 * One file: the world (customers, terminals, fraud and drift scenarios)
 * draws from one seeded stream in a fixed order; split across files, that
 * order would be implicit.
 * @module
 */
import pl from "nodejs-polars";
import type { Frame } from "./frame.ts";
import { Rng } from "../util/rng.ts";
import { progress } from "../util/progress.ts";
import { UserError } from "../util/errors.ts";
import { DAY_MS } from "../util/time.ts";

/** Merchant categories, in code order. */
export const MERCHANT_CATEGORIES = [
  "grocery",
  "restaurant",
  "fuel",
  "retail",
  "electronics",
  "travel",
  "entertainment",
  "digital_services",
] as const;

/** Channel names, in code order. */
export const CHANNELS = ["card_present", "online"] as const;

/** Drift scenarios that change the simulated world from a date on. */
export const DRIFT_SCENARIOS = [
  "amount_inflation",
  "new_fraud",
  "channel_shift",
  "category_shift",
] as const;

/** One drift scenario name. */
export type DriftScenario = typeof DRIFT_SCENARIOS[number];

/**
 * A drift scenario, the date (YYYY-MM-DD, UTC) it starts on and its
 * intensity (default 1): amount_inflation multiplies amounts by
 * 1 + 0.25 × intensity, channel_shift multiplies online popularity by
 * 1 + intensity, category_shift raises its category multipliers to the
 * power intensity, new_fraud multiplies the takeover rate by intensity.
 */
export interface DriftEvent {
  /** Which change of the world. */
  scenario: DriftScenario;
  /** First day it applies (YYYY-MM-DD). */
  from: string;
  /** How strong (scenario-specific; default 1). */
  intensity?: number;
}

/** Options for {@linkcode simulateTransactions}. */
export interface SimulateOptions {
  /** Number of customers (cards). Default 5000. */
  customers?: number;
  /** Number of terminals. Default max(50, customers / 5). */
  terminals?: number;
  /** Number of days. Default 90. */
  days?: number;
  /** First day, YYYY-MM-DD (UTC). Default 2025-01-01. */
  start?: string;
  /** Seed for every random choice. Default 0. */
  seed?: number;
  /** Drift events. Default none. */
  drift?: DriftEvent[];
  /** Suppress the progress display. */
  quiet?: boolean;
}

const K = MERCHANT_CATEGORIES.length;
/** Amount multiplier per category (grocery … digital_services). */
const CATEGORY_AMOUNT = [0.6, 0.5, 0.7, 1.0, 2.0, 2.5, 0.8, 0.4];
/** Base popularity per category for card-present and online purchases. */
const CATEGORY_POP_PRESENT = [3, 2.5, 1.5, 2, 0.6, 0.3, 1, 0];
const CATEGORY_POP_ONLINE = [0.3, 0.4, 0, 2, 1.5, 1, 1, 2.5];
/** category_shift: multipliers on category popularity. */
const CATEGORY_SHIFT = [0.6, 0.7, 1, 1, 3, 2, 1, 3];
const REACH_KM = 5;
const CAT_ELECTRONICS = 4, CAT_TRAVEL = 5, CAT_DIGITAL = 7;

/** Per-day probabilities of fraud events (per terminal or per customer). */
const P_COMPROMISE_TERMINAL = 0.0002;
const P_COMPROMISE_CARD = 0.0003;
const P_CARD_TESTING = 0.00008;
const P_LARGE_AMOUNT = 0.0002;
const P_NIGHT_TAKEOVER = 0.0006;

/** Parses YYYY-MM-DD to UTC epoch ms, or throws a UserError naming `what`. */
export function parseDay(value: string, what: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
    throw new UserError(`${what}: expected a date YYYY-MM-DD, got "${value}"`);
  }
  return ms;
}

/**
 * Parses a `--drift SCENARIO[:INTENSITY][@YYYY-MM-DD]` value; without a date
 * the drift starts halfway through the simulated range.
 *
 * @param value the flag's value
 * @param range the simulated range: first day (YYYY-MM-DD) and days
 * @returns the drift event
 *
 * @example
 * ```ts
 * import { parseDrift } from "./simulate.ts";
 * console.log(parseDrift("new_fraud:2", { start: "2025-01-01", days: 60 }));
 * // { scenario: "new_fraud", from: "2025-01-31", intensity: 2 }
 * ```
 */
export function parseDrift(
  value: string,
  range: { start: string; days: number },
): DriftEvent {
  const { start, days } = range;
  const [head, date] = value.split("@");
  const [name, level] = head.split(":");
  const intensity = level === undefined ? 1 : Number(level);
  if (!(Number.isFinite(intensity) && intensity > 0 && intensity <= 100)) {
    throw new UserError(`--drift ${value}: intensity must be a number in (0, 100], got "${level}"`);
  }
  if (!(DRIFT_SCENARIOS as readonly string[]).includes(name)) {
    throw new UserError(
      `--drift: unknown scenario "${name}" (known: ${DRIFT_SCENARIOS.join(", ")})`,
    );
  }
  const from = date ??
    new Date(parseDay(start, "--start") + Math.floor(days / 2) * DAY_MS).toISOString().slice(0, 10);
  parseDay(from, `--drift ${name}`);
  return { scenario: name as DriftScenario, from, ...(level === undefined ? {} : { intensity }) };
}

/** Growable columns of the transactions being generated. */
class Columns {
  n = 0;
  time = new Float64Array(1024);
  customer = new Int32Array(1024);
  terminal = new Int32Array(1024);
  amount = new Float64Array(1024);
  channel = new Uint8Array(1024);
  category = new Uint8Array(1024);
  device = new Float64Array(1024);
  distance = new Float64Array(1024);
  scenario = new Uint8Array(1024);

  constructor(capacity: number) {
    this.#resize(Math.max(1024, capacity));
  }

  #resize(cap: number) {
    const grow = <T extends Float64Array | Int32Array | Uint8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      b.set(a.subarray(0, Math.min(this.n, cap)));
      return b;
    };
    this.time = grow(this.time);
    this.customer = grow(this.customer);
    this.terminal = grow(this.terminal);
    this.amount = grow(this.amount);
    this.channel = grow(this.channel);
    this.category = grow(this.category);
    this.device = grow(this.device);
    this.distance = grow(this.distance);
    this.scenario = grow(this.scenario);
  }

  push(
    time: number,
    customer: number,
    terminal: number,
    amount: number,
    channel: number,
    category: number,
    device: number,
    distance: number,
    scenario: number,
  ): void {
    if (this.n === this.time.length) this.#resize(this.n * 2);
    const i = this.n++;
    this.time[i] = time;
    this.customer[i] = customer;
    this.terminal[i] = terminal;
    this.amount[i] = amount;
    this.channel[i] = channel;
    this.category[i] = category;
    this.device[i] = device;
    this.distance[i] = distance;
    this.scenario[i] = scenario;
  }

  /** Appends all rows of `day` in time order (ties by insertion order) and empties it. */
  appendSorted(day: Columns): void {
    const order = new Uint32Array(day.n);
    for (let i = 0; i < day.n; i++) order[i] = i;
    order.sort((a, b) => day.time[a] - day.time[b] || a - b);
    for (const i of order) {
      this.push(
        day.time[i],
        day.customer[i],
        day.terminal[i],
        day.amount[i],
        day.channel[i],
        day.category[i],
        day.device[i],
        day.distance[i],
        day.scenario[i],
      );
    }
    day.n = 0;
  }
}

/** The static world: customer profiles and terminals. */
interface World {
  cx: Float64Array;
  cy: Float64Array;
  meanAmount: Float64Array;
  rate: Float64Array;
  onlineShare: Float64Array;
  /** customers × K category preferences. */
  pref: Float64Array;
  tx: Float64Array;
  ty: Float64Array;
  tOnline: Uint8Array;
  tCategory: Uint8Array;
  /** CSR: per customer and category, the nearby physical terminals. */
  nearStart: Int32Array;
  near: Int32Array;
  /** Online terminals per category. */
  online: Int32Array[];
  physical: Int32Array;
}

function buildWorld(rng: Rng, customers: number, terminals: number): World {
  const cx = new Float64Array(customers), cy = new Float64Array(customers);
  const meanAmount = new Float64Array(customers), rate = new Float64Array(customers);
  const onlineShare = new Float64Array(customers), pref = new Float64Array(customers * K);
  for (let c = 0; c < customers; c++) {
    cx[c] = rng.uniform(0, 100);
    cy[c] = rng.uniform(0, 100);
    meanAmount[c] = rng.uniform(5, 100);
    rate[c] = rng.uniform(0.2, 4);
    onlineShare[c] = rng.uniform(0.05, 0.45);
    for (let k = 0; k < K; k++) pref[c * K + k] = rng.uniform(0.2, 1.8);
  }
  const tx = new Float64Array(terminals), ty = new Float64Array(terminals);
  const tOnline = new Uint8Array(terminals), tCategory = new Uint8Array(terminals);
  const cumPresent = cumulative(CATEGORY_POP_PRESENT), cumOnline = cumulative(CATEGORY_POP_ONLINE);
  for (let t = 0; t < terminals; t++) {
    tx[t] = rng.uniform(0, 100);
    ty[t] = rng.uniform(0, 100);
    tOnline[t] = rng.bernoulli(0.2) ? 1 : 0;
    tCategory[t] = rng.weighted(tOnline[t] ? cumOnline : cumPresent);
  }
  const physicalList: number[] = [];
  const onlineLists: number[][] = Array.from({ length: K }, () => []);
  for (let t = 0; t < terminals; t++) {
    if (tOnline[t]) onlineLists[tCategory[t]].push(t);
    else physicalList.push(t);
  }
  if (physicalList.length === 0 || onlineLists.every((l) => l.length === 0)) {
    throw new UserError(
      `--terminals ${terminals}: too few terminals to have both kinds; use 50 or more`,
    );
  }
  // Nearby physical terminals per customer, grouped by category (CSR).
  const nearStart = new Int32Array(customers * K + 1);
  const near: number[] = [];
  const byCat: number[][] = Array.from({ length: K }, () => []);
  const dist = new Float64Array(physicalList.length);
  for (let c = 0; c < customers; c++) {
    for (const l of byCat) l.length = 0;
    let found = 0;
    for (let j = 0; j < physicalList.length; j++) {
      const t = physicalList[j];
      dist[j] = Math.hypot(tx[t] - cx[c], ty[t] - cy[c]);
      if (dist[j] <= REACH_KM) {
        byCat[tCategory[t]].push(t);
        found++;
      }
    }
    if (found === 0) {
      // A customer with nothing in reach shops at the nearest terminal.
      let best = 0;
      for (let j = 1; j < physicalList.length; j++) if (dist[j] < dist[best]) best = j;
      byCat[tCategory[physicalList[best]]].push(physicalList[best]);
    }
    // For a category with nothing in reach, the customer travels to its nearest terminal.
    for (let k = 0; k < K; k++) {
      if (byCat[k].length > 0) continue;
      let best = -1;
      for (let j = 0; j < physicalList.length; j++) {
        if (tCategory[physicalList[j]] === k && (best < 0 || dist[j] < dist[best])) best = j;
      }
      if (best >= 0) byCat[k].push(physicalList[best]);
    }
    for (let k = 0; k < K; k++) {
      nearStart[c * K + k] = near.length;
      near.push(...byCat[k]);
    }
  }
  nearStart[customers * K] = near.length;
  return {
    cx,
    cy,
    meanAmount,
    rate,
    onlineShare,
    pref,
    tx,
    ty,
    tOnline,
    tCategory,
    nearStart,
    near: Int32Array.from(near),
    online: onlineLists.map((l) => Int32Array.from(l)),
    physical: Int32Array.from(physicalList),
  };
}

function cumulative(weights: ArrayLike<number>): Float64Array {
  const out = new Float64Array(weights.length);
  let s = 0;
  for (let i = 0; i < weights.length; i++) out[i] = s += weights[i];
  return out;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A time of day in seconds, busiest around noon (normal, sd 20,000 s, redrawn outside the day). */
function timeOfDay(rng: Rng): number {
  for (;;) {
    const s = Math.floor(rng.normal(43_200, 20_000));
    if (s >= 0 && s < 86_400) return s;
  }
}

/** Largest customers, terminals or days the simulator takes. */
export const SIMULATE_MAX = 10_000_000;

/**
 * Simulates card transactions. Returns a frame in time order with columns
 * tx_id, tx_time (Datetime ms, UTC), customer_id, terminal_id, amount,
 * channel, merchant_category, device_risk (null for card-present),
 * distance_from_home (km), is_fraud (0/1) and fraud_scenario (0–5).
 *
 * @param options size, dates, seed and drift scenarios
 * @returns the transactions
 *
 * @example
 * ```ts
 * import { simulateTransactions } from "./simulate.ts";
 * const frame = simulateTransactions({ customers: 100, days: 10, seed: 7 });
 * console.log(frame.height, frame.columns.length);
 * ```
 */
export function simulateTransactions(options: SimulateOptions = {}): Frame {
  const customers = options.customers ?? 5000;
  const terminals = options.terminals ?? Math.max(50, Math.round(customers / 5));
  const days = options.days ?? 90;
  const start = options.start ?? "2025-01-01";
  const startMs = parseDay(start, "--start");
  for (
    const [name, v] of [["customers", customers], ["terminals", terminals], ["days", days]] as const
  ) {
    // Bounded: each is an array length (customers and terminals) or a day loop.
    if (!Number.isInteger(v) || v < 1 || v > SIMULATE_MAX) {
      throw new UserError(`--${name}: expected a whole number in [1, ${SIMULATE_MAX}], got ${v}`);
    }
  }
  const driftDay = new Map<DriftScenario, number>();
  const level = new Map<DriftScenario, number>();
  for (const ev of options.drift ?? []) {
    const intensity = ev.intensity ?? 1;
    if (!(Number.isFinite(intensity) && intensity > 0)) {
      throw new UserError(
        `drift ${ev.scenario}: intensity must be a positive number, got ${intensity}`,
      );
    }
    level.set(ev.scenario, intensity);
    driftDay.set(
      ev.scenario,
      Math.round((parseDay(ev.from, `--drift ${ev.scenario}`) - startMs) / DAY_MS),
    );
  }
  const active = (s: DriftScenario, d: number) => {
    const from = driftDay.get(s);
    return from !== undefined && d >= from;
  };

  const rng = new Rng(options.seed ?? 0);
  const w = buildWorld(rng, customers, terminals);
  const out = new Columns(Math.ceil(customers * days * 2.2));
  const day = new Columns(Math.ceil(customers * 2.5));
  const terminalBadUntil = new Int32Array(terminals).fill(-1);
  const cardBadUntil = new Int32Array(customers).fill(-1);
  const cumPref = new Float64Array(K);
  const bar = progress("simulate", days, { unit: "days", quiet: options.quiet });

  for (let d = 0; d < days; d++) {
    const dayMs = startMs + d * DAY_MS;
    const weekday = new Date(dayMs).getUTCDay();
    const weekend = weekday === 0 || weekday === 6;
    const inflation = active("amount_inflation", d) ? 1 + 0.25 * level.get("amount_inflation")! : 1;
    const onlineBoost = active("channel_shift", d) ? 1 + level.get("channel_shift")! : 1;
    const catShift = active("category_shift", d);
    const catPower = level.get("category_shift") ?? 1;

    // New compromises start today.
    for (let k = rng.poisson(P_COMPROMISE_TERMINAL * w.physical.length); k > 0; k--) {
      terminalBadUntil[w.physical[rng.int(w.physical.length)]] = d + 28;
    }
    for (let k = rng.poisson(P_COMPROMISE_CARD * customers); k > 0; k--) {
      cardBadUntil[rng.int(customers)] = d + 14;
    }

    for (let c = 0; c < customers; c++) {
      const n = rng.poisson(w.rate[c] * (weekend ? 1.1 : 1));
      if (n === 0) continue;
      const online = Math.min(0.9, w.onlineShare[c] * onlineBoost);
      const stolen = cardBadUntil[c] >= d;
      for (let i = 0; i < n; i++) {
        const seconds = timeOfDay(rng);
        let channel = rng.bernoulli(online) ? 1 : 0;
        const pop = channel ? CATEGORY_POP_ONLINE : CATEGORY_POP_PRESENT;
        let s = 0;
        for (let k = 0; k < K; k++) {
          cumPref[k] = s += pop[k] * w.pref[c * K + k] *
            (catShift ? CATEGORY_SHIFT[k] ** catPower : 1);
        }
        let category = rng.weighted(cumPref);
        let terminal: number;
        let distance: number;
        let device = NaN;
        if (channel === 1) {
          const list = w.online[category].length > 0 ? w.online[category] : w.online[CAT_DIGITAL];
          terminal = list.length > 0 ? list[rng.int(list.length)] : firstOnline(w);
          category = w.tCategory[terminal];
          distance = Math.abs(rng.normal(0, 3));
          const u = rng.random();
          device = u * u * u * 0.6;
        } else {
          const a = w.nearStart[c * K + category], b = w.nearStart[c * K + category + 1];
          if (b > a) terminal = w.near[a + rng.int(b - a)];
          else {
            // No terminal of that category exists: any of the customer's terminals.
            const a2 = w.nearStart[c * K], b2 = w.nearStart[c * K + K];
            terminal = w.near[a2 + rng.int(b2 - a2)];
            category = w.tCategory[terminal];
          }
          distance = Math.hypot(w.tx[terminal] - w.cx[c], w.ty[terminal] - w.cy[c]);
        }
        const mean = w.meanAmount[c] * CATEGORY_AMOUNT[category] * inflation;
        let amount = Math.abs(rng.normal(mean, mean / 2)) + 0.5;
        let scenario = terminalBadUntil[terminal] >= d ? 2 : 0;
        if (stolen && rng.bernoulli(1 / 3)) {
          scenario = 3;
          channel = 1;
          amount *= rng.uniform(3, 6);
          device = rng.uniform(0.5, 1);
          distance = rng.uniform(30, 3000);
          const list = w.online[CAT_ELECTRONICS].length > 0
            ? w.online[CAT_ELECTRONICS]
            : w.online[CAT_DIGITAL];
          if (list.length > 0) {
            terminal = list[rng.int(list.length)];
            category = w.tCategory[terminal];
          }
        }
        day.push(
          dayMs + seconds * 1000,
          c,
          terminal,
          round(amount, 2),
          channel,
          category,
          device,
          distance,
          scenario,
        );
      }
    }

    // Card testing: bursts of tiny online payments from one risky device.
    for (let k = rng.poisson(P_CARD_TESTING * customers); k > 0; k--) {
      const c = rng.int(customers);
      const t0 = rng.int(86_400 - 1200);
      const device = rng.uniform(0.3, 0.95);
      const far = rng.uniform(100, 5000);
      for (let b = 5 + rng.int(11); b > 0; b--) {
        const terminal = pickOnline(rng, w, CAT_DIGITAL);
        const seconds = t0 + rng.int(1200);
        day.push(
          dayMs + seconds * 1000,
          c,
          terminal,
          round(rng.uniform(0.5, 5), 2),
          1,
          w.tCategory[terminal],
          device,
          far,
          4,
        );
      }
    }
    // Large amounts on a stolen card, card-present, away from home.
    for (let k = rng.poisson(P_LARGE_AMOUNT * customers); k > 0; k--) {
      const c = rng.int(customers);
      const terminal = w.physical[rng.int(w.physical.length)];
      const distance = Math.hypot(w.tx[terminal] - w.cx[c], w.ty[terminal] - w.cy[c]);
      day.push(
        dayMs + timeOfDay(rng) * 1000,
        c,
        terminal,
        round(rng.uniform(600, 2500) * inflation, 2),
        0,
        w.tCategory[terminal],
        NaN,
        distance,
        1,
      );
    }
    // New fraud pattern (drift): night-time takeover purchases at usual amounts.
    if (active("new_fraud", d)) {
      const rate = P_NIGHT_TAKEOVER * level.get("new_fraud")! * customers;
      for (let k = rng.poisson(rate); k > 0; k--) {
        const c = rng.int(customers);
        for (let b = 2 + rng.int(3); b > 0; b--) {
          const terminal = pickOnline(rng, w, rng.bernoulli(0.6) ? CAT_ELECTRONICS : CAT_TRAVEL);
          const category = w.tCategory[terminal];
          const mean = w.meanAmount[c] * CATEGORY_AMOUNT[category] * inflation;
          day.push(
            dayMs + (3600 + rng.int(4 * 3600)) * 1000,
            c,
            terminal,
            round(mean * rng.uniform(0.8, 1.5), 2),
            1,
            category,
            rng.uniform(0, 0.1),
            Math.abs(rng.normal(0, 3)),
            5,
          );
        }
      }
    }
    out.appendSorted(day);
    bar.tick();
  }
  bar.done();
  return toFrame(out);
}

function firstOnline(w: World): number {
  for (const l of w.online) if (l.length > 0) return l[0];
  return w.physical[0];
}

function pickOnline(rng: Rng, w: World, category: number): number {
  const list = w.online[category].length > 0 ? w.online[category] : w.online[CAT_DIGITAL];
  return list.length > 0 ? list[rng.int(list.length)] : firstOnline(w);
}

function decode<T extends readonly string[]>(codes: Uint8Array, names: T, name: string): pl.Series {
  const values = new Array<string>(codes.length);
  for (let i = 0; i < codes.length; i++) values[i] = names[codes[i]];
  return pl.Series(name, values, pl.Utf8);
}

function toFrame(c: Columns): Frame {
  const n = c.n;
  const ids = new Float64Array(n);
  for (let i = 0; i < n; i++) ids[i] = i;
  const distance = c.distance.subarray(0, n).map((x) => round(x, 2));
  const device = c.device.subarray(0, n).map((x) => round(x, 3));
  const label = c.scenario.subarray(0, n).map((s) => (s > 0 ? 1 : 0));
  return pl.DataFrame([
    pl.Series("tx_id", ids).cast(pl.Int64),
    pl.Series("tx_time", c.time.subarray(0, n)).cast(pl.Int64).cast(pl.Datetime("ms")),
    pl.Series("customer_id", c.customer.subarray(0, n)),
    pl.Series("terminal_id", c.terminal.subarray(0, n)),
    pl.Series("amount", c.amount.subarray(0, n)),
    decode(c.channel.subarray(0, n), CHANNELS, "channel"),
    decode(c.category.subarray(0, n), MERCHANT_CATEGORIES, "merchant_category"),
    pl.Series("device_risk", device),
    pl.Series("distance_from_home", distance),
    pl.Series("is_fraud", Int8Array.from(label)),
    pl.Series("fraud_scenario", Int8Array.from(c.scenario.subarray(0, n))),
  ]).withColumns(
    pl.when(pl.col("device_risk").isNan()).then(pl.lit(null)).otherwise(pl.col("device_risk"))
      .alias("device_risk"),
  );
}
