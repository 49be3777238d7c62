/**
 * Order statistics on typed arrays.
 * @module
 */

/**
 * The k-th smallest value (0-based) of `a[0..n)`, by quickselect with a
 * median-of-three pivot; reorders `a`.
 *
 * @example
 * ```ts
 * selectKth(Float64Array.of(5, 1, 4), { n: 3, k: 0 }); // 1
 * ```
 */
export function selectKth(a: Float64Array, at: { n: number; k: number }): number {
  const { n, k } = at;
  let lo = 0, hi = n - 1;
  while (hi > lo) {
    // Median-of-three pivot keeps sorted inputs linear.
    const mid = (lo + hi) >> 1;
    const x = a[lo], y = a[mid], z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : (x < z ? x : y < z ? z : y);
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}
