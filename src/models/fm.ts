import type { Batch } from '../data/batch.js';
import { add, scale, square, sub } from '../autograd/ops/elementwise.js';
import { reshape } from '../autograd/ops/layout.js';
import { sum } from '../autograd/ops/reduce.js';
import type { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/random.js';
import { Embedding } from '../nn/embedding.js';
import { CTRModel } from './ctrModel.js';
import { LR } from './lr.js';

export interface FMConfig {
  numIds: number;
  dim: number;
  initStd?: number;
  seed?: number;
  /** Dense features and sequences enter through the linear part only. */
  denseDim?: number;
  numSequences?: number;
}

/** Factorisation machine: LR + ½ Σ_k [(Σ_f v_fk)² − Σ_f v_fk²]. */
export class FM extends CTRModel {
  readonly kind = 'fm';
  readonly linearPart: LR;
  readonly emb: Embedding;

  constructor(readonly cfg: FMConfig) {
    super();
    const rng = new Rng(cfg.seed ?? 0);
    this.linearPart = this.child('lr', new LR({ numIds: cfg.numIds, initStd: cfg.initStd, seed: rng.nextU32(), denseDim: cfg.denseDim, numSequences: cfg.numSequences }));
    this.emb = this.child('emb', new Embedding({ numRows: cfg.numIds, dim: cfg.dim, initStd: cfg.initStd }, rng));
  }

  forward(batch: Batch): Tensor {
    const v = reshape(this.emb.fields(batch.ids, batch.size, batch.numFields), [batch.size, batch.numFields, this.cfg.dim]);
    const sumSq = square(sum(v, 1));
    const sqSum = sum(square(v), 1);
    const pair = scale(sum(sub(sumSq, sqSum), 1), 0.5);
    return add(this.linearPart.forward(batch), pair);
  }
}
