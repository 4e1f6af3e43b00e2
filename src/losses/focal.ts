/**
 * Focal loss (Lin et al. 2017; SPEC §1):
 *   L = −Σ_i w_i [y_i (1−p_i)^γ log p_i + (1−y_i) p_i^γ log(1−p_i)] / Σ_i w_i,  p = σ(z)
 * (Σ w = N without weights, the SPEC's /N). Every factor is taken in log space from
 * softplus, so nothing overflows for large |z|:
 *   log p = −softplus(−z),  log(1−p) = −softplus(z),  (1−p)^γ = exp(−γ·softplus(z)),  p^γ = exp(−γ·softplus(−z)).
 */
import type { Tensor } from '../tensor/tensor.js';
import { add, exp, mul, neg, scale, softplus } from '../autograd/ops/elementwise.js';
import { type LossBatch, checkUnitLabels, dot, flatLogits, sampleWeights } from './common.js';

export interface FocalOptions {
  /** Focusing parameter γ ≥ 0 (γ = 0 is BCE). Default 2. */
  gamma?: number;
  /** Positive-class weight, as in weightedBce. */
  betaPos?: number;
}

export function focal(z: Tensor, batch: LossBatch, opts: FocalOptions = {}): Tensor {
  const gamma = opts.gamma ?? 2;
  if (!(gamma >= 0) || !Number.isFinite(gamma)) throw new Error(`focal: gamma must be a finite number ≥ 0, got ${gamma}`);
  const zz = flatLogits('focal', z, batch);
  checkUnitLabels('focal', batch.labels);
  const y = batch.labels;
  const n = y.length;
  const w = sampleWeights(batch, opts.betaPos);
  let sw = 0;
  for (let i = 0; i < n; i++) sw += w ? w[i]! : 1;
  if (!(sw > 0)) throw new Error(`focal: the sample weights sum to ${sw}; need a positive total`);
  const spPos = softplus(zz); // −log(1−p)
  const spNeg = softplus(neg(zz)); // −log p
  const posTerm = mul(exp(scale(spPos, -gamma)), spNeg); // (1−p)^γ · (−log p)
  const negTerm = mul(exp(scale(spNeg, -gamma)), spPos); // p^γ · (−log(1−p))
  const cPos = new Float32Array(n);
  const cNeg = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const wi = (w ? w[i]! : 1) / sw;
    cPos[i] = wi * y[i]!;
    cNeg[i] = wi * (1 - y[i]!);
  }
  return add(dot(posTerm, cPos), dot(negTerm, cNeg));
}

