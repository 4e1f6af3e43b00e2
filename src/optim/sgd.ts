import { backend } from '../backend/index.js';
import type { EmbeddingTable, Parameter, SparseGrad } from '../tensor/tensor.js';
import { Optimizer, type GroupOptions, type GroupSpec } from './optimizer.js';

export interface SGDOptions extends GroupOptions {
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

/** SGD with optional (Nesterov) momentum and weight decay (PyTorch semantics); tables: plain sparse SGD. */
export class SGD extends Optimizer<SGDOptions> {
  constructor(groups: GroupSpec<SGDOptions>[], defaults: Partial<SGDOptions> & { lr: number }) {
    super(groups, { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, ...defaults });
    for (const g of this.groups) {
      if (g.options.nesterov && (g.options.momentum <= 0 || g.options.dampening !== 0)) {
        throw new Error('SGD: Nesterov momentum requires momentum > 0 and dampening = 0');
      }
    }
  }

  protected updateDense(p: Parameter, key: string, o: SGDOptions): void {
    const first = !this.state.has(`${key}.mom`);
    const mom = o.momentum !== 0 ? this.slot(`${key}.mom`, p.size) : null;
    backend().sgdStep(p.data, p.grad, mom, p.size, o.lr, o.momentum, o.dampening, o.nesterov, o.weightDecay, first);
  }

  protected updateTable(t: EmbeddingTable, g: SparseGrad, _key: string, o: SGDOptions): void {
    backend().sparseSgd(t.data, t.dim, g.rows, g.values, g.count, o.lr);
  }
}
