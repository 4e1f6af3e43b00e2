/**
 * Seed statistics of an experiment report: mean ± a t-based 95 % confidence interval over n
 * seeds, and the same for a cell's difference from the baseline, paired by seed (the same seed
 * gives both cells the same initial weights and batch order, so pairing removes that shared
 * noise and the interval reflects the method alone).
 */

/** t_{0.975, ν} for ν = 1..30 (two-sided 95 %); larger ν use a Cornish–Fisher expansion. */
const T975 = [
  12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157, 2.228139,
  2.200985, 2.178813, 2.160369, 2.144787, 2.13145, 2.119905, 2.109816, 2.100922, 2.093024, 2.085963,
  2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831, 2.048407, 2.04523, 2.042272,
];

/** Two-sided 95 % quantile of Student's t with ν degrees of freedom (error < 1e-6). */
export function tQuantile975(nu: number): number {
  if (!(Number.isInteger(nu) && nu >= 1)) throw new Error(`tQuantile975: degrees of freedom must be a positive integer, got ${nu}`);
  if (nu <= T975.length) return T975[nu - 1]!;
  const z = 1.959963984540054;
  return z + (z ** 3 + z) / (4 * nu) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * nu ** 2)
    + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * nu ** 3);
}

export interface MeanCI {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1); null for n < 2. */
  sd: number | null;
  /** Half-width t_{0.975, n−1} · sd / √n; null for n < 2 (no spread to estimate). */
  halfWidth: number | null;
  /** mean ∓ halfWidth (null with halfWidth). */
  lower: number | null;
  upper: number | null;
}

/** Mean and 95 % CI of the values; null when there are none. */
export function meanCI(xs: readonly number[]): MeanCI | null {
  const n = xs.length;
  if (n === 0) return null;
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  if (n < 2) return { n, mean, sd: null, halfWidth: null, lower: null, upper: null };
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  const halfWidth = (tQuantile975(n - 1) * sd) / Math.sqrt(n);
  return { n, mean, sd, halfWidth, lower: mean - halfWidth, upper: mean + halfWidth };
}

/**
 * CI of cell − baseline over the seeds both have a value for (paired differences); null when
 * they share none.
 */
export function pairedDifferenceCI(cell: ReadonlyMap<number, number>, baseline: ReadonlyMap<number, number>): MeanCI | null {
  const d: number[] = [];
  for (const [seed, v] of [...cell].sort((a, b) => a[0] - b[0])) {
    const b = baseline.get(seed);
    if (b !== undefined) d.push(v - b);
  }
  return meanCI(d);
}
