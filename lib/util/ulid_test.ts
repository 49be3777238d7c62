import assert from "node:assert/strict";
import { ulid, ulidTime } from "./ulid.ts";

Deno.test("ulid: 26 Crockford base32 characters, carries its time, sorts by time, unique", () => {
  const t = Date.UTC(2026, 10, 22, 9, 30, 0, 123);
  const ids: string[] = [];
  for (let i = 0; i < 5000; i++) ids.push(ulid(t + i));
  for (const id of ids.slice(0, 50)) assert.match(id, /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
  assert.equal(ulidTime(ids[0]), t);
  assert.equal(ulidTime(ids[4999]), t + 4999);
  assert.deepEqual([...ids].sort(), ids, "later ids sort after earlier ones");
  const many = new Set(Array.from({ length: 20000 }, () => ulid(t)));
  assert.equal(many.size, 20000, "ids within one millisecond differ");
  // The time part of a known instant (the ULID spec's example time).
  assert.equal(ulid(1469918176385).slice(0, 10), "01ARYZ6S41");
  assert.equal(ulidTime("not-an-id"), null);
});

Deno.test("ulid: monotonic within a millisecond, random across them (all 80 bits vary)", () => {
  const t = Date.UTC(2026, 0, 1);
  // Within one millisecond: each id is the previous plus one.
  const a = ulid(t), b = ulid(t), c = ulid(t);
  assert.ok(a < b && b < c);
  assert.equal(a.slice(0, 24), b.slice(0, 24), "the next id differs in its last characters");
  const seen = Array.from({ length: 16 }, () => new Set<string>());
  for (let i = 0; i < 4000; i++) {
    const id = ulid(t + 1 + i);
    for (let k = 0; k < 16; k++) seen[k].add(id[10 + k]);
  }
  for (let k = 0; k < 16; k++) assert.equal(seen[k].size, 32, `random character ${k}`);
});
