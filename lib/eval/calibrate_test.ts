import assert from "node:assert/strict";
import {
  brierScore,
  calibrate,
  fitCalibration,
  fitIsotonic,
  fitPlatt,
  reliabilityCurve,
} from "./calibrate.ts";
import { UserError } from "../util/errors.ts";

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/calibration.json", import.meta.url)),
);

Deno.test("calibration agrees with scikit-learn: Platt's sigmoid and isotonic regression (fixture by make_calibration.py)", () => {
  const p = fitPlatt(fixture.scores, fixture.labels);
  assert.ok(p.method === "platt");
  assert.ok(Math.abs(p.a - fixture.platt.a) < 1e-5, `a ${p.a} vs ${fixture.platt.a}`);
  assert.ok(Math.abs(p.b - fixture.platt.b) < 1e-5, `b ${p.b} vs ${fixture.platt.b}`);
  const iso = fitIsotonic(fixture.scores, fixture.labels);
  fixture.queries.forEach((q: number, i: number) => {
    assert.ok(Math.abs(calibrate(iso, q) - fixture.isotonic[i]) < 1e-12, `isotonic at ${q}`);
  });
});

Deno.test("calibrated probabilities are in [0, 1] and non-decreasing in the score; Brier and reliability; one class is a one-line error", () => {
  for (const method of ["platt", "isotonic"] as const) {
    const c = fitCalibration(method, fixture.scores, fixture.labels);
    let last = -Infinity;
    for (const s of [-1e308, -5, -1, 0, 0.5, 2, 9, 1e308]) {
      const p = calibrate(c, s);
      assert.ok(p >= 0 && p <= 1 && p >= last, `${method} at ${s}: ${p}`);
      last = p;
    }
  }
  assert.equal(brierScore([1, 0, 0.5], [1, 0, 1]), 0.25 / 3);
  const r = reliabilityCurve([0.05, 0.07, 0.95, 0.5], [0, 1, 1, 0], 10);
  assert.deepEqual(r.bins.map((b) => [b.rows, b.observed]), [[2, 0.5], [1, 0], [1, 1]]);
  assert.throws(() => fitCalibration("platt", [1, 2], [0, 0]), UserError);
});
