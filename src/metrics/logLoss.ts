/**
 * Binary cross-entropy (log loss) of predicted probabilities, optionally weighted.
 *
 * LogLoss = −Σ w_i [y_i ln p_i + (1−y_i) ln(1−p_i)] / Σ w_i.
 *
 * Clip: p is clamped to [1e-7, 1 − 1e-7] before the logarithm. Without it a single confident
 * mistake (p = 0 for a positive, which float32 model outputs produce routinely once σ saturates)
 * makes the loss +Infinity and the metric useless; with it such a row costs −ln(1e-7) ≈ 16.12.
 * 1e-7 matches scikit-learn's log_loss(eps=1e-7) and the clip of common CTR toolkits, so numbers
 * are comparable. Values are computed in float64 even for Float32Array input.
 */
import {
  CompensatedSum, NumericArray, UndefinedMetricError, checkLabels, checkLengths, checkProbabilities, checkWeights,
} from './common.js';

/** Lower clip bound for probabilities; the upper bound is 1 − LOGLOSS_EPS. */
export const LOGLOSS_EPS = 1e-7;

/**
 * Mean (weighted) log loss of probabilities `probs` against 0/1 `labels`, p clipped to
 * [LOGLOSS_EPS, 1 − LOGLOSS_EPS]. For logits, convert with `probabilitiesFromLogits` first.
 *
 * @throws UndefinedMetricError when the total weight is zero (or there are no rows).
 * @throws RangeError on mismatched lengths, labels outside {0,1}, p outside [0,1], bad weights.
 */
export function logLoss(probs: NumericArray, labels: NumericArray, weights?: NumericArray): number {
  const what = 'logLoss';
  checkLengths(what, probs.length, { labels, weights });
  checkLabels(what, labels);
  checkProbabilities(what, probs);
  checkWeights(what, weights);
  const lo = LOGLOSS_EPS, hi = 1 - LOGLOSS_EPS;
  const loss = new CompensatedSum();
  const total = new CompensatedSum();
  for (let i = 0; i < probs.length; i++) {
    const w = weights === undefined ? 1 : weights[i]!;
    if (w === 0) continue;
    const p = Math.min(hi, Math.max(lo, probs[i]!));
    // log1p(−p) keeps precision for small p, where 1 − p would round away the digits that matter.
    loss.add(-w * (labels[i] === 1 ? Math.log(p) : Math.log1p(-p)));
    total.add(w);
  }
  const W = total.value;
  if (!(W > 0)) throw new UndefinedMetricError('logLoss: undefined over zero total weight');
  return loss.value / W;
}
