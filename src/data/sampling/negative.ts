/**
 * Negative downsampling (SPEC §3): keep every positive and each negative with probability r. The
 * rate is recorded on the Dataset (and so in a cache manifest) because a model trained on the
 * sample over-predicts by a known factor, which either training weights or a closed-form
 * correction of the predictions must undo.
 */
import type { Dataset } from '../dataset.js';
import { bernoulliKeep } from './bernoulli.js';
import { selectRows } from './subset.js';

export function checkRate(r: number, who: string): void {
  if (!(r > 0 && r <= 1)) throw new RangeError(`${who}: sampling rate must be in (0, 1], got ${r}`);
}

export interface DownsampleOptions {
  /** Which label decides positive (> 0) vs negative; default 0 (the first task). */
  label?: number;
}

/**
 * Rows [start, end) of `labels` that negative downsampling at rate `r` keeps (ascending): every
 * positive, and each negative with probability r. The draws are those of negativeDownsample, so
 * sampling a row range gives the rows negativeDownsample would keep of that range alone.
 */
export function negativeKeep(labels: Float32Array, r: number, seed: number, start = 0, end = labels.length): Int32Array {
  checkRate(r, 'negativeKeep');
  return bernoulliKeep((i) => (labels[i]! > 0 ? 1 : r), seed, start, end);
}

/**
 * Keeps all positives and each negative with probability `r` (seeded: same seed, same rows).
 * negativeSampleRate multiplies, so downsampling an already downsampled dataset records the
 * overall rate.
 */
export function negativeDownsample(ds: Dataset, r: number, seed: number, options: DownsampleOptions = {}): Dataset {
  checkRate(r, 'negativeDownsample');
  const y = ds.labels[options.label ?? 0];
  if (y === undefined) throw new Error(`negativeDownsample: no label ${options.label ?? 0}`);
  const out = selectRows(ds, negativeKeep(y, r, seed));
  out.negativeSampleRate = (ds.negativeSampleRate ?? 1) * r;
  return out;
}

/**
 * Training weights that undo downsampling at rate r: positives 1, negatives 1/r, i.e. 1 / keep
 * probability, the convention of every sampler here (see positiveWeight.ts).
 */
export function negativeWeights(labels: Float32Array, r: number): Float32Array {
  checkRate(r, 'negativeWeights');
  const w = new Float32Array(labels.length);
  for (let i = 0; i < labels.length; i++) w[i] = labels[i]! > 0 ? 1 : 1 / r;
  return w;
}

/**
 * The probability on the full data of a model fitted to rows whose negatives were kept at rate r
 * and whose positives weigh β: such a model learns odds β / r times the real ones, so
 *   q = p·r / (p·r + (1 − p)·β)        (logit q = logit p + ln r − ln β).
 * The one implementation of the correction (correctDownsampled is β = 1, the saved-model scoring
 * path passes the recorded r and β).
 */
export function correctSampled(p: number, r: number, beta = 1): number {
  const a = p * r;
  // β > 0, so the denominator is positive for every p in [0, 1]; a NaN p stays NaN (not a silent 0).
  return a / (a + (1 - p) * beta);
}

/** Probability on the full data from one predicted on data downsampled at r: q = p / (p + (1−p)/r). */
export function correctDownsampled(p: number, r: number): number;
export function correctDownsampled(p: Float32Array, r: number): Float32Array;
export function correctDownsampled(p: number | Float32Array, r: number): number | Float32Array {
  checkRate(r, 'correctDownsampled');
  if (typeof p === 'number') return correctSampled(p, r);
  const q = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) q[i] = correctSampled(p[i]!, r);
  return q;
}

/** The same correction in logit space, logit q = z + ln r − ln β (no 1 − p cancellation near p = 1). */
export function correctSampledLogit(z: number, r: number, beta = 1): number {
  checkRate(r, 'correctSampledLogit');
  return z + Math.log(r) - Math.log(beta);
}

/**
 * The CTCVR negative rate when impression→click negatives were sampled at r and click→pay was not:
 * r' = (x1 + x2) / (x1/r + x2), x1 = kept non-click impressions, x2 = clicks without pay (after sampling).
 */
export function ctcvrSampleRate(x1: number, x2: number, r: number): number {
  checkRate(r, 'ctcvrSampleRate');
  if (!(x1 >= 0 && x2 >= 0 && Number.isFinite(x1) && Number.isFinite(x2))) {
    throw new RangeError(`ctcvrSampleRate: counts must be finite and >= 0, got x1 = ${x1}, x2 = ${x2}`);
  }
  if (x1 + x2 === 0) throw new RangeError('ctcvrSampleRate: no CTCVR negatives (x1 + x2 = 0), the rate is undefined');
  return (x1 + x2) / (x1 / r + x2);
}

/** ctcvrSampleRate with x1 and x2 counted from (downsampled) click and pay labels. */
export function ctcvrSampleRateFromLabels(click: Float32Array, pay: Float32Array, r: number): number {
  if (click.length !== pay.length) throw new Error('ctcvrSampleRateFromLabels: click and pay labels differ in length');
  let x1 = 0;
  let x2 = 0;
  for (let i = 0; i < click.length; i++) {
    if (!(click[i]! > 0)) x1++;
    else if (!(pay[i]! > 0)) x2++;
  }
  return ctcvrSampleRate(x1, x2, r);
}
