/**
 * Keep probabilities of the inverse-propensity samplers (SPEC §6): loss-based sampling, whose
 * probabilities come from a teacher's per-row loss, and position-based sampling, which thins
 * impressions at hard-to-see positions. A kept row weighs 1/p (sampleFitRows, sampleStreamRows),
 * so weighted sums over the sample stay unbiased estimates of the sums over every row; no
 * prediction correction is needed, unlike unweighted negative downsampling.
 */

export interface LossKeepOptions {
  /** The mean keep probability over the rows (positives included). */
  keepRate: number;
  /** Floor of every probability: caps a kept row's weight at 1/pMin (the variance of the estimate). */
  pMin: number;
  /** Positives are kept with probability 1 (rare, and the loss of a click is what the model is for). */
  keepPositives: boolean;
}

/** Binary cross-entropy of logit z against label y, ln(1 + e^z) − y·z without overflow. */
export function bceOfLogit(z: number, y: number): number {
  return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - y * z;
}

/**
 * p_i = clip(c · ℓ_i, pMin, 1), c > 0 chosen so that the mean of p over the rows is keepRate
 * (positives at 1 with keepPositives). Rows the teacher finds hard (high loss) are kept more often,
 * easy ones down to pMin. The mean is continuous and non-decreasing in c, so c is found by
 * bisection; the result depends only on the losses, so the same rows give the same probabilities.
 */
export function lossKeepProbs(losses: ArrayLike<number>, labels: ArrayLike<number>, o: LossKeepOptions): Float32Array {
  const n = losses.length;
  if (labels.length !== n) throw new Error(`lossKeepProbs: ${labels.length} labels for ${n} losses`);
  if (!(o.pMin > 0 && o.pMin <= o.keepRate && o.keepRate <= 1)) throw new RangeError(`lossKeepProbs: need 0 < pMin (${o.pMin}) <= keepRate (${o.keepRate}) <= 1`);
  const fixed = (i: number): boolean => o.keepPositives && labels[i]! > 0;
  // The smallest positive loss of a row not kept anyway: at c = 1 / it every such row is at 1.
  let minLoss = Infinity;
  let zeros = 0;
  for (let i = 0; i < n; i++) {
    const l = losses[i]!;
    if (!(l >= 0 && Number.isFinite(l))) throw new RangeError(`lossKeepProbs: loss of row ${i} is ${l}, expected finite and >= 0`);
    if (fixed(i)) continue;
    if (l > 0) minLoss = Math.min(minLoss, l);
    else zeros++;
  }
  const out = new Float32Array(n);
  const prob = (i: number, c: number): number => (fixed(i) ? 1 : Math.min(1, Math.max(o.pMin, c * losses[i]!)));
  const mean = (c: number): number => {
    let s = 0;
    for (let i = 0; i < n; i++) s += prob(i, c);
    return s / n;
  };
  const floor = mean(0);
  if (n > 0 && o.keepRate < floor - 1e-12) {
    throw new RangeError(`keepRate ${o.keepRate} is below what pMin and the kept positives alone keep (${floor.toPrecision(4)} of the rows): raise keepRate or lower pMin`);
  }
  const ceiling = n === 0 ? 1 : 1 - (zeros * (1 - o.pMin)) / n;
  if (o.keepRate > ceiling + 1e-12) {
    throw new RangeError(`keepRate ${o.keepRate} is above what the losses allow (${zeros} rows have loss 0 and stay at pMin: at most ${ceiling.toPrecision(4)})`);
  }
  if (minLoss === Infinity || o.keepRate >= ceiling) {
    const c = minLoss === Infinity ? 0 : 1 / minLoss;
    for (let i = 0; i < n; i++) out[i] = prob(i, c);
    return out;
  }
  let lo = 0;
  let hi = 1 / minLoss;
  for (let it = 0; it < 200 && hi - lo > hi * 1e-15; it++) {
    const mid = (lo + hi) / 2;
    if (mean(mid) < o.keepRate) lo = mid;
    else hi = mid;
  }
  for (let i = 0; i < n; i++) out[i] = prob(i, hi);
  return out;
}

/** Position-based sampling: per-position keep probabilities, else `rate` beyond `beyond`, else 1. */
export interface PositionKeep {
  beyond?: number | undefined;
  rate?: number | undefined;
  /** Keep probability of a row whose position is exactly the key. */
  rates?: ReadonlyMap<number, number> | undefined;
}

export function positionKeepProb(position: number, s: PositionKeep): number {
  const r = s.rates?.get(position);
  if (r !== undefined) return r;
  return s.beyond !== undefined && position > s.beyond ? s.rate ?? 1 : 1;
}
