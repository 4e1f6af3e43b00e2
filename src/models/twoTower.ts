import type { Batch } from '../data/batch.js';
import { FeatureLayout, type FeatureInfo } from '../data/features.js';
import { add, mul } from '../autograd/ops/elementwise.js';
import { reshape, slice } from '../autograd/ops/layout.js';
import { matmul } from '../autograd/ops/linear.js';
import { sum } from '../autograd/ops/reduce.js';
import type { Parameter, Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/random.js';
import { Embedding } from '../nn/embedding.js';
import { MLP } from '../nn/mlp.js';
import { CTRModel } from './ctrModel.js';
import { groupInput, groupInputs, groupInputWidth, type GroupInputs, type GroupModelConfig } from './groupInput.js';

export interface TwoTowerConfig extends GroupModelConfig {
  /** Feature groups of the user (and query) tower, of the item tower, and of the bias net (may be empty). */
  user: readonly string[];
  item: readonly string[];
  bias: readonly string[];
  towerHidden: readonly number[];
  outDim: number;
  biasHidden: readonly number[];
}

/**
 * Two-tower model with a bias net (SPEC §4, the coarse-ranking note): z = ⟨u(user groups),
 * v(item groups)⟩ + b(bias groups). Each tower is an MLP over the embeddings of its groups' id
 * features, its mean-pooled sequences and its dense columns; the item tower sees no user feature,
 * so item vectors can be computed once and a request scored against all of them with one matrix
 * product (scoreWithItemVectors). Without bias groups, b is one learned intercept.
 */
export class TwoTower extends CTRModel {
  readonly kind = 'twotower';

  override get featureLayout(): readonly FeatureInfo[] {
    return this.cfg.features;
  }
  readonly emb: Embedding;
  readonly userTower: MLP;
  readonly itemTower: MLP;
  readonly biasNet: MLP | null;
  /** The intercept when there is no bias net. */
  readonly intercept: Parameter | null;
  private readonly inputs: { user: GroupInputs; item: GroupInputs; bias: GroupInputs | null };

  /** Throws FeatureLookupError (naming `user[i]` / `item[i]` / `bias[i]`) for groups the layout lacks. */
  constructor(readonly cfg: TwoTowerConfig) {
    super();
    const layout = new FeatureLayout(cfg.features);
    this.inputs = {
      user: groupInputs(layout, cfg.user, 'user'),
      item: groupInputs(layout, cfg.item, 'item'),
      bias: cfg.bias.length > 0 ? groupInputs(layout, cfg.bias, 'bias') : null,
    };
    const width = (t: GroupInputs): number => groupInputWidth(t, cfg.dim);
    const rng = new Rng(cfg.seed ?? 0);
    this.emb = this.child('emb', new Embedding({ numRows: cfg.numIds, dim: cfg.dim, initStd: cfg.initStd }, rng));
    const tower = (inDim: number, hidden: readonly number[], outDim: number): MLP =>
      new MLP({ inDim, hidden, outDim, activation: cfg.activation ?? 'relu', dropout: cfg.dropout }, rng);
    this.userTower = this.child('user', tower(width(this.inputs.user), cfg.towerHidden, cfg.outDim));
    this.itemTower = this.child('item', tower(width(this.inputs.item), cfg.towerHidden, cfg.outDim));
    this.biasNet = this.inputs.bias ? this.child('bias', tower(width(this.inputs.bias), cfg.biasHidden, 1)) : null;
    this.intercept = this.inputs.bias ? null : this.param('intercept', new Float32Array(1), [1]);
  }

  private towerInput(batch: Batch, t: GroupInputs): Tensor {
    return groupInput(this.emb, batch, t, this.cfg, 'TwoTower');
  }

  /** u(user, query): [B, outDim]. */
  userVectors(batch: Batch): Tensor {
    return this.userTower.forward(this.towerInput(batch, this.inputs.user));
  }

  /** v(item): [B, outDim]; depends only on the rows' item-group features. */
  itemVectors(batch: Batch): Tensor {
    return this.itemTower.forward(this.towerInput(batch, this.inputs.item));
  }

  /** dots ([B] or [B, N]) + b(user, query, display) of each row (the intercept without a bias net). */
  private plusBias(dots: Tensor, batch: Batch): Tensor {
    if (!this.biasNet) return add(dots, this.intercept!);
    const b = this.biasNet.forward(this.towerInput(batch, this.inputs.bias!));
    return add(dots, dots.shape.length === 1 ? reshape(b, [batch.size]) : b);
  }

  forward(batch: Batch): Tensor {
    return this.scoreRowsWithItemVectors(batch, this.itemVectors(batch));
  }

  /**
   * Each row's logit against its own precomputed item vector (items [B, outDim]): the same
   * operations as forward, so the result is bit-identical when the vectors came from itemVectors.
   */
  scoreRowsWithItemVectors(batch: Batch, items: Tensor): Tensor {
    return this.plusBias(sum(mul(this.userVectors(batch), items), 1), batch);
  }

  /**
   * Every row of `batch` (a request: user, query, display) against every item of `items`
   * ([N, outDim], from itemVectors): [B, N] logits with one matrix product. The dot products
   * are summed by the GEMM kernel rather than row by row, so they match forward only to float32
   * rounding (test/models/twoTower.test.ts holds them to 1e-6 relative).
   */
  scoreWithItemVectors(batch: Batch, items: Tensor): Tensor {
    return this.plusBias(matmul(this.userVectors(batch), items, false, true), batch);
  }

  /**
   * scoreWithItemVectors for several requests at once: one user-tower (and bias-net) pass over all
   * rows of `batch`, then each request's rows [start, end) against its own items ([N, outDim]).
   * The towers are batch-size invariant, so each result equals scoreWithItemVectors on that
   * request's rows alone, bit for bit.
   */
  scoreRequestsWithItemVectors(batch: Batch, requests: readonly { start: number; end: number; items: Tensor }[]): Tensor[] {
    const u = this.userVectors(batch);
    const b = this.biasNet ? this.biasNet.forward(this.towerInput(batch, this.inputs.bias!)) : null;
    return requests.map(({ start, end, items }) => add(matmul(slice(u, 0, start, end), items, false, true), b ? slice(b, 0, start, end) : this.intercept!));
  }
}
