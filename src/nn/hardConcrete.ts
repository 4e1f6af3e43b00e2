/**
 * Binary gates relaxed with the hard-concrete distribution (Louizos, Welling & Kingma 2018, "Learning
 * Sparse Neural Networks through L0 Regularization"), as SNR codes its connections: gate k has a
 * learned log α_k; in training z_k = min(1, max(0, s̄_k)), s̄ = s·(ζ − γ) + γ,
 * s = σ((log u − log(1 − u) + log α)/β), u ~ U(0, 1); at evaluation the deterministic
 * ẑ = min(1, max(0, σ(log α)(ζ − γ) + γ)). The stretch (γ, ζ) = (−0.1, 1.1) puts mass on exactly 0
 * and exactly 1; P(z ≠ 0) = σ(log α − β log(−γ/ζ)) is the differentiable L0 penalty.
 *
 * The noise u is drawn per training step from stepRandom (like dropout masks): a resumed run
 * draws exactly the noise the uninterrupted run drew, with no generator state to checkpoint.
 */
import { add, affine, relu, sigmoid } from '../autograd/ops/elementwise.js';
import { sum } from '../autograd/ops/reduce.js';
import { stepSeed } from '../autograd/stepRandom.js';
import { Tensor, type Parameter } from '../tensor/tensor.js';
import { Rng } from '../util/random.js';
import { Module } from './module.js';

/** The stretch interval (γ, ζ) of the hard-concrete distribution, Louizos et al.'s values. */
export const HARD_CONCRETE_GAMMA = -0.1;
export const HARD_CONCRETE_ZETA = 1.1;

export interface HardConcreteConfig {
  /** Number of gates. */
  count: number;
  /** Temperature β of the concrete relaxation (Louizos et al.: 2/3). */
  temperature: number;
  /** Initial log α of every gate (at β = 2/3 — 0: P(z ≠ 0) ≈ 0.83, ẑ = 0.5; 3: P(z ≠ 0) ≈ 0.99, ẑ = 1). */
  initLogAlpha: number;
  /** Learning rate of log α (default: the optimiser's). */
  lr?: number;
}

/**
 * The logistic noise log u − log(1 − u) of `n` gates for a draw seed, u = (k + ½)/2³² from
 * 32-bit draws k: never 0 or 1, so the noise is always finite. Computed in float64 in JS, so both
 * backends and any thread count see the same values.
 */
export function logisticNoise(seed: number, n: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, () => {
    const u = (rng.nextU32() + 0.5) / 4294967296;
    return Math.log(u) - Math.log1p(-u);
  });
}

/** min(1, max(0, x)) from relu: 1 − relu(1 − relu(x)). */
function clamp01(x: Tensor): Tensor {
  return affine(relu(affine(relu(x), -1, 1)), -1, 1);
}

export class HardConcreteGates extends Module {
  readonly logAlpha: Parameter;
  /** Seed of this module's noise stream; each draw also depends on the step (see stepRandom). */
  readonly seed: number;

  constructor(readonly cfg: HardConcreteConfig, rng: Rng) {
    super();
    if (!(cfg.temperature > 0)) throw new Error(`HardConcreteGates: temperature must be > 0, got ${cfg.temperature}`);
    this.logAlpha = this.param('logAlpha', new Float32Array(cfg.count).fill(cfg.initLogAlpha), [cfg.count]);
    this.seed = (rng.nextU32() | 1) >>> 0;
  }

  /** Training samples the gates; evaluation uses their deterministic value. */
  override scoresAsInEval(): boolean {
    return false;
  }

  override ownLearningRates(): { params: Parameter[]; lr: number }[] {
    return this.cfg.lr === undefined ? [] : [{ params: [this.logAlpha], lr: this.cfg.lr }];
  }

  /** The gates z [count]: sampled in training mode (one draw per call), deterministic ẑ otherwise. */
  forward(): Tensor {
    const { count, temperature: beta } = this.cfg;
    const span = HARD_CONCRETE_ZETA - HARD_CONCRETE_GAMMA;
    let logit: Tensor = this.logAlpha;
    if (this.training) {
      const noise = new Tensor(Float32Array.from(logisticNoise(stepSeed(this.seed), count)), [count]);
      logit = affine(add(this.logAlpha, noise), 1 / beta);
    }
    return clamp01(affine(sigmoid(logit), span, HARD_CONCRETE_GAMMA));
  }

  /** Σ_k P(z_k ≠ 0) = Σ_k σ(log α_k − β log(−γ/ζ)): the expected number of open gates. */
  expectedOpen(): Tensor {
    const shift = -this.cfg.temperature * Math.log(-HARD_CONCRETE_GAMMA / HARD_CONCRETE_ZETA);
    return sum(sigmoid(affine(this.logAlpha, 1, shift)));
  }
}
