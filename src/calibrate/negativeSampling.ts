/**
 * Negative downsampling and its correction (spec §3).
 *
 * When negatives are kept with probability r (positives all kept), the sample has 1/r times fewer
 * negatives, so a model fitted to it without correction predicts odds p/(1−p) = (true odds) / r.
 * Two equivalent remedies:
 *
 * - train with weights positive : negative = r : 1 ({@link negativeSamplingWeights} uses 1 and 1/r,
 *   the same ratio; the weighted-mean losses of ctrkit divide by Σw, so only the ratio matters);
 * - correct afterwards: q = p / (p + (1 − p)/r), i.e. logit q = logit p + ln r.
 */
import type { NumericArray } from '../metrics/common.js';
import { BaseCalibrator } from './base.js';
import { ScoreSpace, sigmoid } from './scoreSpace.js';

function checkRate(what: string, r: number): void {
  if (!(r > 0 && r <= 1)) throw new RangeError(`${what}: sampling rate must be in (0, 1], got ${r}`);
}

/** Per-row training weights for a sample whose negatives were kept at rate r: 1 for positives, 1/r for negatives. */
export function negativeSamplingWeights(labels: NumericArray, rate: number): Float32Array {
  checkRate('negativeSamplingWeights', rate);
  const out = new Float32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (y !== 0 && y !== 1) throw new RangeError(`negativeSamplingWeights: label at index ${i} is ${String(y)}, expected 0 or 1`);
    out[i] = y === 1 ? 1 : 1 / rate;
  }
  return out;
}

/** q = p / (p + (1 − p)/r): the probability on the full population of a model trained on the sample. */
export function correctDownsampledProbability(p: number, rate: number): number {
  checkRate('correctDownsampledProbability', rate);
  // p = 0 gives 0/(1/r) = 0 and p = 1 gives 1/1: the formula is safe at both ends.
  return p / (p + (1 - p) / rate);
}

/** The same correction in logit space: z + ln r (exact, and free of the 1 − p cancellation near p = 1). */
export function correctDownsampledLogit(z: number, rate: number): number {
  checkRate('correctDownsampledLogit', rate);
  return z + Math.log(rate);
}

/**
 * Effective negative rate r' for CTCVR when impression→click negatives (non-clicks) were sampled at r
 * and click→pay negatives (clicks without pay) were all kept:
 *   r' = (x1 + x2) / (x1/r + x2),
 * x1 = kept non-click impressions, x2 = clicks without pay (both counted after sampling). The CTCVR
 * negatives are both kinds together; of the x1/r + x2 that existed before sampling, x1 + x2 remain.
 */
export function ctcvrNegativeRate(keptNonClicks: number, clicksWithoutPay: number, rate: number): number {
  checkRate('ctcvrNegativeRate', rate);
  const x1 = keptNonClicks, x2 = clicksWithoutPay;
  if (!(x1 >= 0) || !(x2 >= 0) || !Number.isFinite(x1) || !Number.isFinite(x2)) {
    throw new RangeError(`ctcvrNegativeRate: counts must be finite and >= 0, got x1 = ${x1}, x2 = ${x2}`);
  }
  if (x1 + x2 === 0) throw new RangeError('ctcvrNegativeRate: no CTCVR negatives (x1 + x2 = 0), the rate is undefined');
  return (x1 + x2) / (x1 / rate + x2);
}

/** The post-hoc correction as a calibrator, so a model trained on a downsampled set can ship with it. */
export class DownsamplingCalibrator extends BaseCalibrator {
  readonly kind = 'downsampling';

  constructor(readonly rate: number) {
    super();
    checkRate('DownsamplingCalibrator', rate);
  }

  protected map(x: number, input: ScoreSpace): number {
    return input === 'logit' ? sigmoid(x + Math.log(this.rate)) : x / (x + (1 - x) / this.rate);
  }

  toJSON(): { kind: 'downsampling'; rate: number } {
    return { kind: 'downsampling', rate: this.rate };
  }
}
