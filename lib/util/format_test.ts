import assert from "node:assert/strict";
import { fourDecimals, percent } from "./format.ts";

Deno.test("percent: two significant digits at least for a share above zero", () => {
  assert.equal(percent(0.1234), "12.34%");
  assert.equal(percent(0.5, 0), "50%");
  assert.equal(percent(5 / 200_000), "0.0025%");
  assert.equal(percent(0.00123), "0.12%");
  assert.equal(percent(0.0000123, 1), "0.0012%");
  assert.equal(percent(0), "0.00%");
  assert.equal(percent(null), "–");
  assert.equal(percent(NaN), "–");
  assert.equal(percent(1), "100.00%");
});

Deno.test("fourDecimals: numbers to four decimals, anything else as it is", () => {
  assert.equal(fourDecimals(99.18545454545455), 99.1855);
  assert.equal(fourDecimals(3), 3);
  assert.equal(fourDecimals(null), null);
  assert.equal(fourDecimals("x"), "x");
});
