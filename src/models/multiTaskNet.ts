/** What the multi-task networks (Shared-Bottom, MMoE, PLE, ESMM) are built from. */
import { FeatureInput, type FeatureInputConfig } from '../nn/featureInput.js';
import type { LayerOptions } from '../nn/mixture.js';
import { Rng } from '../util/random.js';
import { MultiTaskModel } from './ctrModel.js';

export interface MultiTaskNetConfig extends FeatureInputConfig, LayerOptions {
  /** Hidden widths of each head's tower (its output layer, one logit, comes after). */
  tower: readonly number[];
  seed?: number;
}

/** A network whose heads are its tasks, named at construction (train.tasks). */
export interface TaskHeadsConfig extends MultiTaskNetConfig {
  tasks: readonly string[];
}

/** The input x0 every head reads (as dnn's), and what the subclass builds its layers with. */
export abstract class MultiTaskNet<C extends MultiTaskNetConfig> extends MultiTaskModel {
  readonly input: FeatureInput;
  /** Draws the initial weights, in the order the subclass builds its layers. */
  protected readonly rng: Rng;
  /** Activation, dropout and low-rank of every hidden layer. */
  protected readonly layerOpts: LayerOptions;

  constructor(readonly cfg: C) {
    super();
    this.rng = new Rng(cfg.seed ?? 0);
    this.layerOpts = { activation: cfg.activation ?? 'relu', smeluBeta: cfg.smeluBeta, dropout: cfg.dropout, rank: cfg.rank };
    this.input = this.child('input', new FeatureInput(cfg, this.rng));
  }
}

/** A multi-task network with one head per configured task. */
export abstract class TaskHeadsNet<C extends TaskHeadsConfig> extends MultiTaskNet<C> {
  override get heads(): readonly string[] {
    return this.cfg.tasks;
  }
}
