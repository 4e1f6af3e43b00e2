/**
 * Undoing `data.sampling` in predictions. A model fit on rows whose negatives were kept at rate r
 * and whose positives weigh β learns odds that are β / r times the real ones, so its probabilities
 * p map back to the full data's by
 *
 *   q = p·r / (p·r + (1 − p)·β)        (β = 1: q = p / (p + (1 − p)/r), correctDownsampled)
 *
 * i.e. logit(q) = logit(p) + ln r − ln β. Monotone, so AUC and rankings do not change; logloss and
 * calibration (ECE, mean predicted CTR) do.
 */
import type { SamplingRecord } from '../io/modelFile.js';

/** What the model manifest records of the sampling, from the training Dataset and config. */
export function samplingRecord(negativeSampleRate: number | undefined, betaPos: number | undefined, correct: boolean): SamplingRecord | undefined {
  const r = negativeSampleRate ?? 1;
  const beta = betaPos ?? 1;
  if (r === 1 && beta === 1) return undefined;
  return { negativeSampleRate: r, betaPos: beta, corrected: correct };
}

/** Probabilities p corrected in place for the sampling (no-op without a record or when correction is off). */
export function correctForSampling(p: Float64Array, s: SamplingRecord | undefined): Float64Array {
  if (s === undefined || !s.corrected) return p;
  const r = s.negativeSampleRate;
  const beta = s.betaPos ?? 1;
  for (let i = 0; i < p.length; i++) {
    const x = p[i]!;
    const a = x * r;
    const den = a + (1 - x) * beta;
    // den = 0 only when p = 0 (then q = 0); the formula would give 0/0.
    p[i] = den > 0 ? a / den : 0;
  }
  return p;
}
