import type { Batch } from '../data/batch.js';
import { embeddingBag } from '../autograd/ops/embedding.js';
import { add } from '../autograd/ops/elementwise.js';
import { reshape } from '../autograd/ops/layout.js';
import { EmbeddingTable, type Parameter, type Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/random.js';
import { normal } from '../nn/init.js';
import { CTRModel } from './ctrModel.js';
import { matmul } from '../autograd/ops/linear.js';
import { denseTensor } from '../nn/featureInput.js';
import { bagOffsets } from './fieldOffsets.js';

export interface LRConfig {
  numIds: number;
  initStd?: number;
  seed?: number;
  /** Dense numeric features per row (a linear term each). */
  denseDim?: number;
  /** Multi-hot / sequence fields (mean of their ids' weights each). */
  numSequences?: number;
}

/** Logistic regression: z = bias + Σ_f w[id_f] + Σ_s mean_{k∈s} w[k] + v·dense. */
export class LR extends CTRModel {
  readonly kind = 'lr';
  readonly w: EmbeddingTable;
  readonly bias: Parameter;
  readonly v: Parameter | null;

  constructor(readonly cfg: LRConfig) {
    super();
    const rng = new Rng(cfg.seed ?? 0);
    this.w = this.table('w', new EmbeddingTable('w', cfg.numIds, 1));
    this.w.initStd = cfg.initStd ?? 1e-4;
    normal(this.w.data, this.w.initStd, rng);
    this.bias = this.param('bias', new Float32Array(1), [1]);
    const D = cfg.denseDim ?? 0;
    this.v = D > 0 ? this.param('v', new Float32Array(D), [D, 1]) : null;
  }

  forward(batch: Batch): Tensor {
    let z = add(embeddingBag(this.w, batch.ids, bagOffsets(batch.size, batch.numFields)), this.bias);
    const S = this.cfg.numSequences ?? 0;
    if (S > 0) {
      if (!batch.sequences || batch.sequences.length !== S) {
        throw new Error(`LR: the model expects ${S} sequence fields, the batch has ${batch.sequences?.length ?? 0}`);
      }
      for (const seq of batch.sequences) z = add(z, embeddingBag(this.w, seq.ids, seq.offsets, null, true));
    }
    if (this.v) z = add(z, matmul(denseTensor(batch, this.v.shape[0]!, 'LR'), this.v));
    return reshape(z, [batch.size]);
  }
}
