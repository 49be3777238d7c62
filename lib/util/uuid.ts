/**
 * Time-ordered UUIDs (RFC 9562 version 7): 48 bits of Unix milliseconds,
 * then random bits. Ids the server generates sort by creation time, so the
 * prediction log's transaction-id index grows at its right edge instead of
 * taking random inserts all over the B-tree.
 * @module
 */

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const POOL = new Uint8Array(16 * 256);
let poolAt = POOL.length;

/** A version 7 UUID for time `ms` (default now), lowercase hex with dashes. */
export function uuidv7(ms: number = Date.now()): string {
  if (poolAt === POOL.length) {
    crypto.getRandomValues(POOL);
    poolAt = 0;
  }
  const r = POOL.subarray(poolAt, poolAt + 16);
  poolAt += 16;
  const t = Math.max(0, Math.floor(ms));
  const hi = Math.floor(t / 2 ** 16) % 2 ** 32, lo = t % 2 ** 16;
  const h = (b: number) => HEX[b];
  return (
    h(hi >>> 24) + h((hi >>> 16) & 255) + h((hi >>> 8) & 255) + h(hi & 255) + "-" +
    h(lo >>> 8) + h(lo & 255) + "-" +
    h(0x70 | (r[6] & 0x0f)) + h(r[7]) + "-" +
    h(0x80 | (r[8] & 0x3f)) + h(r[9]) + "-" +
    h(r[10]) + h(r[11]) + h(r[12]) + h(r[13]) + h(r[14]) + h(r[15])
  );
}
