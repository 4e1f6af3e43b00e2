import { backend } from '../backend/index.js';
import type { EmbeddingTable, Parameter, SparseGrad } from '../tensor/tensor.js';
import { Optimizer, type GroupOptions, type GroupSpec } from './optimizer.js';

export interface AdamOptions extends GroupOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: weight decay decoupled from the gradient. */
  decoupled: boolean;
}

/**
 * Adam / AdamW for dense parameters; tables use lazy Adam (PyTorch SparseAdam): only rows in
 * the batch move and only their moments are updated.
 */
export class Adam extends Optimizer<AdamOptions> {
  constructor(groups: GroupSpec<AdamOptions>[], defaults: Partial<AdamOptions> & { lr: number }) {
    super(groups, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, ...defaults });
  }

  protected updateDense(p: Parameter, key: string, o: AdamOptions): void {
    const m = this.slot(`${key}.m`, p.size);
    const v = this.slot(`${key}.v`, p.size);
    backend().adamStep(p.data, p.grad, m, v, p.size, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, o.decoupled, this.stepCount);
  }

  protected updateTable(t: EmbeddingTable, g: SparseGrad, key: string, o: AdamOptions): void {
    const n = t.numRows * t.dim;
    const m = this.slot(`${key}.m`, n);
    const v = this.slot(`${key}.v`, n);
    backend().sparseAdam(t.data, t.dim, m, v, g.rows, g.values, g.count, o.lr, o.beta1, o.beta2, o.eps, this.stepCount);
  }
}

/** AdamW (decoupled weight decay, default 0.01 as in PyTorch). */
export class AdamW extends Adam {
  constructor(groups: GroupSpec<AdamOptions>[], defaults: Partial<AdamOptions> & { lr: number }) {
    super(groups, { weightDecay: 0.01, ...defaults, decoupled: true });
  }
}
