/**
 * The Fraud Detection Handbook's simulated world (Le Borgne et al., 2022,
 * chapter 3.2, its SimulatedDataset notebook), written in the book's file
 * format so that the book's protocol and tables can be reproduced on data
 * made here, and the book's own files read the same way (spec `handbook`).
 *
 * The rules, as the notebook draws them:
 * - customers: a location uniform on a 100 × 100 grid, a mean amount uniform
 *   on [5, 100] (standard deviation half of it), a mean number of
 *   transactions a day uniform on [0, 4]; terminals: a location uniform on
 *   the grid; a customer uses the terminals strictly within `radius`;
 * - each day a customer makes Poisson(mean) transactions; each one's second
 *   of the day is a Normal(43,200, 20,000) draw truncated toward zero, and
 *   the transaction is dropped unless it falls inside (0, 86,400); its
 *   amount is Normal(mean, std), redrawn uniform on [0, 2 × mean) when
 *   negative, rounded to cents; its terminal is drawn uniformly from the
 *   customer's (none in reach: no transaction);
 * - fraud scenario 1: every amount above 220; scenario 2: each day (but the
 *   last) 2 terminals drawn from all of them are compromised, and every
 *   transaction on them that day and the 27 next is fraud; scenario 3: each
 *   day (but the last) 3 customers drawn from all of them are compromised,
 *   and of their transactions that day and the 13 next, a third (drawn)
 *   have their amount multiplied by 5 and are fraud. Later scenarios
 *   overwrite earlier ones' scenario code, as in the notebook.
 *
 * Without a seed, the draws are the book's own (numpy's legacy RandomState
 * and Python's `random`, seeded as the notebook seeds them: `bookDraws`),
 * which rebuild the book's data set row for row (tested against the
 * notebook's code); with a seed, fraudlab's seeded streams (one for
 * profiles, one for terminals, one per customer, one per day and scenario)
 * make other worlds under the same rules.
 * @module
 */
import pl from "nodejs-polars";
import type { Frame } from "./frame.ts";
import { Rng } from "../util/rng.ts";
import { UserError } from "../util/errors.ts";
import { parseDay } from "./simulate.ts";
import { NumpyRandomState, numpyRound, PythonRandom } from "../util/numpy_rng.ts";

/** Options for {@linkcode simulateHandbook}; the defaults are the book's. */
export interface HandbookOptions {
  /** Customers. Default 5,000. */
  customers?: number;
  /** Terminals. Default 10,000. */
  terminals?: number;
  /** Days. Default 183. */
  days?: number;
  /** First day, YYYY-MM-DD (UTC). Default 2018-04-01. */
  start?: string;
  /** A customer's reach on the 100 × 100 grid. Default 5. */
  radius?: number;
  /**
   * Seed of fraudlab's own draws; without it, the book's draws (numpy's and
   * Python's generators, seeded as its notebook seeds them), which rebuild
   * the book's data set.
   */
  seed?: number;
}

/** The book's figures for its own file, for comparison. */
export const HANDBOOK_TOTALS = {
  transactions: 1_754_155,
  frauds: 14_681,
  scenarios: [978, 9_099, 4_604],
} as const;

/** The columns of the book's files, in order. */
export const HANDBOOK_COLUMNS = [
  "TRANSACTION_ID",
  "TX_DATETIME",
  "CUSTOMER_ID",
  "TERMINAL_ID",
  "TX_AMOUNT",
  "TX_TIME_SECONDS",
  "TX_TIME_DAYS",
  "TX_FRAUD",
  "TX_FRAUD_SCENARIO",
] as const;

const DAY_S = 86_400;

/** A seed for one stream of draws: (seed, stream, index) pairs never collide within a seed. */
function streamSeed(seed: number, stream: number, index: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ ((stream << 26) | index)) >>> 0;
}

/** `k` distinct integers in [0, n), in draw order (a partial Fisher–Yates shuffle). */
function sampleWithout(rng: Rng, n: number, k: number): Int32Array {
  const out = new Int32Array(k);
  const swapped = new Map<number, number>();
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    const vj = swapped.get(j) ?? j, vi = swapped.get(i) ?? i;
    out[i] = vj;
    swapped.set(j, vi);
  }
  return out;
}

