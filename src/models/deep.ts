/** What DNN and DCN-v2 share: the settings of their feature input and MLP, and that MLP. */
import type { Activation } from '../backend/kernels.js';
import type { FeatureInputConfig } from '../nn/featureInput.js';
import { MLP } from '../nn/mlp.js';
import type { Rng } from '../util/random.js';

export interface DeepConfig extends FeatureInputConfig {
  hidden: readonly number[];
  activation?: Activation;
  smeluBeta?: number;
  dropout?: number;
  /** Low-rank bottleneck rank of the MLP's hidden layers. */
  rank?: number;
  seed?: number;
  /** Logits per row: 1 (default) or 2 (a two-logit head for JRC, output [size, 2]). */
  logits?: 1 | 2;
}

/** The MLP of `cfg` over inDim inputs; `outDim` undefined: it ends at its last hidden layer. */
export function deepMLP(cfg: DeepConfig, inDim: number, outDim: number | undefined, rng: Rng): MLP {
  return new MLP({
    inDim, hidden: cfg.hidden, outDim, activation: cfg.activation ?? 'relu', smeluBeta: cfg.smeluBeta, dropout: cfg.dropout, rank: cfg.rank,
  }, rng);
}
