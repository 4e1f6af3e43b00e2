import type { Activation } from '../backend/kernels.js';
import { linear } from '../autograd/ops/linear.js';
import { mul } from '../autograd/ops/elementwise.js';
import type { Parameter, Tensor } from '../tensor/tensor.js';
import type { Rng } from '../util/random.js';
import { Module } from './module.js';
import { xavierUniform } from './init.js';
import type { ReducedWeights } from './reducedWeights.js';
import { WeightPacks, weightPacks } from './packedWeights.js';

export interface LinearConfig {
  inDim: number;
  outDim: number;
  bias?: boolean;
  activation?: Activation;
  /** SmeLU's beta when activation = 'smelu'. */
  smeluBeta?: number;
  /** Low-rank bottleneck: W = U·V with U [in, rank], V [rank, out] (no activation between). */
  rank?: number;
}

/** Dense layer y = act(x·W + b) with W stored [in, out]; optionally factorised W = U·V. */
export class Linear extends Module {
  readonly W: Parameter | null;
  readonly U: Parameter | null;
  readonly V: Parameter | null;
  readonly b: Parameter | null;
  /**
   * Reduced-precision (int8 / bf16) copy of W for scoring (set by src/nn/quantize.ts), used in
   * eval mode only; it is a snapshot of W, so training the layer again fails loudly rather than
   * using stale weights.
   */
  reduced: ReducedWeights | null = null;
  /** Pre-packed weights for eval-mode forwards (dropped on entering training). @internal */
  readonly [weightPacks] = new WeightPacks();

  constructor(readonly cfg: LinearConfig, rng: Rng) {
    super();
    const { inDim, outDim, rank } = cfg;
    if (rank !== undefined && rank > 0) {
      this.W = null;
      this.U = this.param('U', xavierUniform(new Float32Array(inDim * rank), inDim, rank, rng), [inDim, rank]);
      this.V = this.param('V', xavierUniform(new Float32Array(rank * outDim), rank, outDim, rng), [rank, outDim]);
    } else {
      this.W = this.param('W', xavierUniform(new Float32Array(inDim * outDim), inDim, outDim, rng), [inDim, outDim]);
      this.U = this.V = null;
    }
    this.b = cfg.bias === false ? null : this.param('b', new Float32Array(outDim), [outDim]);
  }

  /**
   * `rankMask` ([1, rank] of 0 / 1, low-rank layers only) keeps the first columns of x·U: the
   * layer then computes exactly what a layer of that smaller rank would (a super-network's
   * candidate, src/models/superDcnv2.ts).
   */
  forward(x: Tensor, rankMask?: Tensor): Tensor {
    const act = this.cfg.activation ?? 'none';
    const beta = this.cfg.smeluBeta ?? 1;
    if (this.W) {
      if (rankMask) throw new Error('Linear: a rank mask needs a low-rank layer (rank set)');
      if (this.reduced) {
        const p = this.reduced.precision;
        if (this.training) throw new Error(`Linear: this layer holds ${p} weights for inference; ${p} precision is never used in training`);
        return this.reduced.forward(x, this.b, act, beta);
      }
      return linear(x, this.W, this.b, act, beta, this.packed(this.W));
    }
    const low = linear(x, this.U!, null, 'none', 0, this.packed(this.U!));
    return linear(rankMask ? mul(low, rankMask) : low, this.V!, this.b, act, beta, this.packed(this.V!));
  }

  /**
   * p pre-packed in eval mode (inference: p is constant between optimiser steps); null while
   * training, and for a one-column p (its product is a matrix-vector one, which packs nothing).
   */
  packed(p: Parameter): Float32Array | null {
    return this.training || p.shape[1] === 1 ? null : this[weightPacks].get(p);
  }

  override train(on = true): this {
    if (on) this[weightPacks].clear();
    return super.train(on);
  }

  /**
   * The last product of forward as (a, W): y = a·W + b. For a fused consumer of the pre-bias
   * product (the DCN-v2 cross update); null when forward is not a plain product (an activation,
   * reduced-precision weights), so the caller uses forward.
   */
  lastProduct(x: Tensor, rankMask?: Tensor): { a: Tensor; W: Parameter } | null {
    if ((this.cfg.activation ?? 'none') !== 'none' || this.reduced) return null;
    if (this.W) {
      if (rankMask) throw new Error('Linear: a rank mask needs a low-rank layer (rank set)');
      return { a: x, W: this.W };
    }
    const low = linear(x, this.U!, null, 'none', 0, this.packed(this.U!));
    return { a: rankMask ? mul(low, rankMask) : low, W: this.V! };
  }
}
