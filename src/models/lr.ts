import type { Batch } from '../data/batch.js';
import { embeddingBag } from '../autograd/ops/embedding.js';
import { add } from '../autograd/ops/elementwise.js';
import { reshape } from '../autograd/ops/layout.js';
import { EmbeddingTable, type Parameter, type Tensor } from '../tensor/tensor.js';
import { Rng } from '../tensor/random.js';
import { normal } from '../nn/init.js';
import { CTRModel } from './ctrModel.js';
import { bagOffsets } from './fieldOffsets.js';

export interface LRConfig {
  numIds: number;
  initStd?: number;
  seed?: number;
}

/** Logistic regression: z = bias + Σ_f w[id_f]. */
export class LR extends CTRModel {
  readonly kind = 'lr';
  readonly w: EmbeddingTable;
  readonly bias: Parameter;

  constructor(readonly cfg: LRConfig) {
    super();
    const rng = new Rng(cfg.seed ?? 0);
    this.w = this.table('w', new EmbeddingTable('w', cfg.numIds, 1));
    normal(this.w.data, cfg.initStd ?? 1e-4, rng);
    this.bias = this.param('bias', new Float32Array(1), [1]);
  }

  forward(batch: Batch): Tensor {
    const s = embeddingBag(this.w, batch.ids, bagOffsets(batch.size, batch.numFields));
    return reshape(add(s, this.bias), [batch.size]);
  }
}
