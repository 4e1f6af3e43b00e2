/**
 * Mixtures of experts (MMoE, PLE): a group of expert MLPs that read the same input, and the
 * softmax gate that mixes their outputs, out = Σ_k softmax(gate logits)_k · f_k(x).
 */
import { concat, reshape } from '../autograd/ops/layout.js';
import { segmentWeightedSum } from '../autograd/ops/segment.js';
import { softmax } from '../autograd/ops/softmax.js';
import { shapeStr } from '../tensor/shape.js';
import type { Parameter, Tensor } from '../tensor/tensor.js';
import type { Rng } from '../util/random.js';
import { MLP, type MLPConfig } from './mlp.js';
import { Module } from './module.js';

/** What every hidden layer of a multi-task network shares: activation, dropout, low-rank. */
export type LayerOptions = Pick<MLPConfig, 'activation' | 'smeluBeta' | 'dropout' | 'rank'>;

/**
 * Σ_k g[·,k] · experts[k] with g = softmax(gateLogits) over k: gateLogits [B, K], experts K
 * tensors [B, d] → [B, d]. The experts are laid out as rows (b, k) of one [B·K, d] tensor and
 * each example's K rows are a segment, so the weighted sum is one existing op.
 */
export function mixExperts(gateLogits: Tensor, experts: readonly Tensor[]): Tensor {
  const K = experts.length;
  const [B, d] = [experts[0]?.shape[0] ?? 0, experts[0]?.shape[1] ?? 0];
  if (K === 0 || gateLogits.shape.length !== 2 || gateLogits.shape[0] !== B || gateLogits.shape[1] !== K) {
    throw new Error(`mixExperts: gate logits ${shapeStr(gateLogits.shape)} for ${K} experts of ${B} rows`);
  }
  const rows = reshape(K === 1 ? experts[0]! : concat(experts, 1), [B * K, d]);
  const offsets = Int32Array.from({ length: B + 1 }, (_, b) => b * K);
  return segmentWeightedSum(rows, reshape(softmax(gateLogits, 1), [B * K]), offsets);
}

/** K expert MLPs over the same input (no output layer: an expert ends at its last hidden layer). */
export class Experts extends Module {
  readonly nets: MLP[];

  constructor(count: number, inDim: number, hidden: readonly number[], opts: LayerOptions, rng: Rng) {
    super();
    if (hidden.length === 0) throw new Error('Experts: an expert needs at least one hidden layer');
    this.nets = Array.from({ length: count }, (_, k) => this.child(`${k}`, new MLP({ inDim, hidden, ...opts }, rng)));
  }

  get count(): number {
    return this.nets.length;
  }

  get outDim(): number {
    return this.nets[0]?.outDim ?? 0;
  }

  forward(x: Tensor): Tensor[] {
    return this.nets.map((e) => e.forward(x));
  }

  /** Every expert's last layer (the layer GradNorm balances when the experts are shared). */
  lastLayers(): Parameter[] {
    return this.nets.flatMap((e) => lastLayer(e));
  }
}

/** The parameters of an MLP's last layer (none for an MLP without layers). */
export function lastLayer(mlp: MLP): Parameter[] {
  return mlp.layers.at(-1)?.parameters() ?? [];
}
