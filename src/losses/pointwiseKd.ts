/**
 * Pointwise distillation with temperature τ (SPEC §2, coarse-ranking note):
 *   L_d = τ · Σ_i w_i c_i · ℓ_i / Σ_i w_i,
 *   ℓ_i = −[ σ(s_t,i/τ) log σ(s_s,i/τ) + (1 − σ(s_t,i/τ)) log(1 − σ(s_s,i/τ)) ],
 * w = the batch's sample weights (1 without), c = teacher-confidence weights (1 without).
 * The factor τ (not Hinton's τ²) is the note's gradient balance: ∂ℓ/∂s_s = (σ(s_s/τ) − σ(s_t/τ))/τ
 * is 1/τ of the hard-label term's, and τ² over-amplifies it at large τ. ℓ is the soft-label
 * BCE, evaluated from logits by the fused softplus kernel; at s_s = s_t it is the teacher's
 * entropy, not 0, but its gradient there is 0.
 */
import type { Tensor } from '../tensor/tensor.js';
import { affine, scale } from '../autograd/ops/elementwise.js';
import { bceWithLogits } from '../autograd/ops/loss.js';
import { type LossBatch, flatLogits, zeroLoss } from './common.js';
import { type ConfidenceBuckets, confidenceWeights } from './teacherConfidence.js';
import { type TeacherLogits, teacherValues } from './teacher.js';

export interface PointwiseKdOptions {
  /** τ > 0 (default 1): both logits are divided by it and the term is multiplied by it. */
  temperature?: number;
  /** Per-row weights by teacher-probability bucket. */
  confidence?: ConfidenceBuckets;
}

export function pointwiseKd(zStudent: Tensor, zTeacher: TeacherLogits, batch: LossBatch, opts: PointwiseKdOptions = {}): Tensor {
  const zs = flatLogits('pointwiseKd', zStudent, batch);
  const n = batch.labels.length;
  const zt = teacherValues('pointwiseKd', zTeacher, n);
  const tau = opts.temperature ?? 1;
  if (!(tau > 0 && Number.isFinite(tau))) throw new Error(`pointwiseKd: temperature must be a finite number > 0, got ${tau}`);
  const conf = opts.confidence ? confidenceWeights(zt, opts.confidence) : null;
  const target = new Float32Array(n);
  for (let i = 0; i < n; i++) target[i] = 1 / (1 + Math.exp(-zt[i]! / tau));
  const w = batch.weights;
  const rowWeights = conf ? Float32Array.from(conf, (c, i) => c * (w ? w[i]! : 1)) : w ?? null;
  let sumW = 0, sumWc = 0;
  for (let i = 0; i < n; i++) {
    sumW += w ? w[i]! : 1;
    sumWc += rowWeights ? rowWeights[i]! : 1;
  }
  // Nothing to distil (empty batch, or every row weighted 0): exactly 0 rather than 0/0.
  if (!(sumWc > 0)) return zeroLoss(zs);
  const mean = bceWithLogits(tau === 1 ? zs : affine(zs, 1 / tau), target, rowWeights);
  // The kernel divides by Σ w·c; the note's weighting divides by Σ w (see teacherConfidence.ts).
  const factor = (tau * sumWc) / sumW;
  return factor === 1 ? mean : scale(mean, factor);
}
