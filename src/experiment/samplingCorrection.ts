/**
 * Undoing `data.sampling` in predictions. A model fit on rows whose negatives were kept at rate r
 * and whose positives weigh β learns odds that are β / r times the real ones, so its probabilities
 * p map back to the full data's by
 *
 *   q = p·r / (p·r + (1 − p)·β)        (correctSampled, src/data/sampling)
 *
 * Monotone, so AUC and rankings do not change; logloss and
 * calibration (ECE, mean predicted CTR) do.
 */
import { correctSampled } from '../data/sampling/negative.js';
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
  for (let i = 0; i < p.length; i++) p[i] = correctSampled(p[i]!, r, beta);
  return p;
}
