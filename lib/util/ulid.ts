/**
 * Time-ordered transaction ids in the ULID layout: 48 bits of Unix
 * milliseconds then 80 random bits, written as 26 characters of Crockford
 * base32 (no I, L, O, U). Ids the server generates sort by creation time as
 * plain strings, so the prediction log's transaction-id index grows at its
 * right edge instead of taking random inserts all over the B-tree, and an id
 * is 10 characters shorter than a UUID in every answer and log row.
 * @module
 */

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const POOL = new Uint8Array(16 * 256);
let poolAt = POOL.length;

/** A ULID for time `ms` (default now). */
export function ulid(ms: number = Date.now()): string {
  if (poolAt === POOL.length) {
    crypto.getRandomValues(POOL);
    poolAt = 0;
  }
  const r = POOL.subarray(poolAt, poolAt + 10);
  poolAt += 16;
  // Time: 48 bits, most significant first, 5 bits per character (50 bits, the
  // top two always zero for times before the year 10889).
  let t = Math.max(0, Math.min(2 ** 48 - 1, Math.floor(ms)));
  let out = "";
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  // Randomness: 80 bits = 16 characters, taken 5 bits at a time from two
  // 40-bit halves.
  for (let half = 0; half < 2; half++) {
    const b = half * 5;
    const hi = r[b] * 256 + r[b + 1]; // 16 bits
    const lo = ((r[b + 2] << 16) | (r[b + 3] << 8) | r[b + 4]) >>> 0; // 24 bits
    out += ALPHABET[hi >>> 11] + ALPHABET[(hi >>> 6) & 31] + ALPHABET[(hi >>> 1) & 31] +
      ALPHABET[((hi & 1) << 4) | (lo >>> 20)] + ALPHABET[(lo >>> 15) & 31] +
      ALPHABET[(lo >>> 10) & 31] + ALPHABET[(lo >>> 5) & 31] + ALPHABET[lo & 31];
  }
  return out;
}

/** The Unix milliseconds a ULID carries, or null if `id` is not a ULID. */
export function ulidTime(id: string): number | null {
  if (!/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/.test(id)) return null;
  let t = 0;
  for (let i = 0; i < 10; i++) t = t * 32 + ALPHABET.indexOf(id[i]);
  return t;
}
