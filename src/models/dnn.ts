import type { Batch } from '../data/batch.js';
import type { Activation } from '../backend/kernels.js';
import { reshape } from '../autograd/ops/layout.js';
import type { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/random.js';
import { FeatureInput } from '../nn/featureInput.js';
import { MLP } from '../nn/mlp.js';
import { CTRModel, type RepresentedOutput } from './ctrModel.js';

export interface DNNConfig {
  numIds: number;
  numFields: number;
  dim: number;
  hidden: readonly number[];
  activation?: Activation;
  smeluBeta?: number;
  dropout?: number;
  /** Low-rank bottleneck rank of the hidden layers. */
  rank?: number;
  initStd?: number;
  seed?: number;
  /** Dense numeric features per row. */
  denseDim?: number;
  /** Multi-hot / sequence fields (mean-pooled). */
  numSequences?: number;
  /** Logits per row: 1 (default) or 2 (a two-logit head for JRC, output [size, 2]). */
  logits?: 1 | 2;
}

/** DNN: x0 = [field embeddings ‖ pooled sequences ‖ dense] → MLP → one logit. */
export class DNN extends CTRModel {
  readonly kind = 'dnn';
  readonly input: FeatureInput;
  readonly mlp: MLP;

  constructor(readonly cfg: DNNConfig) {
    super();
    const rng = new Rng(cfg.seed ?? 0);
    this.input = this.child('input', new FeatureInput(cfg, rng));
    this.mlp = this.child('mlp', new MLP({
      inDim: this.input.outDim, hidden: cfg.hidden, outDim: cfg.logits ?? 1, activation: cfg.activation ?? 'relu',
      smeluBeta: cfg.smeluBeta, dropout: cfg.dropout, rank: cfg.rank,
    }, rng));
  }

  override get logitsPerRow(): number {
    return this.cfg.logits ?? 1;
  }

  forward(batch: Batch): Tensor {
    return this.forwardWithRepresentation(batch).logits;
  }

  override forwardWithRepresentation(batch: Batch): RepresentedOutput {
    const k = this.logitsPerRow;
    const { hidden, out } = this.mlp.forwardWithHidden(this.input.forward(batch));
    return { logits: reshape(out, k === 1 ? [batch.size] : [batch.size, k]), representation: hidden };
  }
}
