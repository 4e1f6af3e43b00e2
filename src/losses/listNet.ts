/**
 * ListNet top-1 cross-entropy, the ranking half of Combined-List (SPEC §1):
 *   L_list = −Σ_i (y_i / Σ_j y_j) · log softmax(z)_i      within a list,
 * averaged over the lists that have a positive label. A list without positives has no
 * target distribution and contributes exactly 0 (not NaN).
 */
import type { Tensor } from '../tensor/tensor.js';
import { segmentLogSoftmax } from '../autograd/ops/softmax.js';
import { type LossBatch, type Scope, dot, flatLogits, scopeOffsets, zeroLoss } from './common.js';

export interface ListNetOptions {
  /** 'batch': the whole batch is one list; 'group': each of batch.groupOffsets. */
  lists?: Scope;
}

/**
 * Coefficients −y_i/(Σ_g y · lists with positives) of the log-probabilities, or null when no
 * list has a positive label.
 */
export function listTargets(offsets: Int32Array, labels: ArrayLike<number>): Float32Array | null {
  const S = offsets.length - 1;
  const totals = new Float64Array(S);
  let valid = 0;
  for (let s = 0; s < S; s++) {
    for (let i = offsets[s]!; i < offsets[s + 1]!; i++) {
      const y = labels[i]!;
      if (y < 0) throw new Error(`listwise loss: labels must be ≥ 0, got ${y} at row ${i}`);
      totals[s] += y;
    }
    if (totals[s]! > 0) valid++;
  }
  if (valid === 0) return null;
  const coef = new Float32Array(labels.length);
  for (let s = 0; s < S; s++) {
    if (!(totals[s]! > 0)) continue;
    for (let i = offsets[s]!; i < offsets[s + 1]!; i++) coef[i] = -labels[i]! / (totals[s]! * valid);
  }
  return coef;
}

/**
 * −Σ_i (y_i/Σy) log softmax(scores)_i per list, averaged over lists with positives. When no list
 * has a positive, scores must not be the output of ops recorded for this loss alone (they would
 * get no gradient and break backward): check `listTargets` first, as rcr does.
 */
export function softmaxCrossEntropy(scores: Tensor, offsets: Int32Array, labels: ArrayLike<number>): Tensor {
  const coef = listTargets(offsets, labels);
  if (!coef) return zeroLoss(scores);
  return dot(segmentLogSoftmax(scores, offsets), coef);
}

export function listNet(z: Tensor, batch: LossBatch, opts: ListNetOptions = {}): Tensor {
  const zz = flatLogits('listNet', z, batch);
  return softmaxCrossEntropy(zz, scopeOffsets('listNet', batch, opts.lists), batch.labels);
}
