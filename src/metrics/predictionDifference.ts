/**
 * Prediction difference between two models on the same rows (reproducibility metric, Google ads):
 * PD = Σ w_i |p_i1 − p_i2| / ((p_i1 + p_i2)/2) / Σ w_i — a relative difference, so a shift at
 * p = 0.01 counts as much as the same proportional shift at p = 0.5.
 */
import {
  CompensatedSum, NumericArray, UndefinedMetricError, checkLengths, checkProbabilities, checkWeights,
} from './common.js';

/**
 * Mean relative absolute difference of two probability vectors (optionally weighted). A row where
 * both predictions are exactly 0 contributes 0: the models agree there, and 0/0 has no other reading.
 * @throws UndefinedMetricError over zero total weight. @throws RangeError on malformed input.
 */
export function predictionDifference(a: NumericArray, b: NumericArray, weights?: NumericArray): number {
  const what = 'predictionDifference';
  checkLengths(what, a.length, { b, weights });
  checkProbabilities(what, a);
  checkProbabilities(what, b);
  checkWeights(what, weights);
  const num = new CompensatedSum();
  const den = new CompensatedSum();
  for (let i = 0; i < a.length; i++) {
    const w = weights === undefined ? 1 : weights[i]!;
    if (w === 0) continue;
    const x = a[i]!, y = b[i]!;
    const mean = (x + y) / 2;
    if (mean > 0) num.add(w * Math.abs(x - y) / mean);
    den.add(w);
  }
  const W = den.value;
  if (!(W > 0)) throw new UndefinedMetricError('predictionDifference: undefined over zero total weight');
  return num.value / W;
}
