/** Static task weights: L = Σ_t w_t L_t, the baseline every other method is compared with. */
import { add, scale } from '../../autograd/ops/elementwise.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { LossLevelMethod } from './method.js';

export class StaticWeights implements LossLevelMethod {
  readonly name = 'static';
  readonly level = 'loss';

  constructor(private readonly weights: readonly number[]) {
    if (weights.some((w) => !(Number.isFinite(w) && w >= 0))) throw new Error(`StaticWeights: weights must be finite and ≥ 0, got ${weights.join(', ')}`);
  }

  combine(losses: readonly Tensor[]): Tensor {
    if (losses.length !== this.weights.length) throw new Error(`StaticWeights: ${losses.length} losses for ${this.weights.length} weights`);
    const terms = losses.map((l, t) => (this.weights[t] === 1 ? l : scale(l, this.weights[t]!)));
    return terms.reduce((acc, l) => add(acc, l));
  }

  save(): unknown {
    return null;
  }

  load(): void {}
}
