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
import { type LossBatch, type Scope, flatLogits, scopeOffsets } from './common.js';
import { softmaxCrossEntropy } from './listNet.js';

export interface RcrOptions {
  lists?: Scope;
}

export function rcr(z: Tensor, batch: LossBatch, opts: RcrOptions = {}): Tensor {
  const zz = flatLogits('rcr', z, batch);
  const logSigmoid = neg(softplus(neg(zz)));
  return softmaxCrossEntropy(logSigmoid, scopeOffsets('rcr', batch, opts.lists), batch.labels);
}
