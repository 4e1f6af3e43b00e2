import { add, mul, mulScalar, scale } from '../autograd/ops/elementwise.js';
import { crossLinear } from '../autograd/ops/linear.js';
import type { Parameter, Tensor } from '../tensor/tensor.js';
import type { Rng } from '../util/random.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

export interface CrossNetConfig {
  dim: number;
  layers: number;
  /** Low-rank cross (W = U·Vᵀ, rank r); undefined = full rank. */
  rank?: number;
  /**
   * Google's DCN-v2: the cross term is scaled by a = min(1, step / ramp), step = optimisation
   * steps already taken, so the model learns the embeddings before the crosses; a = 1 at
   * inference. Undefined = no ramp (a = 1 always).
   */
  ramp?: number;
  /** ReZero: a learned scalar per layer, initialised to 0, multiplies the cross term. */
  rezero?: boolean;
}

/** The ramp's scale at a training step: linear from 0 at step 0 to 1 at step `steps`, then 1. */
export function crossRampScale(step: number, steps: number): number {
  return Math.min(1, step / steps);
}

/**
 * DCN-v2 cross network: x_{l+1} = g_l · a · x_0 ⊙ (W_l x_l + b_l) + x_l, with W_l full or
 * low-rank, a the ramp and g_l the ReZero scalar (each 1 when not configured). The ramp and
 * ReZero compose: the ramp is a fixed schedule, ReZero a learned gate, and SPEC §4 scales each
 * residual branch by both.
 */
export class CrossNet extends Module {
  readonly layers: Linear[] = [];
  /** ReZero scalars ([1] each), one per layer; empty without ReZero. */
  readonly gates: Parameter[] = [];
  private step: number | null = null;

  constructor(readonly cfg: CrossNetConfig, rng: Rng) {
    super();
    if (cfg.ramp !== undefined && !(Number.isInteger(cfg.ramp) && cfg.ramp > 0)) {
      throw new Error(`CrossNet: ramp must be a positive integer number of steps, got ${cfg.ramp}`);
    }
    for (let i = 0; i < cfg.layers; i++) {
      this.layers.push(this.child(`layers.${i}`, new Linear({ inDim: cfg.dim, outDim: cfg.dim, rank: cfg.rank }, rng)));
    }
    // Zeros draw nothing from rng, so the other weights are those of a model without ReZero.
    if (cfg.rezero) for (let i = 0; i < cfg.layers; i++) this.gates.push(this.param(`rezero.${i}`, new Float32Array(1), [1]));
  }

  override onTrainingStep(step: number): void {
    this.step = step;
    super.onTrainingStep(step);
  }

  override scoresAsInEval(): boolean {
    return this.cfg.ramp === undefined && super.scoresAsInEval();
  }

  /** The ramp's a now: its schedule while training, its final value 1 at inference. */
  get rampScale(): number {
    const n = this.cfg.ramp;
    if (n === undefined || !this.training) return 1;
    if (this.step === null) {
      throw new Error('CrossNet: the cross ramp needs the global training step; call model.onTrainingStep(step) before each step (the Trainer does)');
    }
    return crossRampScale(this.step, n);
  }

  /**
   * `rankMask` ([1, rank] of 0 / 1, low-rank cross only) makes every layer compute what a
   * cross of the kept rank would (a super-network's candidate). Columns that are 0 in x0 stay 0
   * in every x_l (x0 ⊙ (…) + x_l), so a masked x0 also gives a narrower cross exactly.
   */
  forward(x0: Tensor, rankMask?: Tensor): Tensor {
    const a = this.rampScale;
    let x = x0;
    this.layers.forEach((l, i) => {
      const g = this.gates[i];
      // Without ramp or gate the update runs in the GEMM's epilogue (same bits).
      const p = a === 1 && !g ? l.lastProduct(x, rankMask) : null;
      if (p) {
        x = crossLinear(x0, x, p.a, p.W, l.b, l.packed(p.W));
        return;
      }
      let term = mul(x0, l.forward(x, rankMask));
      if (a !== 1) term = scale(term, a);
      if (g) term = mulScalar(term, g);
      x = add(term, x);
    });
    return x;
  }
}
