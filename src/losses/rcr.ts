/**
 * Regression-compatible ranking (Bai et al. WWW'23; SPEC §1): listwise cross-entropy on the
 * *sigmoid* outputs,
 *   L_rcr = −Σ_i (y_i/Σy) log( σ(z_i) / Σ_j σ(z_j) ).
 * Since σ(z_i)/Σ_j σ(z_j) = softmax(log σ(z))_i, this is ListNet applied to log σ(z) =
 * −softplus(−z), which keeps the normaliser in log-sum-exp form (no underflow of σ for very
 * negative logits). Lists without positives contribute 0.
 */
import type { Tensor } from '../tensor/tensor.js';
import { neg, softplus } from '../autograd/ops/elementwise.js';
import { segmentLogSoftmax } from '../autograd/ops/softmax.js';
import { type LossBatch, type Scope, dot, flatLogits, scopeOffsets, zeroLoss } from './common.js';
import { listTargets } from './listNet.js';

export interface RcrOptions {
  lists?: Scope;
}

export function rcr(z: Tensor, batch: LossBatch, opts: RcrOptions = {}): Tensor {
  const zz = flatLogits('rcr', z, batch);
  const offsets = scopeOffsets('rcr', batch, opts.lists);
  // Decide before recording anything: an op left on the tape with no path to the loss would
  // receive no gradient and break backward.
  const coef = listTargets(offsets, batch.labels);
  if (!coef) return zeroLoss(zz);
  const logSigmoid = neg(softplus(neg(zz)));
  return dot(segmentLogSoftmax(logSigmoid, offsets), coef);
}
