import { embeddingBag, embeddingLookup } from '../autograd/ops/embedding.js';
import { reshape } from '../autograd/ops/layout.js';
import { EmbeddingTable, type Tensor } from '../tensor/tensor.js';
import type { Rng } from '../util/random.js';
import { Module } from './module.js';
import { normal } from './init.js';

export interface EmbeddingConfig {
  numRows: number;
  dim: number;
  /** Std of the N(0, std²) initialisation (DeepCTR / FuxiCTR default 1e-4). */
  initStd?: number;
}

/** One embedding table shared by all fields (fields use disjoint id ranges). */
export class Embedding extends Module {
  readonly weight: EmbeddingTable;

  constructor(readonly cfg: EmbeddingConfig, rng: Rng) {
    super();
    const t = new EmbeddingTable('weight', cfg.numRows, cfg.dim);
    t.initStd = cfg.initStd ?? 1e-4;
    normal(t.data, t.initStd, rng);
    this.weight = this.table('weight', t);
  }

  /** ids [B·F] (row-major [B, F]) → [B, F·dim], the concatenated field embeddings. */
  fields(ids: Int32Array, batch: number, numFields: number): Tensor {
    const n = batch * numFields;
    if (ids.length < n) throw new Error(`Embedding.fields: ${ids.length} ids for batch ${batch} × ${numFields} fields`);
    return reshape(embeddingLookup(this.weight, ids, n), [batch, numFields * this.cfg.dim]);
  }

  /** ids [n] → [n, dim]. */
  lookup(ids: Int32Array, n = ids.length): Tensor {
    return embeddingLookup(this.weight, ids, n);
  }

  /** Pooled bags (multi-hot, sequences) → [S, dim]. */
  bag(ids: Int32Array, offsets: Int32Array, weights: Float32Array | null = null, mean = false): Tensor {
    return embeddingBag(this.weight, ids, offsets, weights, mean);
  }
}
