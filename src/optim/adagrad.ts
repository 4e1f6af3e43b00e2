import { backend } from '../backend/index.js';
import type { EmbeddingTable, Parameter, SparseGrad } from '../tensor/tensor.js';
import { Optimizer, type GroupOptions, type GroupSpec } from './optimizer.js';

export interface AdaGradOptions extends GroupOptions {
  eps: number;
  weightDecay: number;
  /** Initial value of the squared-gradient accumulator. */
  initialAccumulator: number;
  /** Tables: one accumulator per row (mean of g² over the row) instead of per element. */
  rowwise: boolean;
}

/** AdaGrad: acc += g², p −= lr·g/(√acc + eps); tables updated on touched rows only. */
export class AdaGrad extends Optimizer<AdaGradOptions> {
  constructor(groups: GroupSpec<AdaGradOptions>[], defaults: Partial<AdaGradOptions> & { lr: number }) {
    super(groups, { eps: 1e-10, weightDecay: 0, initialAccumulator: 0, rowwise: false, ...defaults });
  }

  protected updateDense(p: Parameter, key: string, o: AdaGradOptions): void {
    const acc = this.slot(`${key}.acc`, p.size, o.initialAccumulator);
    backend().adagradStep(p.data, p.grad, acc, p.size, o.lr, o.eps, o.weightDecay);
  }

  protected override tableSlotInit(slot: string, o: AdaGradOptions): number {
    return slot === 'acc' ? o.initialAccumulator : 0;
  }

  protected updateTable(t: EmbeddingTable, g: SparseGrad, key: string, o: AdaGradOptions): void {
    const acc = this.slot(`${key}.acc`, o.rowwise ? t.numRows : t.numRows * t.dim, o.initialAccumulator);
    backend().sparseAdagrad(t.data, t.dim, acc, g.rows, g.values, g.count, o.lr, o.eps, o.rowwise);
  }
}
