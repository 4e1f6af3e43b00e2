import type { Batch } from '../data/batch.js';
import { FeatureLayout, type FeatureInfo } from '../data/features.js';
import { mul } from '../autograd/ops/elementwise.js';
import { matmul } from '../autograd/ops/linear.js';
import { sum } from '../autograd/ops/reduce.js';
import type { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/random.js';
import { Embedding } from '../nn/embedding.js';
import { MLP } from '../nn/mlp.js';
import { CTRModel } from './ctrModel.js';
import { groupInput, groupInputs, groupInputWidth, type GroupInputs, type GroupModelConfig } from './groupInput.js';

export interface QUConfig extends GroupModelConfig {
  /** Feature groups of the query/ad net Q and of the UI-treatment net U. */
  q: readonly string[];
  u: readonly string[];
  qHidden: readonly number[];
  uHidden: readonly number[];
  outDim: number;
}

/**
 * Q·U factorisation (SPEC §4): z = ⟨Q(query, ad groups), U(UI-treatment groups)⟩, no other term.
 * Q is the large net and U a small one, and neither sees the other's features, so choosing among
 * K treatments for N candidates takes N Q-passes, K U-passes and one [N, d] × [d, K] product
 * (scoreTreatments) instead of N·K passes through the whole model.
 */
export class QU extends CTRModel {
  readonly kind = 'qu';

  override get featureLayout(): readonly FeatureInfo[] {
    return this.cfg.features;
  }
  readonly emb: Embedding;
  readonly qNet: MLP;
  readonly uNet: MLP;
  private readonly inputs: { q: GroupInputs; u: GroupInputs };

  /** Throws FeatureLookupError (naming `q[i]` / `u[i]`) for groups the layout lacks. */
  constructor(readonly cfg: QUConfig) {
    super();
    const layout = new FeatureLayout(cfg.features);
    this.inputs = { q: groupInputs(layout, cfg.q, 'q'), u: groupInputs(layout, cfg.u, 'u') };
    const rng = new Rng(cfg.seed ?? 0);
    this.emb = this.child('emb', new Embedding({ numRows: cfg.numIds, dim: cfg.dim, initStd: cfg.initStd }, rng));
    const net = (t: GroupInputs, hidden: readonly number[]): MLP =>
      new MLP({ inDim: groupInputWidth(t, cfg.dim), hidden, outDim: cfg.outDim, activation: cfg.activation ?? 'relu', dropout: cfg.dropout }, rng);
    this.qNet = this.child('q', net(this.inputs.q, cfg.qHidden));
    this.uNet = this.child('u', net(this.inputs.u, cfg.uHidden));
  }

  /** Q(query, ad): [B, outDim]; depends only on the rows' q-group features. */
  qVectors(batch: Batch): Tensor {
    return this.qNet.forward(groupInput(this.emb, batch, this.inputs.q, this.cfg, 'QU'));
  }

  /** U(treatment): [B, outDim]; depends only on the rows' u-group features. */
  uVectors(batch: Batch): Tensor {
    return this.uNet.forward(groupInput(this.emb, batch, this.inputs.u, this.cfg, 'QU'));
  }

  forward(batch: Batch): Tensor {
    return sum(mul(this.qVectors(batch), this.uVectors(batch)), 1);
  }

  /**
   * Every candidate row of `candidates` (N rows: their q groups are read) under every treatment
   * row of `treatments` (K rows: their u groups are read): [N, K] logits from N Q-passes, K
   * U-passes and one matrix product. The GEMM kernel sums the dot products in its own order, so
   * entry (n, k) equals forward on a row combining candidate n with treatment k only to float32
   * rounding (test/models/qu.test.ts holds it to 1e-6 relative), not bit for bit.
   */
  scoreTreatments(candidates: Batch, treatments: Batch): Tensor {
    return matmul(this.qVectors(candidates), this.uVectors(treatments), false, true);
  }
}
