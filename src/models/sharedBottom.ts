import type { Batch } from '../data/batch.js';
import { FeatureInput } from '../nn/featureInput.js';
import { lastLayer } from '../nn/mixture.js';
import { MLP } from '../nn/mlp.js';
import { Towers } from '../nn/towers.js';
import type { Parameter } from '../tensor/tensor.js';
import { Rng } from '../util/random.js';
import { MultiTaskModel, type HeadLogits } from './ctrModel.js';
import { layerOptions, type TaskHeadsConfig } from './multiTaskNet.js';

export interface SharedBottomConfig extends TaskHeadsConfig {
  /** Hidden widths of the shared bottom MLP. */
  bottom: readonly number[];
}

/** Shared-Bottom: h = bottom(x0) shared by all tasks; z_t = tower_t(h). */
export class SharedBottom extends MultiTaskModel {
  readonly kind = 'shared-bottom';
  readonly input: FeatureInput;
  readonly bottom: MLP;
  readonly towers: Towers;

  constructor(readonly cfg: SharedBottomConfig) {
    super();
    const rng = new Rng(cfg.seed ?? 0);
    const opts = layerOptions(cfg);
    this.input = this.child('input', new FeatureInput(cfg, rng));
    this.bottom = this.child('bottom', new MLP({ inDim: this.input.outDim, hidden: cfg.bottom, ...opts }, rng));
    this.towers = this.child('towers', new Towers(cfg.tasks, this.bottom.outDim, cfg.tower, opts, rng));
  }

  override get heads(): readonly string[] {
    return this.cfg.tasks;
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
