import { add, mul } from '../autograd/ops/elementwise.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Rng } from '../tensor/random.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

export interface CrossNetConfig {
  dim: number;
  layers: number;
  /** Low-rank cross (W = U·Vᵀ, rank r); undefined = full rank. */
  rank?: number;
}

/** DCN-v2 cross network: x_{l+1} = x_0 ⊙ (W_l x_l + b_l) + x_l. */
export class CrossNet extends Module {
  readonly layers: Linear[] = [];

  constructor(readonly cfg: CrossNetConfig, rng: Rng) {
    super();
    for (let i = 0; i < cfg.layers; i++) {
      this.layers.push(this.child(`layers.${i}`, new Linear({ inDim: cfg.dim, outDim: cfg.dim, rank: cfg.rank }, rng)));
    }
  }

  forward(x0: Tensor): Tensor {
    let x = x0;
    for (const l of this.layers) x = add(mul(x0, l.forward(x)), x);
    return x;
  }
}
