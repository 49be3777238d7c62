/**
 * Seeded pseudo-random numbers. Every random choice in fraudlab takes an
 * {@linkcode Rng} built from a seed, so the same config gives the same bytes.
 *
 * Hand-written rather than taken from a package: the simulator draws tens of
 * millions of numbers in hot loops and needs uniform, normal, Poisson and
 * choice draws with no allocation per call; the generator is sfc32 (Chris
 * Doty-Humphrey's Small Fast Counting generator, 128-bit state, passes
 * PractRand), seeded through splitmix32 so that nearby seeds diverge.
 * @module
 */

/** A seeded generator with the draws fraudlab needs. Not cryptographic. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  #spare = NaN;

  /** @param seed any finite number; equal seeds give equal streams */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    let s = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const a = this.#a, b = this.#b, c = this.#c, d = this.#d;
    const t = (((a + b) | 0) + d) | 0;
    this.#d = (d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    this.#c = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5, lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform double in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.random();
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  /** A normal draw (Marsaglia polar method). */
  normal(mean = 0, sd = 1): number {
    if (!Number.isNaN(this.#spare)) {
      const z = this.#spare;
      this.#spare = NaN;
      return mean + sd * z;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.random() - 1;
      v = 2 * this.random() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt(-2 * Math.log(s) / s);
    this.#spare = v * f;
    return mean + sd * u * f;
  }

  /** A Poisson draw; Knuth's product method below 30, a rounded normal above. */
  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda > 30) return Math.max(0, Math.round(this.normal(lambda, Math.sqrt(lambda))));
    const limit = Math.exp(-lambda);
    let k = 0, p = this.random();
    while (p > limit) {
      k++;
      p *= this.random();
    }
    return k;
  }

  /** True with probability `p`. */
  bernoulli(p: number): boolean {
    return this.random() < p;
  }

  /** Index drawn from cumulative weights `cum` (non-decreasing, last = total). */
  weighted(cum: ArrayLike<number>): number {
    const r = this.random() * cum[cum.length - 1];
    let lo = 0, hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid] > r) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Shuffles `a` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}
