/**
 * Calibration bias per slice (a feature's values, a position, a pCTR bucket), two definitions:
 *
 * - ratio bias      Σ w p / Σ w y − 1   (the ads convention: +0.05 = 5% over-prediction; scale-free,
 *                                        so slices with very different base rates compare; null when
 *                                        the slice has no positive label, as the ratio is infinite)
 * - mean difference Σ w (p − y) / Σ w   (always defined; in probability units, the quantity the
 *                                        bias constraints of biasConstraints.ts drive to zero)
 */
import {
  CompensatedSum, NumericArray, checkLabels, checkLengths, checkProbabilities, checkWeights,
} from './common.js';
import { GroupKeyArray, groupRows } from './groups.js';

export interface SliceBias {
  readonly slice: number | string;
  readonly rows: number;
  /** Σ w over the slice. */
  readonly weight: number;
  /** Σ w p and Σ w y. */
  readonly predicted: number;
  readonly observed: number;
  /** Σwp / Σwy − 1; null when Σwy = 0. */
  readonly ratioBias: number | null;
  /** Σ w (p − y) / Σ w; null when Σw = 0. */
  readonly meanBias: number | null;
}

/**
 * Both biases for every slice value, slices in order of first appearance.
 * @throws RangeError on mismatched lengths, labels outside {0,1}, p outside [0,1], bad weights.
 */
export function calibrationBiasBySlice(probs: NumericArray, labels: NumericArray, slices: GroupKeyArray,
  weights?: NumericArray): SliceBias[] {
  const what = 'calibrationBiasBySlice';
  checkLengths(what, probs.length, { labels, slices, weights });
  checkLabels(what, labels);
  checkProbabilities(what, probs);
  checkWeights(what, weights);
  const g = groupRows(slices);
  const out: SliceBias[] = [];
  for (let s = 0; s < g.keys.length; s++) {
    const W = new CompensatedSum(), P = new CompensatedSum(), Y = new CompensatedSum();
    for (let k = g.start[s]!; k < g.start[s + 1]!; k++) {
      const r = g.rows[k]!;
      const w = weights === undefined ? 1 : weights[r]!;
      W.add(w);
      P.add(w * probs[r]!);
      Y.add(w * labels[r]!);
    }
    out.push({
      slice: g.keys[s]!, rows: g.start[s + 1]! - g.start[s]!, weight: W.value, predicted: P.value, observed: Y.value,
      ratioBias: Y.value > 0 ? P.value / Y.value - 1 : null,
      meanBias: W.value > 0 ? (P.value - Y.value) / W.value : null,
    });
  }
  return out;
}
