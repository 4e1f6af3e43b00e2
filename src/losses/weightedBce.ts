/**
 * Weighted binary cross-entropy (SPEC §1):
 *   L = −Σ w_i [y_i log p_i + (1−y_i) log(1−p_i)] / Σ w_i,   p = σ(z),
 * computed from logits in the softplus form by the fused kernel, never as log σ(z).
 */
import type { Tensor } from '../tensor/tensor.js';
import { bceWithLogits } from '../autograd/ops/loss.js';
import { type LossBatch, checkUnitLabels, flatLogits, sampleWeights } from './common.js';

export interface WeightedBceOptions {
  /**
   * Weight of the positive class, folded into the sample weights (1 = plain BCE). β_pos < 1
   * simulates sparse positives on Criteo (KDD'24); evaluate with the same β_pos
   * (`sampleWeights`) so that train and test losses measure the same thing.
   */
  betaPos?: number;
}

export function weightedBce(z: Tensor, batch: LossBatch, opts: WeightedBceOptions = {}): Tensor {
  const zz = flatLogits('weightedBce', z, batch);
  checkUnitLabels('weightedBce', batch.labels);
  return bceWithLogits(zz, batch.labels, sampleWeights(batch, opts.betaPos));
}
