/**
 * Numeric transforms of raw values. Missing values (NaN) are kept as NaN here; the dataset
 * writer decides what a missing dense value becomes (0 after the transform, i.e. the mean for
 * standardised columns), so that the rule lives in one place.
 */

/** log(1 + v) for v >= 0. Negative values are clamped to 0: counts and prices are the intended use. */
export function log1pClamped(v: number): number {
  return Number.isNaN(v) ? v : Math.log1p(v > 0 ? v : 0);
}

/**
 * Bucket index of v among strictly increasing boundaries: 0 for v < b[0], i for b[i-1] <= v < b[i],
 * b.length for v >= b[last]; -1 for missing.
 */
export function bucketIndex(v: number, boundaries: readonly number[]): number {
  if (Number.isNaN(v)) return -1;
  let lo = 0;
  let hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (boundaries[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Mean and standard deviation (population) of the non-missing values seen, with Welford's update. */
export class RunningMoments {
  count = 0;
  private m = 0;
  private s = 0;

  add(v: number): void {
    if (Number.isNaN(v)) return;
    this.count++;
    const d = v - this.m;
    this.m += d / this.count;
    this.s += d * (v - this.m);
  }

  get mean(): number {
    return this.count === 0 ? 0 : this.m;
  }

  /** 1 when there is no spread, so that standardising a constant column gives 0 instead of NaN. */
  get std(): number {
    const sd = this.count === 0 ? 0 : Math.sqrt(this.s / this.count);
    return sd > 0 ? sd : 1;
  }
}
