import type { Batch } from '../data/batch.js';
import type { Activation } from '../backend/kernels.js';
import { reshape } from '../autograd/ops/layout.js';
import type { Tensor } from '../tensor/tensor.js';
import { Rng } from '../tensor/random.js';
import { Embedding } from '../nn/embedding.js';
import { MLP } from '../nn/mlp.js';
import { CTRModel } from './ctrModel.js';

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
}

/** DNN: concatenated field embeddings → MLP → one logit. */
export class DNN extends CTRModel {
  readonly kind = 'dnn';
  readonly emb: Embedding;
  readonly mlp: MLP;

  constructor(readonly cfg: DNNConfig) {
    super();
    const rng = new Rng(cfg.seed ?? 0);
    this.emb = this.child('emb', new Embedding({ numRows: cfg.numIds, dim: cfg.dim, initStd: cfg.initStd }, rng));
    this.mlp = this.child('mlp', new MLP({
      inDim: cfg.numFields * cfg.dim, hidden: cfg.hidden, outDim: 1, activation: cfg.activation ?? 'relu',
      smeluBeta: cfg.smeluBeta, dropout: cfg.dropout, rank: cfg.rank,
    }, rng));
  }

  forward(batch: Batch): Tensor {
    const x0 = this.emb.fields(batch.ids, batch.size, batch.numFields);
    return reshape(this.mlp.forward(x0), [batch.size]);
  }
}
