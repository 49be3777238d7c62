import assert from "node:assert/strict";
import {
  nearestNeighbours,
  parseResample,
  resampleFit,
  resampleText,
  smoteSamples,
} from "./resample.ts";
import { UserError } from "../util/errors.ts";

interface Fixture {
  k: number;
  ratio: number;
  X: number[][];
  y: number[];
  neighbours: number[][];
  rows: number[];
  cols: number[];
  steps: number[];
  synthetic: number[][];
}

const fixture: Fixture = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/smote.json", import.meta.url)),
);

Deno.test("SMOTE agrees with imbalanced-learn: the same neighbours, and with its draws the same synthetic points", () => {
  const minority = fixture.X.filter((_, i) => fixture.y[i] === 1);
  const cols = minority[0].length, k = fixture.k;
  const Xm = Float64Array.from(minority.flat());
  const nn = nearestNeighbours(Xm, minority.length, cols, k);
  assert.deepEqual(
    Array.from({ length: minority.length }, (_, i) => Array.from(nn.subarray(i * k, (i + 1) * k))),
    fixture.neighbours,
  );
  const ours = smoteSamples(Xm, cols, nn, k, {
    rows: fixture.rows,
    slots: fixture.cols,
    steps: fixture.steps,
  });
  const theirs = fixture.synthetic.flat();
  assert.equal(ours.length, theirs.length);
  for (let i = 0; i < ours.length; i++) assert.ok(Math.abs(ours[i] - theirs[i]) < 1e-12);
});

Deno.test("SMOTE with fraudlab's draws: imbalanced-learn's count, points on segments between fraud neighbours, statistically like its points", () => {
  const X = {
    data: Float32Array.from(fixture.X.flat()),
    rows: fixture.X.length,
    cols: 3,
    columns: ["a", "b", "c"],
  };
  const y = Int8Array.from(fixture.y);
  const out = resampleFit(X, y, parseResample(`smote:k=${fixture.k},ratio=${fixture.ratio}`), 0);
  assert.equal(out.added, fixture.synthetic.length); // ⌊0.5 · 200⌋ − 30 = 70
  assert.equal(out.X.rows, X.rows + out.added);
  assert.deepEqual(out.X.data.subarray(0, X.data.length), X.data); // originals first, untouched
  const minority = fixture.X.filter((_, i) => fixture.y[i] === 1);
  const nn = nearestNeighbours(Float64Array.from(minority.flat()), minority.length, 3, fixture.k);
  const newRows = Array.from(
    { length: out.added },
    (_, s) => Array.from(out.X.data.subarray((X.rows + s) * 3, (X.rows + s + 1) * 3)),
  );
  for (const p of newRows) {
    // On the segment from some fraud row to one of its neighbours.
    const on = minority.some((a, r) =>
      Array.from(nn.subarray(r * fixture.k, (r + 1) * fixture.k)).some((j) => {
        const b = minority[j];
        const ab = [0, 1, 2].map((c) => b[c] - a[c]), ap = [0, 1, 2].map((c) => p[c] - a[c]);
        const u = (ab[0] * ap[0] + ab[1] * ap[1] + ab[2] * ap[2]) /
          (ab[0] ** 2 + ab[1] ** 2 + ab[2] ** 2);
        return u >= -1e-5 && u <= 1 + 1e-5 &&
          [0, 1, 2].every((c) => Math.abs(a[c] + u * ab[c] - p[c]) < 1e-4);
      })
    );
    assert.ok(on, `synthetic point ${p} is on no neighbour segment`);
  }
  // Means of each column of the synthetic points: within 0.25 of imbalanced-learn's.
  for (let c = 0; c < 3; c++) {
    const mean = (rows: number[][]) => rows.reduce((s, r) => s + r[c], 0) / rows.length;
    assert.ok(Math.abs(mean(newRows) - mean(fixture.synthetic)) < 0.25, `column ${c}`);
  }
  assert.ok(out.y.subarray(X.rows).every((v) => v === 1));
});

Deno.test("undersampling keeps every fraud row and ⌊fraud / ratio⌋ legitimate ones; SMOTE then undersampling; bad settings are one-line errors", () => {
  const X = {
    data: Float32Array.from(fixture.X.flat()),
    rows: 230,
    cols: 3,
    columns: ["a", "b", "c"],
  };
  const y = Int8Array.from(fixture.y);
  const u = resampleFit(X, y, parseResample("undersample:ratio=0.5"), 1);
  assert.equal(u.y.filter((v) => v === 1).length, 30);
  assert.equal(u.y.filter((v) => v === 0).length, 60);
  assert.equal(u.removed, 140);
  const both = resampleFit(X, y, parseResample("smote+undersample:ratio=0.5,under=1"), 1);
  assert.equal(both.added, 70);
  assert.equal(both.y.filter((v) => v === 0).length, 100);
  assert.deepEqual(
    resampleFit(X, y, parseResample("smote"), 3),
    resampleFit(X, y, parseResample("smote"), 3),
  );
  assert.equal(resampleText(parseResample("smote")), "smote:k=5,ratio=1");
  for (const bad of ["smite", "smote:k=0", "smote:ratio=2", "undersample:k=3", "smote:ratio=x"]) {
    assert.throws(() => parseResample(bad), UserError, bad);
  }
});