function checkOptions(o: HandbookOptions) {
  const customers = o.customers ?? 5000, terminals = o.terminals ?? 10_000;
  const days = o.days ?? 183, radius = o.radius ?? 5, seed = o.seed ?? 0;
  const whole = (name: string, v: number, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new UserError(`--${name}: expected a whole number ${min}..${max}, got ${v}`);
    }
  };
  whole("customers", customers, 3, 2 ** 26 - 1);
  whole("terminals", terminals, 2, 10_000_000);
  whole("days", days, 1, 3650);
  whole("seed", seed, 0, 2 ** 32 - 1);
  if (!(Number.isFinite(radius) && radius > 0 && radius <= 150)) {
    throw new UserError(`--radius: expected a number in (0, 150], got ${radius}`);
  }
  const startMs = parseDay(o.start ?? "2018-04-01", "start");
  return { customers, terminals, days, radius, seed, startMs };
}

/** Per customer, the terminals strictly within `radius` (ascending ids), as CSR arrays. */
function terminalsInReach(
  cx: Float64Array,
  cy: Float64Array,
  tx: Float64Array,
  ty: Float64Array,
  radius: number,
): { start: Int32Array; ids: Int32Array } {
  // A grid of radius-wide cells: only the 3 × 3 cells around a customer can hold its terminals.
  const cells = Math.max(1, Math.ceil(100 / radius));
  const cellOf = (v: number) => Math.min(cells - 1, Math.max(0, Math.floor(v / radius)));
  const buckets: number[][] = Array.from({ length: cells * cells }, () => []);
  for (let t = 0; t < tx.length; t++) buckets[cellOf(tx[t]) * cells + cellOf(ty[t])].push(t);
  const start = new Int32Array(cx.length + 1);
  const ids: number[] = [];
  const found: number[] = [];
  for (let c = 0; c < cx.length; c++) {
    found.length = 0;
    const gx = cellOf(cx[c]), gy = cellOf(cy[c]);
    for (let i = Math.max(0, gx - 1); i <= Math.min(cells - 1, gx + 1); i++) {
      for (let j = Math.max(0, gy - 1); j <= Math.min(cells - 1, gy + 1); j++) {
        for (const t of buckets[i * cells + j]) {
          const dx = cx[c] - tx[t], dy = cy[c] - ty[t];
          if (Math.sqrt(dx * dx + dy * dy) < radius) found.push(t);
        }
      }
    }
    found.sort((a, b) => a - b);
    ids.push(...found);
    start[c + 1] = ids.length;
  }
  return { start, ids: Int32Array.from(ids) };
}

/** "YYYY-MM-DD HH:MM:SS" of `startMs` plus `seconds`. */
function datetimeText(startMs: number, seconds: number): string {
  return new Date(startMs + seconds * 1000).toISOString().slice(0, 19).replace("T", " ");
}

/** A customer's draws: the transactions a day, times and amounts, and a terminal among n. */
interface CustomerDraws {
  poisson(lambda: number): number;
  normal(mean: number, sd: number): number;
  uniform(lo: number, hi: number): number;
  pick(n: number): number;
}

/** Where every draw of the simulation comes from. */
interface Draws {
  profiles(): { uniform(lo: number, hi: number): number };
  terminals(): { uniform(lo: number, hi: number): number };
  customer(c: number): CustomerDraws;
  /** An amount rounded to cents. */
  cents(a: number): number;
  compromisedTerminals(day: number, n: number, k: number): Int32Array;
  compromisedCustomers(day: number, n: number, k: number): Int32Array;
  /** `k` of a day's window of transactions (their indices, ascending). */
  sample(day: number, window: number[], k: number): number[];
}

