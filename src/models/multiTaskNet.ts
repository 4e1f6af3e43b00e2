/** What the multi-task networks (Shared-Bottom, MMoE, PLE, ESMM) are built from. */
import type { FeatureInputConfig } from '../nn/featureInput.js';
import type { LayerOptions } from '../nn/mixture.js';

export interface MultiTaskNetConfig extends FeatureInputConfig, LayerOptions {
  /** Hidden widths of each head's tower (its output layer, one logit, comes after). */
  tower: readonly number[];
  seed?: number;
}

/** A network whose heads are its tasks, named at construction (train.tasks). */
export interface TaskHeadsConfig extends MultiTaskNetConfig {
  tasks: readonly string[];
}

export function layerOptions(cfg: LayerOptions): LayerOptions {
  return { activation: cfg.activation ?? 'relu', smeluBeta: cfg.smeluBeta, dropout: cfg.dropout, rank: cfg.rank };
}
