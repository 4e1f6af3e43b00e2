/**
 * DIN's local activation unit (SPEC §4): for a behaviour sequence and the row's target,
 * a_j = MLP([e_b,j ‖ e_t ‖ e_b,j − e_t ‖ e_b,j ⊙ e_t]) and pooled = Σ_j a_j e_b,j. The weights are
 * not normalised (no softmax), so the pooled vector keeps the strength of interest. Sequences are
 * jagged (offsets): a row's absent events are not in the batch at all, so nothing needs masking
 * and an empty history pools to 0.
 */
import type { Activation } from '../backend/kernels.js';
import { mul, sub } from '../autograd/ops/elementwise.js';
import { concat } from '../autograd/ops/layout.js';
import { segmentBroadcast, segmentSum } from '../autograd/ops/segment.js';
import { Tensor } from '../tensor/tensor.js';
import type { Rng } from '../tensor/random.js';
import { MLP } from './mlp.js';
import { Module } from './module.js';

export interface TargetAttentionConfig {
  dim: number;
  hidden: readonly number[];
  activation?: Activation;
}

export class TargetAttention extends Module {
  readonly mlp: MLP;

  constructor(readonly cfg: TargetAttentionConfig, rng: Rng) {
    super();
    this.mlp = this.child('mlp', new MLP({ inDim: 4 * cfg.dim, hidden: cfg.hidden, outDim: 1, activation: cfg.activation ?? 'relu' }, rng));
  }

  /** behaviour [P, dim] (rows of segment s = row s's events), target [S, dim] → pooled [S, dim]. */
  forward(behaviour: Tensor, target: Tensor, offsets: Int32Array): Tensor {
    const S = offsets.length - 1;
    if (offsets[S] === 0) return Tensor.zeros([S, this.cfg.dim]);
    const t = segmentBroadcast(target, offsets);
    const a = this.mlp.forward(concat([behaviour, t, sub(behaviour, t), mul(behaviour, t)], 1));
    return segmentSum(mul(behaviour, a), offsets);
  }
}
