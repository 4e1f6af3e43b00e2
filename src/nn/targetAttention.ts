/**
 * DIN's local activation unit (SPEC §4): for a behaviour sequence and the row's target,
 * a_j = MLP([e_b,j ‖ e_t ‖ e_b,j − e_t ‖ e_b,j ⊙ e_t]) and pooled = Σ_j a_j e_b,j. The weights are
 * not normalised (no softmax), so the pooled vector keeps the strength of interest. Sequences are
 * jagged (offsets): a row's absent events are not in the batch at all, so nothing needs masking
 * and an empty history pools to 0.
 *
 * With one hidden layer (the usual unit) the first layer is folded: W1 = [A; B; C; D] by input
 * block gives z = e_b·(A + C + diag(e_t)·D) + e_t·(B − C) + b1, a [d, h] matrix per row applied to
 * each event (d·h multiply-adds instead of 4d·h), and the whole unit runs as one fused kernel
 * (`targetAttentionUnit`). The same function as the concatenation, rounded differently; the
 * weights keep their [4d, h] layout, so checkpoints are unaffected.
 */
import type { Activation } from '../backend/kernels.js';
import { add, mul, relu, sigmoid, smelu, sub, tanh } from '../autograd/ops/elementwise.js';
import { slice } from '../autograd/ops/layout.js';
import { targetAttentionUnit } from '../autograd/ops/attention.js';
import { linear, segmentLinear } from '../autograd/ops/linear.js';
import { segmentBroadcast, segmentWeightedSum } from '../autograd/ops/segment.js';
import { Tensor } from '../tensor/tensor.js';
import type { Rng } from '../util/random.js';
import { Linear } from './linear.js';
import { MLP } from './mlp.js';
import { Module } from './module.js';

export interface TargetAttentionConfig {
  dim: number;
  /** Hidden widths of the attention MLP (at least one layer). */
  hidden: readonly number[];
  activation?: Activation;
}

const SMELU_BETA = 1;
const ACTIVATIONS: Record<Activation, (x: Tensor) => Tensor> = { relu, sigmoid, tanh, smelu: (x) => smelu(x, SMELU_BETA), none: (x) => x };

export class TargetAttention extends Module {
  /** The MLP's first layer, W [4·dim, hidden[0]] over the concatenation above. */
  readonly input: Linear;
  /** The rest of the MLP, ending in one output. */
  readonly mlp: MLP;

  constructor(readonly cfg: TargetAttentionConfig, rng: Rng) {
    super();
    const [h0, ...rest] = cfg.hidden;
    if (h0 === undefined) throw new Error('TargetAttention: hidden needs at least one layer');
    this.input = this.child('input', new Linear({ inDim: 4 * cfg.dim, outDim: h0 }, rng));
    this.mlp = this.child('mlp', new MLP({ inDim: h0, hidden: rest, outDim: 1, activation: cfg.activation ?? 'relu' }, rng));
  }

  /** behaviour [P, dim] (rows of segment s = row s's events), target [S, dim] → pooled [S, dim]. */
  forward(behaviour: Tensor, target: Tensor, offsets: Int32Array): Tensor {
    const { dim } = this.cfg;
    const S = offsets.length - 1;
    if (offsets[S] === 0) return Tensor.zeros([S, dim]);
    const act = this.cfg.activation ?? 'relu';
    const out = this.mlp.layers[0]!;
    // An int8 copy of the output unit (eval under --precision int8) is honoured by the composed path.
    if (this.cfg.hidden.length === 1 && out.W && out.b && !out.reduced) {
      return targetAttentionUnit(behaviour, target, offsets, this.input.W!, this.input.b!, out.W, out.b, act, act === 'smelu' ? SMELU_BETA : 0);
    }
    // The first layer over the concatenation, split by blocks W = [W1; W2; W3; W4]:
    // e_b·(W1 + W3) + e_t·(W2 − W3) + (e_b ⊙ e_t)·W4 + b. The e_t term is computed once per row and
    // repeated over its events, and no [P, 4·dim] concatenation is formed: the same function, at
    // about half the per-event work.
    const W = this.input.W!;
    const block = (k: number): Tensor => slice(W, 0, k * dim, (k + 1) * dim);
    const perRow = linear(target, sub(block(1), block(2)), this.input.b);
    const t = segmentBroadcast(target, offsets);
    const z = segmentLinear([[behaviour, add(block(0), block(2))], [mul(behaviour, t), block(3)]], perRow, offsets);
    const a = this.mlp.forward(ACTIVATIONS[act](z));
    return segmentWeightedSum(behaviour, a, offsets);
  }
}
