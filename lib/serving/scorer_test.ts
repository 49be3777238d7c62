import assert from "node:assert/strict";
import {
  AnswerEncoder,
  type AnswerModel,
  fourDigits,
  type ScoreResult,
  shortestFloat32,
} from "./scorer.ts";
import { Rng } from "../util/rng.ts";

/** Fewest significant digits that read back as the float32 `x`, by trying them all. */
function fewestDigits(x: number): number {
  for (let p = 1; p <= 9; p++) if (Math.fround(Number(x.toPrecision(p))) === x) return p;
  throw new Error(`no form of ${x} reads back`);
}

const digits = (y: number) => y.toExponential().split("e")[0].replace(/[.-]/g, "").length;

Deno.test("shortestFloat32: reads back as the same float32, at the fewest digits", () => {
  const rng = new Rng(7);
  const rand = () => rng.random();
  const buf = new Float32Array(1);
  const u32 = new Uint32Array(buf.buffer);
  const values = [0, 0.5, 0.1, 1 / 3, 0.625, 1e-8, 123456.7, -2.5e-3].map(Math.fround);
  for (let i = 0; i < 20000; i++) {
    // Scores live in [0, 1]; any bit pattern checks the rest of the range.
    values.push(Math.fround(rand()));
    u32[0] = Math.floor(rand() * 2 ** 32);
    if (Number.isFinite(buf[0])) values.push(buf[0]);
  }
  for (const x of values) {
    const y = shortestFloat32(x);
    assert.equal(Math.fround(y), x, `${x} answered as ${y}`);
    if (x !== 0) assert.equal(digits(y), fewestDigits(x), `${x} answered as ${y}`);
  }
  // Not a float32 (a double threshold): unchanged. Non-finite: unchanged.
  assert.equal(shortestFloat32(0.1), 0.1);
  assert.equal(shortestFloat32(Number.NaN), Number.NaN);
  assert.equal(shortestFloat32(0.6249051094055176), 0.6249051);
});

Deno.test("fourDigits: four significant digits", () => {
  assert.equal(fourDigits(-0.4739437699317932), -0.4739);
  assert.equal(fourDigits(1234567), 1235000);
  assert.equal(fourDigits(0.000123456), 0.0001235);
  assert.equal(fourDigits(0), 0);
  const rng = new Rng(11);
  let differ = 0;
  for (let i = 0; i < 20000; i++) {
    const x = (rng.random() - 0.5) * 10 ** rng.int(30) * 10 ** -12;
    const want = Number(x.toPrecision(4));
    if (fourDigits(x) !== want) differ++;
    // Never more than the last digit off (a tie the scaled product rounds the other way).
    assert.ok(Math.abs(fourDigits(x) - want) <= Math.abs(want) * 1.01e-3, `${x}`);
  }
  assert.ok(differ <= 2, `${differ} of 20000 differ from toPrecision(4)`);
});

Deno.test("AnswerEncoder: the text JSON.stringify gives, for any answer", () => {
  const rng = new Rng(5);
  const pick = <T>(xs: T[]): T => xs[rng.int(xs.length)];
  const model: AnswerModel = {
    name: "card_fraud",
    version: 3,
    run: { id: "20261122-092150-iforest-fad852" },
    thresholdShown: 0.6249051,
    groups: ["amount", 'merchant "category"', "hour", "velocity_1h"],
  };
  const encoder = new AnswerEncoder(model);
  const strings = [
    "",
    "a",
    'quote " and \\ backslash',
    "line\nbreak\ttab",
    "\u0001ctl",
    "é€𝄞",
    "\ud800",
  ];
  const numbers = () =>
    pick([
      () => rng.random(),
      () => Math.fround(rng.random()),
      () => -rng.random() * 10 ** rng.int(30) * 1e-12,
      () => rng.int(1_000_000) - 500_000,
      () => pick([0, -0, NaN, Infinity, -Infinity, 1e21, 1e-7, 2 ** 53, Number.MIN_VALUE]),
    ])();
  for (let i = 0; i < 5000; i++) {
    const reasons = Array.from({ length: rng.int(4) }, () => ({
      feature: rng.random() < 0.8 ? pick([...model.groups]) : pick(strings),
      contribution: numbers(),
      value: pick([() => numbers(), () => pick(strings), () => null])(),
    }));
    const other = rng.random() < 0.05;
    const skipped = rng.random() < 0.1;
    const result: ScoreResult = {
      transaction_id: rng.random() < 0.5 ? `01KAB${i}` : pick(strings) + i,
      score: numbers(),
      // A calibrated run answers a probability after the score.
      ...(rng.random() < 0.3 ? { probability: numbers() } : {}),
      is_fraud: rng.random() < 0.5,
      threshold: other ? 0.5 : model.thresholdShown,
      reasons: skipped ? [] : reasons,
      // Key order as the scorer builds it: reasons_skipped between reasons and model.
      ...(skipped ? { reasons_skipped: true as const } : {}),
      model: { name: model.name, version: other ? 2 : 3, run_id: model.run.id },
    };
    assert.equal(encoder.encode(result), JSON.stringify(result));
  }
});