/** fraudlab's seeded streams: one for profiles, one for terminals, one per customer and per day and scenario. */
function fraudlabDraws(seed: number): Draws {
  return {
    profiles: () => new Rng(streamSeed(seed, 0, 0)),
    terminals: () => new Rng(streamSeed(seed, 1, 0)),
    customer: (c) => {
      const rng = new Rng(streamSeed(seed, 2, c));
      return {
        poisson: (l) => rng.poisson(l),
        normal: (m, sd) => rng.normal(m, sd),
        uniform: (lo, hi) => rng.uniform(lo, hi),
        pick: (n) => rng.int(n),
      };
    },
    cents: (a) => Math.round(a * 100) / 100,
    compromisedTerminals: (d, n, k) => sampleWithout(new Rng(streamSeed(seed, 3, d)), n, k),
    compromisedCustomers: (d, n, k) => sampleWithout(new Rng(streamSeed(seed, 4, d)), n, k),
    sample: (d, window, k) =>
      Array.from(
        sampleWithout(new Rng(streamSeed(seed, 5, d)), window.length, k),
        (w) => window[w],
      ),
  };
}

/**
 * The book's own draws (its SimulatedDataset notebook): numpy's legacy
 * RandomState seeded 0 for the customer profiles, 1 for the terminals and
 * the customer's id for its transactions, with Python's `random` seeded the
 * id for its terminals; pandas' `sample(random_state=day)` for each day's
 * compromised terminals and customers, and `random.seed(day)` for the
 * third of a compromised customer's transactions.
 */
function bookDraws(): Draws {
  return {
    profiles: () => new NumpyRandomState(0),
    terminals: () => new NumpyRandomState(1),
    customer: (c) => {
      const np = new NumpyRandomState(c), py = new PythonRandom(c);
      return {
        poisson: (l) => np.poisson(l),
        normal: (m, sd) => np.normal(m, sd),
        uniform: (lo, hi) => np.uniform(lo, hi),
        pick: (n) => py.randbelow(n),
      };
    },
    cents: (a) => numpyRound(a, 2),
    compromisedTerminals: (d, n, k) => new NumpyRandomState(d).choiceWithoutReplacement(n, k),
    compromisedCustomers: (d, n, k) => new NumpyRandomState(d).choiceWithoutReplacement(n, k),
    sample: (d, window, k) => new PythonRandom(d).sample(window, k),
  };
}

/**
 * Simulates the Handbook's transactions (see the module doc) as a frame
 * with the book's columns ({@linkcode HANDBOOK_COLUMNS}), sorted by time,
 * TRANSACTION_ID numbering the rows from 0. Deterministic.
 *
 * @param options world size, days, start, radius and seed (the book's by default)
 * @returns the transactions
 *
 * @example
 * ```ts
 * import { simulateHandbook } from "./handbook.ts";
 * const tx = simulateHandbook({ customers: 50, terminals: 100, days: 20 });
 * console.log(tx.columns.join(","), tx.height > 0);
 * ```
 */
