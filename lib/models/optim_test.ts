import assert from "node:assert/strict";
import { lbfgs } from "./mod.ts";
import { assertClose } from "../testing/helpers.ts";

Deno.test("lbfgs minimizes the Rosenbrock function", () => {
  const r = lbfgs(
    (x, g) => {
      const [a, b] = x;
      g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
      g[1] = 200 * (b - a * a);
      return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
    },
    new Float64Array([-1.2, 1]),
    { gtol: 1e-9, maxIter: 500 },
  );
  assert.ok(r.converged);
  assertClose(r.x[0], 1, { tolerance: 1e-6 });
  assertClose(r.x[1], 1, { tolerance: 1e-6 });
});
