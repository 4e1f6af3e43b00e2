import type { Batch } from '../data/batch.js';
import { lastLayer } from '../nn/mixture.js';
import { MLP } from '../nn/mlp.js';
import { Towers } from '../nn/towers.js';
import type { Parameter } from '../tensor/tensor.js';
import type { HeadLogits } from './ctrModel.js';
import { TaskHeadsNet, type TaskHeadsConfig } from './multiTaskNet.js';

export interface SharedBottomConfig extends TaskHeadsConfig {
  /** Hidden widths of the shared bottom MLP. */
  bottom: readonly number[];
}

/** Shared-Bottom: h = bottom(x0) shared by all tasks; z_t = tower_t(h). */
export class SharedBottom extends TaskHeadsNet<SharedBottomConfig> {
  readonly kind = 'shared-bottom';
  readonly bottom: MLP;
  readonly towers: Towers;

  constructor(cfg: SharedBottomConfig) {
    super(cfg);
    this.bottom = this.child('bottom', new MLP({ inDim: this.input.outDim, hidden: cfg.bottom, ...this.layerOpts }, this.rng));
    this.towers = this.child('towers', new Towers(cfg.tasks, this.bottom.outDim, cfg.tower, this.layerOpts, this.rng));
  }

  forwardHeads(batch: Batch): HeadLogits {
    const h = this.bottom.forward(this.input.forward(batch));
    return this.towers.forward(this.cfg.tasks.map(() => h));
  }

  /** The bottom's last layer. */
  lastSharedLayer(): Parameter[] {
    return lastLayer(this.bottom);
  }
}
