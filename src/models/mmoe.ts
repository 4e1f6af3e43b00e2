import type { Batch } from '../data/batch.js';
import { Linear } from '../nn/linear.js';
import { Experts, mixExperts } from '../nn/mixture.js';
import { Towers } from '../nn/towers.js';
import type { Parameter } from '../tensor/tensor.js';
import type { HeadLogits } from './ctrModel.js';
import { TaskHeadsNet, type TaskHeadsConfig } from './multiTaskNet.js';

export interface MMoEConfig extends TaskHeadsConfig {
  /** Number of experts K. */
  experts: number;
  /** Hidden widths of each expert MLP. */
  expert: readonly number[];
}

/**
 * MMoE (Ma et al. 2018): experts f_k(x0), one softmax gate per task g_t = softmax(W_t x0 + b_t),
 * task input h_t = Σ_k g_t,k f_k(x0), logit z_t = tower_t(h_t).
 */
export class MMoE extends TaskHeadsNet<MMoEConfig> {
  readonly kind = 'mmoe';
  readonly experts: Experts;
  readonly gates: Linear[];
  readonly towers: Towers;

  constructor(cfg: MMoEConfig) {
    super(cfg);
    const d = this.input.outDim;
    this.experts = this.child('experts', new Experts(cfg.experts, d, cfg.expert, this.layerOpts, this.rng));
    this.gates = cfg.tasks.map((_, t) => this.child(`gates.${t}`, new Linear({ inDim: d, outDim: cfg.experts }, this.rng)));
    this.towers = this.child('towers', new Towers(cfg.tasks, this.experts.outDim, cfg.tower, this.layerOpts, this.rng));
  }

  forwardHeads(batch: Batch): HeadLogits {
    const x0 = this.input.forward(batch);
    const f = this.experts.forward(x0);
    return this.towers.forward(this.gates.map((g) => mixExperts(g.forward(x0), f)));
  }

  /** Every expert's last layer. */
  lastSharedLayer(): Parameter[] {
    return this.experts.lastLayers();
  }
}
