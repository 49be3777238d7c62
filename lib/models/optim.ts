/**
 * L-BFGS (Nocedal and Wright, Algorithm 7.5) with a strong-Wolfe line search
 * (Algorithms 3.5 and 3.6, zoom by safeguarded bisection/interpolation).
 * Deterministic: no randomness, fixed operation order.
 * @module
 */

/** Objective: returns f(x) and writes ∇f(x) into `grad`. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

/** Options for {@linkcode lbfgs}. */
export interface LbfgsOptions {
  /** Maximum iterations. Default 1000. */
  maxIter?: number;
  /** Stop when max |∇f| ≤ gtol. Default 1e-6. */
  gtol?: number;
  /** History size m. Default 10. */
  memory?: number;
  /** Called after every iteration. */
  onIteration?: (iteration: number, f: number) => void;
}

/** Result of {@linkcode lbfgs}. */
export interface LbfgsResult {
  x: Float64Array;
  f: number;
  iterations: number;
  converged: boolean;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Minimizes `f` from `x0` (not modified). */
export function lbfgs(f: Objective, x0: Float64Array, options: LbfgsOptions = {}): LbfgsResult {
  const n = x0.length, m = options.memory ?? 10;
  const maxIter = options.maxIter ?? 1000, gtol = options.gtol ?? 1e-6;
  const x = x0.slice();
  const g = new Float64Array(n);
  let fx = f(x, g);
  const S: Float64Array[] = [], Y: Float64Array[] = [], rho: number[] = [];
  const d = new Float64Array(n), alpha = new Float64Array(m);
  const xNew = new Float64Array(n), gNew = new Float64Array(n);
  let iter = 0;
  let converged = maxAbs(g) <= gtol;
  while (!converged && iter < maxIter) {
    // Two-loop recursion: d = −H·g.
    for (let i = 0; i < n; i++) d[i] = -g[i];
    for (let k = S.length - 1; k >= 0; k--) {
      alpha[k] = rho[k] * dot(S[k], d);
      for (let i = 0; i < n; i++) d[i] -= alpha[k] * Y[k][i];
    }
    if (S.length) {
      const last = S.length - 1;
      const gamma = dot(S[last], Y[last]) / dot(Y[last], Y[last]);
      for (let i = 0; i < n; i++) d[i] *= gamma;
    }
    for (let k = 0; k < S.length; k++) {
      const beta = rho[k] * dot(Y[k], d);
      for (let i = 0; i < n; i++) d[i] += S[k][i] * (alpha[k] - beta);
    }
    let dg = dot(d, g);
    if (!(dg < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      S.length = Y.length = rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i];
      dg = dot(d, g);
    }
    const step0 = S.length === 0 ? Math.min(1, 1 / Math.max(maxAbs(g), 1e-12)) : 1;
    const fNew = wolfeSearch(f, x, fx, dg, d, step0, xNew, gNew);
    if (fNew === null) break; // no acceptable step: as close as floating point allows
    const s = new Float64Array(n), yv = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      yv[i] = gNew[i] - g[i];
    }
    const sy = dot(s, yv);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(yv, yv))) {
      if (S.length === m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(yv);
      rho.push(1 / sy);
    }
    const fOld = fx;
    x.set(xNew);
    g.set(gNew);
    fx = fNew;
    iter++;
    options.onIteration?.(iter, fx);
    converged = maxAbs(g) <= gtol;
    if (!converged && Math.abs(fOld - fx) <= 1e-15 * Math.max(1, Math.abs(fx))) break;
  }
  return { x, f: fx, iterations: iter, converged };
}

/**
 * Strong-Wolfe line search along d from x (c1 = 1e-4, c2 = 0.9). Writes the
 * accepted point and gradient into xNew/gNew and returns f there, or null
 * when no step satisfies the conditions within 40 evaluations.
 */
function wolfeSearch(
  f: Objective,
  x: Float64Array,
  f0: number,
  dg0: number,
  d: Float64Array,
  step0: number,
  xNew: Float64Array,
  gNew: Float64Array,
): number | null {
  const c1 = 1e-4, c2 = 0.9, n = x.length;
  const evalAt = (a: number): [number, number] => {
    for (let i = 0; i < n; i++) xNew[i] = x[i] + a * d[i];
    const fa = f(xNew, gNew);
    return [fa, dot(gNew, d)];
  };
  let aLo = 0, fLo = f0, dgLo = dg0;
  let aHi = NaN, fHi = NaN;
  let a = step0;
  for (let evals = 0; evals < 40; evals++) {
    if (Number.isNaN(aHi)) {
      // Bracketing phase.
      const [fa, dga] = evalAt(a);
      if (!Number.isFinite(fa) || fa > f0 + c1 * a * dg0 || (evals > 0 && fa >= fLo)) {
        aHi = a;
        fHi = fa;
      } else if (Math.abs(dga) <= -c2 * dg0) {
        return fa;
      } else if (dga >= 0) {
        aHi = aLo;
        fHi = fLo;
        aLo = a;
        fLo = fa;
        dgLo = dga;
      } else {
        aLo = a;
        fLo = fa;
        dgLo = dga;
        a *= 2;
        continue;
      }
    }
    // Zoom phase: quadratic interpolation from (aLo, fLo, dgLo) and (aHi, fHi), safeguarded.
    const width = aHi - aLo;
    let trial = aLo - (dgLo * width * width) / (2 * (fHi - fLo - dgLo * width));
    const lo = Math.min(aLo, aHi), hi = Math.max(aLo, aHi);
    if (!Number.isFinite(trial) || trial <= lo + 0.1 * (hi - lo) || trial >= hi - 0.1 * (hi - lo)) {
      trial = (aLo + aHi) / 2;
    }
    const [ft, dgt] = evalAt(trial);
    if (!Number.isFinite(ft) || ft > f0 + c1 * trial * dg0 || ft >= fLo) {
      aHi = trial;
      fHi = ft;
    } else {
      if (Math.abs(dgt) <= -c2 * dg0) return ft;
      if (dgt * (aHi - aLo) >= 0) {
        aHi = aLo;
        fHi = fLo;
      }
      aLo = trial;
      fLo = ft;
      dgLo = dgt;
    }
    if (Math.abs(aHi - aLo) < 1e-16 * Math.max(1, Math.abs(aLo))) break;
  }
  // Fall back to the best point seen if it decreased f at all.
  if (aLo > 0 && fLo < f0) {
    evalAt(aLo);
    return fLo;
  }
  return null;
}
