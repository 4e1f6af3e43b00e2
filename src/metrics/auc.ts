/**
 * Exact ROC AUC as the (optionally weighted) Mann-Whitney statistic.
 *
 * AUC = P(score of a random positive > score of a random negative) + ½ P(equal), with pairs weighted
 * by w_pos · w_neg. Computed by one O(n log n) sort and a walk over tie groups: each group of equal
 * scores contributes W+_group · (W−_below + ½ W−_group). This equals the trapezoidal area under the
 * weighted ROC curve (what scikit-learn's roc_auc_score returns), including its tie handling.
 */
import {
  CompensatedSum, NumericArray, UndefinedMetricError, checkLabels, checkLengths, checkRankable, checkWeights,
} from './common.js';

/** AUC with the positive and negative mass it was computed over (counts, or weight sums). */
export interface AucDetail {
  /** NaN when one class has zero mass; the public functions turn that into UndefinedMetricError. */
  readonly auc: number;
  readonly positives: number;
  readonly negatives: number;
}

/**
 * Unchecked core over a subset of rows: sorts `rows` in place by score, then walks tie groups.
 * Exposed for GAUC and the streaming accumulator, which validate once and call this per group/chunk.
 */
export function aucOverRows(scores: NumericArray, labels: NumericArray, weights: NumericArray | undefined,
  rows: Uint32Array): AucDetail {
  // Explicit comparisons rather than `a - b`: Infinity - Infinity is NaN, which would break the sort.
  rows.sort((a, b) => {
    const sa = scores[a]!, sb = scores[b]!;
    return sa < sb ? -1 : sa > sb ? 1 : 0;
  });
  const area = new CompensatedSum();
  const negBelow = new CompensatedSum();
  const pos = new CompensatedSum();
  const m = rows.length;
  let i = 0;
  while (i < m) {
    const s = scores[rows[i]!]!;
    let wp = 0, wn = 0;
    let j = i;
    for (; j < m; j++) {
      const r = rows[j]!;
      if (scores[r] !== s) break;
      const w = weights === undefined ? 1 : weights[r]!;
      if (labels[r] === 1) wp += w; else wn += w;
    }
    if (wp > 0) area.add(wp * (negBelow.value + 0.5 * wn));
    negBelow.add(wn);
    pos.add(wp);
    i = j;
  }
  const P = pos.value, N = negBelow.value;
  return { auc: P > 0 && N > 0 ? area.value / (P * N) : Number.NaN, positives: P, negatives: N };
}

/** All row indices 0..n-1, the `rows` argument for a whole-array AUC. */
export function allRows(n: number): Uint32Array {
  const rows = new Uint32Array(n);
  for (let i = 0; i < n; i++) rows[i] = i;
  return rows;
}

/**
 * Exact AUC of `scores` (probabilities, logits or any monotone score: only the order matters)
 * against 0/1 `labels`, ties counted ½, optional non-negative sample `weights`.
 *
 * @throws UndefinedMetricError when positives or negatives have zero total weight.
 * @throws RangeError on mismatched lengths, labels outside {0,1}, NaN scores, negative weights.
 */
export function auc(scores: NumericArray, labels: NumericArray, weights?: NumericArray): number {
  return aucDetail(scores, labels, weights).auc;
}

/** As {@link auc}, also returning the positive/negative mass. */
export function aucDetail(scores: NumericArray, labels: NumericArray, weights?: NumericArray): AucDetail {
  const what = 'auc';
  checkLengths(what, scores.length, { labels, weights });
  checkLabels(what, labels);
  checkRankable(what, scores);
  checkWeights(what, weights);
  const d = aucOverRows(scores, labels, weights, allRows(scores.length));
  if (Number.isNaN(d.auc)) {
    throw new UndefinedMetricError(
      `auc: undefined with only one class present (positive mass ${d.positives}, negative mass ${d.negatives})`);
  }
  return d;
}
