/**
 * The random streams of numpy's legacy `RandomState` and of Python's
 * `random` module, draw for draw: both are MT19937 (Matsumoto and
 * Nishimura, 1998), seeded as each library seeds it, with each library's
 * algorithms for the draws the Fraud Detection Handbook's simulator makes
 * (uniform, normal, Poisson below 10, permutations; Python's choice and
 * sample). They let `generate --profile handbook --rng book` rebuild the
 * book's own data set; tested against Debian's numpy and Python on a
 * committed fixture.
 * @module
 */

/** MT19937 with its 624-word state. */
class MT19937 {
  readonly #mt = new Uint32Array(624);
  #i = 624;

  /** init_genrand: numpy's `seed(int)` and the start of Python's `init_by_array`. */
  seedInt(s: number): void {
    const mt = this.#mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < 624; i++) {
      const p = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(1812433253, p) + i) >>> 0;
    }
    this.#i = 624;
  }

  /** init_by_array (Python's `random.seed(int)`: the integer's 32-bit words, low first). */
  seedArray(key: number[]): void {
    const mt = this.#mt;
    this.seedInt(19650218);
    let i = 1, j = 0;
    for (let k = Math.max(624, key.length); k > 0; k--) {
      const p = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(p, 1664525)) + key[j] + j) >>> 0;
      i++;
      j++;
      if (i >= 624) {
        mt[0] = mt[623];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = 623; k > 0; k--) {
      const p = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(p, 1566083941)) - i) >>> 0;
      i++;
      if (i >= 624) {
        mt[0] = mt[623];
        i = 1;
      }
    }
    mt[0] = 0x80000000;
    this.#i = 624;
  }

  /** The next 32-bit output. */
  uint32(): number {
    const mt = this.#mt;
    if (this.#i >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.#i = 0;
    }
    let y = mt[this.#i++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A double in [0, 1) from two outputs (53 bits), as both libraries make it. */
  double(): number {
    const a = this.uint32() >>> 5, b = this.uint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }
}

/** numpy's legacy `RandomState` (what `np.random.seed(n)` and the module functions use). */
export class NumpyRandomState {
  readonly #mt = new MT19937();
  #gauss: number | null = null;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`numpy seeds are 0..2^32-1, got ${seed}`);
    }
    this.#mt.seedInt(seed);
  }

  /** `random_sample()`. */
  random(): number {
    return this.#mt.double();
  }

  /** `uniform(low, high)`. */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.#mt.double();
  }

  /** `normal(loc, scale)`: the legacy polar method, its second value kept for the next call. */
  normal(loc: number, scale: number): number {
    if (this.#gauss !== null) {
      const g = this.#gauss;
      this.#gauss = null;
      return loc + scale * g;
    }
    let x1: number, x2: number, r2: number;
    do {
      x1 = 2 * this.#mt.double() - 1;
      x2 = 2 * this.#mt.double() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt(-2 * Math.log(r2) / r2);
    this.#gauss = f * x1;
    return loc + scale * f * x2;
  }

  /** `poisson(lam)` for lam < 10 (the multiplication method numpy uses there). */
  poisson(lam: number): number {
    if (lam >= 10) throw new RangeError("poisson: only lam < 10 (numpy's multiplication method)");
    if (lam === 0) return 0;
    const enlam = Math.exp(-lam);
    let x = 0, prod = 1;
    for (;;) {
      prod *= this.#mt.double();
      if (prod > enlam) x++;
      else return x;
    }
  }

  /** A uniform integer in [0, max] by masked rejection (numpy's `random_interval`), max < 2^32. */
  #interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let v: number;
    while ((v = (this.#mt.uint32() & mask) >>> 0) > max);
    return v;
  }

  /** `permutation(n)`: a Fisher–Yates shuffle of 0..n−1 from the end. */
  permutation(n: number): Int32Array {
    const a = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i >= 1; i--) {
      const j = this.#interval(i);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** `choice(n, size=k, replace=False)`: the first k of a permutation (what pandas' `sample` draws). */
  choiceWithoutReplacement(n: number, k: number): Int32Array {
    return this.permutation(n).subarray(0, k);
  }
}

/** Python's `random.Random` (what `random.seed(n)` and the module functions use). */
export class PythonRandom {
  readonly #mt = new MT19937();

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(`seeds here are 0..2^53-1, got ${seed}`);
    }
    // The absolute value's 32-bit words, low first (one word 0 for 0).
    const key: number[] = [];
    let s = seed;
    do {
      key.push(s % 2 ** 32);
      s = Math.floor(s / 2 ** 32);
    } while (s > 0);
    this.#mt.seedArray(key);
  }

  /** `random()`. */
  random(): number {
    return this.#mt.double();
  }

  /** `getrandbits(k)` for k ≤ 32. */
  #bits(k: number): number {
    return this.#mt.uint32() >>> (32 - k);
  }

  /** `_randbelow(n)`: rejection on `n.bit_length()` bits. */
  randbelow(n: number): number {
    if (!(n >= 1 && n < 2 ** 32)) throw new RangeError(`randbelow: 1..2^32-1, got ${n}`);
    const k = 32 - Math.clz32(n); // n.bit_length()
    let r = this.#bits(k);
    while (r >= n) r = this.#bits(k);
    return r;
  }

  /** `choice(seq)`. */
  choice<T>(seq: ArrayLike<T>): T {
    return seq[this.randbelow(seq.length)];
  }

  /** `sample(population, k)`: a pool for small populations, a set of draws for large ones. */
  sample<T>(population: ArrayLike<T>, k: number): T[] {
    const n = population.length;
    if (k < 0 || k > n) throw new RangeError("sample larger than population or is negative");
    const result = new Array<T>(k);
    let setsize = 21;
    if (k > 5) setsize += 4 ** Math.ceil(Math.log(k * 3) / Math.log(4));
    if (n <= setsize) {
      const pool = Array.from(population);
      for (let i = 0; i < k; i++) {
        const j = this.randbelow(n - i);
        result[i] = pool[j];
        pool[j] = pool[n - i - 1];
      }
    } else {
      const selected = new Set<number>();
      for (let i = 0; i < k; i++) {
        let j = this.randbelow(n);
        while (selected.has(j)) j = this.randbelow(n);
        selected.add(j);
        result[i] = population[j];
      }
    }
    return result;
  }
}

/** numpy's `round(x, decimals)`: x · 10^d rounded half to even, divided back. */
export function numpyRound(x: number, decimals: number): number {
  const s = 10 ** decimals, y = x * s;
  let r = Math.round(y);
  if (Math.abs(y - Math.trunc(y)) === 0.5 && r % 2 !== 0) r -= 1; // half to even
  return r / s;
}