export function simulateHandbook(options: HandbookOptions = {}): Frame {
  const { customers, terminals, days, radius, startMs } = checkOptions(options);
  const draws = options.seed === undefined ? bookDraws() : fraudlabDraws(options.seed);
  // Profiles, then terminals, each from its own stream.
  const profiles = draws.profiles();
  const cx = new Float64Array(customers), cy = new Float64Array(customers);
  const mean = new Float64Array(customers), perDay = new Float64Array(customers);
  for (let c = 0; c < customers; c++) {
    cx[c] = profiles.uniform(0, 100);
    cy[c] = profiles.uniform(0, 100);
    mean[c] = profiles.uniform(5, 100);
    perDay[c] = profiles.uniform(0, 4);
  }
  const places = draws.terminals();
  const tx = new Float64Array(terminals), ty = new Float64Array(terminals);
  for (let t = 0; t < terminals; t++) {
    tx[t] = places.uniform(0, 100);
    ty[t] = places.uniform(0, 100);
  }
  const reach = terminalsInReach(cx, cy, tx, ty, radius);

  // Transactions, customer by customer (each from its own stream).
  const sec: number[] = [], cust: number[] = [], term: number[] = [], amt: number[] = [];
  for (let c = 0; c < customers; c++) {
    const rng = draws.customer(c);
    const from = reach.start[c], n = reach.start[c + 1] - from;
    const m = mean[c], sd = m / 2;
    for (let d = 0; d < days; d++) {
      const count = rng.poisson(perDay[c]);
      for (let k = 0; k < count; k++) {
        const s = Math.trunc(rng.normal(DAY_S / 2, 20_000));
        if (!(s > 0 && s < DAY_S)) continue;
        let a = rng.normal(m, sd);
        if (a < 0) a = rng.uniform(0, 2 * m);
        a = draws.cents(a);
        if (n === 0) continue;
        sec.push(s + d * DAY_S);
        cust.push(c);
        term.push(reach.ids[from + rng.pick(n)]);
        amt.push(a);
      }
    }
  }
  // Sorted by time (ties by customer, then draw order): the transaction ids.
  const rows = sec.length;
  const order = Uint32Array.from({ length: rows }, (_, i) => i);
  order.sort((a, b) => sec[a] - sec[b] || cust[a] - cust[b] || a - b);
  const seconds = new Float64Array(rows), customer = new Int32Array(rows);
  const terminal = new Int32Array(rows), amount = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const j = order[i];
    seconds[i] = sec[j];
    customer[i] = cust[j];
    terminal[i] = term[j];
    amount[i] = amt[j];
  }
  const day = Int32Array.from(seconds, (s) => Math.floor(s / DAY_S));
  let lastDay = 0;
  for (let i = 0; i < rows; i++) lastDay = Math.max(lastDay, day[i]);
  const fraud = new Int32Array(rows), scenario = new Int32Array(rows);
  // Scenario 1: large amounts.
  for (let i = 0; i < rows; i++) {
    if (amount[i] > 220) fraud[i] = scenario[i] = 1;
  }
  // Scenario 2: 2 terminals a day, compromised for 28 days.
  const compromisedOn = new Map<number, number[]>();
  for (let d = 0; d < lastDay; d++) {
    for (const t of draws.compromisedTerminals(d, terminals, 2)) {
      const list = compromisedOn.get(t) ?? [];
      list.push(d);
      compromisedOn.set(t, list);
    }
  }
  for (let i = 0; i < rows; i++) {
    const list = compromisedOn.get(terminal[i]);
    if (list && list.some((d) => day[i] >= d && day[i] < d + 28)) {
      fraud[i] = 1;
      scenario[i] = 2;
    }
  }
  // Scenario 3: 3 customers a day; a third of their next 14 days' transactions, amount × 5.
  const byCustomer: number[][] = Array.from({ length: customers }, () => []);
  for (let i = 0; i < rows; i++) byCustomer[customer[i]].push(i);
  for (let d = 0; d < lastDay; d++) {
    const chosen = draws.compromisedCustomers(d, customers, 3);
    const window: number[] = [];
    for (const c of chosen) {
      for (const i of byCustomer[c]) if (day[i] >= d && day[i] < d + 14) window.push(i);
    }
    window.sort((a, b) => a - b);
    const k = Math.floor(window.length / 3);
    for (const i of draws.sample(d, window, k)) {
      amount[i] *= 5;
      fraud[i] = 1;
      scenario[i] = 3;
    }
  }
  const text = new Array<string>(rows);
  for (let i = 0; i < rows; i++) text[i] = datetimeText(startMs, seconds[i]);
  const int64 = (name: string, v: ArrayLike<number>) =>
    pl.Series(name, Float64Array.from(v)).cast(pl.Int64);
  return pl.DataFrame([
    int64("TRANSACTION_ID", Float64Array.from({ length: rows }, (_, i) => i)),
    pl.Series("TX_DATETIME", text, pl.Utf8),
    int64("CUSTOMER_ID", customer),
    int64("TERMINAL_ID", terminal),
    pl.Series("TX_AMOUNT", amount, pl.Float64),
    int64("TX_TIME_SECONDS", seconds),
    int64("TX_TIME_DAYS", day),
    int64("TX_FRAUD", fraud),
    int64("TX_FRAUD_SCENARIO", scenario),
  ]);
}
