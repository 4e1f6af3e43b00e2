/**
 * The input layer every deep model shares: x0 = [field embeddings ‖ mean-pooled sequence
 * embeddings ‖ dense features], one row per example. Fields and sequences share one
 * embedding table (their ids are disjoint ranges of it).
 */
import type { Batch } from '../data/batch.js';
import { concat, reshape } from '../autograd/ops/layout.js';
import { Tensor } from '../tensor/tensor.js';
import type { Rng } from '../util/random.js';
import { Embedding } from './embedding.js';
import { Module } from './module.js';

export interface FeatureInputConfig {
  numIds: number;
  numFields: number;
  dim: number;
  /** Dense numeric features per row (default 0). */
  denseDim?: number;
  /** Multi-hot / sequence fields, each mean-pooled to one embedding (default 0). */
  numSequences?: number;
  initStd?: number;
}

export class FeatureInput extends Module {
  readonly emb: Embedding;
  readonly outDim: number;

  constructor(readonly cfg: FeatureInputConfig, rng: Rng) {
    super();
    this.emb = this.child('emb', new Embedding({ numRows: cfg.numIds, dim: cfg.dim, initStd: cfg.initStd }, rng));
    this.outDim = (cfg.numFields + (cfg.numSequences ?? 0)) * cfg.dim + (cfg.denseDim ?? 0);
  }

  forward(batch: Batch): Tensor {
    const parts = [this.emb.fields(batch.ids, batch.size, batch.numFields)];
    const S = this.cfg.numSequences ?? 0;
    if (S > 0) {
      if (!batch.sequences || batch.sequences.length !== S) {
        throw new Error(`FeatureInput: the model expects ${S} sequence fields, the batch has ${batch.sequences?.length ?? 0}`);
      }
      for (const s of batch.sequences) parts.push(this.emb.bag(s.ids, s.offsets, null, true));
    }
    const D = this.cfg.denseDim ?? 0;
    if (D > 0) parts.push(denseTensor(batch, D, 'FeatureInput'));
    return parts.length === 1 ? parts[0]! : concat(parts, 1);
  }
}

/** The batch's dense features as a [size, D] tensor (checked against what the model expects). */
export function denseTensor(batch: Batch, D: number, who: string): Tensor {
  if (!batch.dense || batch.denseDim !== D) {
    throw new Error(`${who}: the model expects ${D} dense features per row, the batch has ${batch.denseDim ?? 0}`);
  }
  return reshape(new Tensor(batch.dense.subarray(0, batch.size * D), [batch.size * D]), [batch.size, D]);
}
