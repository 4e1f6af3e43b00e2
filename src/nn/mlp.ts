import type { Activation } from '../backend/kernels.js';
import { dropout } from '../autograd/ops/dropout.js';
import { mul } from '../autograd/ops/elementwise.js';
import { stepSeed } from '../autograd/stepRandom.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Rng } from '../util/random.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

export interface MLPConfig {
  inDim: number;
  /** Hidden widths, e.g. [400, 400, 400]. */
  hidden: readonly number[];
  /** Output width; omit for a tower that ends at the last hidden layer. */
  outDim?: number;
  activation?: Activation;
  smeluBeta?: number;
  dropout?: number;
  /** Low-rank bottleneck rank for hidden layers (0 / undefined = full rank). */
  rank?: number;
}

/**
 * Masks that make the MLP compute a narrower one (a super-network's candidate): `hidden[i]`
 * ([1, width_i] of 0 / 1) zeroes hidden layer i's units past the candidate's width after the
 * activation, so the next layer reads only the kept units.
 */
export interface MLPMasks {
  hidden: readonly (Tensor | undefined)[];
}

/** Multi-layer perceptron: hidden layers with activation, optional linear output layer. */
export class MLP extends Module {
  readonly layers: Linear[] = [];
  /** Seed of this MLP's dropout stream; each mask also depends on the step (see stepRandom). */
  private readonly seed: number;

  constructor(readonly cfg: MLPConfig, rng: Rng) {
    super();
    let d = cfg.inDim;
    cfg.hidden.forEach((h, i) => {
      const l = new Linear({ inDim: d, outDim: h, activation: cfg.activation ?? 'relu', smeluBeta: cfg.smeluBeta, rank: cfg.rank }, rng);
      this.layers.push(this.child(`layers.${i}`, l));
      d = h;
    });
    if (cfg.outDim !== undefined) {
      this.layers.push(this.child(`layers.${cfg.hidden.length}`, new Linear({ inDim: d, outDim: cfg.outDim }, rng)));
    }
    this.seed = (rng.nextU32() | 1) >>> 0;
  }

  get outDim(): number {
    return this.cfg.outDim ?? this.cfg.hidden[this.cfg.hidden.length - 1] ?? this.cfg.inDim;
  }

  forward(x: Tensor): Tensor {
    return this.forwardWithHidden(x).out;
  }

  override scoresAsInEval(): boolean {
    return (this.cfg.dropout ?? 0) === 0 && super.scoresAsInEval();
  }

  /**
   * The output and `hidden`, the last hidden layer's activations (after dropout) — what the
   * output layer reads, i.e. the tower's representation of the row (x itself without hidden layers).
   */
  forwardWithHidden(x: Tensor, masks?: MLPMasks): { hidden: Tensor; out: Tensor } {
    const p = this.cfg.dropout ?? 0;
    const hiddenCount = this.cfg.hidden.length;
    let hidden = x;
    this.layers.forEach((l, i) => {
      x = l.forward(x);
      if (p > 0 && i < hiddenCount && this.training) {
        x = dropout(x, p, stepSeed(this.seed), true);
      }
      const width = i < hiddenCount ? masks?.hidden[i] : undefined;
      if (width) x = mul(x, width);
      if (i < hiddenCount) hidden = x;
    });
    return { hidden, out: x };
  }
}
