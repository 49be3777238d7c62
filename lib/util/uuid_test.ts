import assert from "node:assert/strict";
import { uuidv7 } from "./uuid.ts";

const timeOf = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

Deno.test("uuidv7: RFC 9562 layout, carries its time, sorts by time, unique", () => {
  const t = Date.UTC(2026, 10, 22, 9, 30, 0, 123);
  const ids: string[] = [];
  for (let i = 0; i < 5000; i++) ids.push(uuidv7(t + i));
  for (const id of ids.slice(0, 50)) {
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  }
  assert.equal(timeOf(ids[0]), t);
  assert.equal(timeOf(ids[4999]), t + 4999);
  assert.deepEqual([...ids].sort(), ids, "later ids sort after earlier ones");
  const many = new Set(Array.from({ length: 20000 }, () => uuidv7(t)));
  assert.equal(many.size, 20000, "ids within one millisecond differ");
});
