/**
 * In-training calibration by bias constraints (Google ads, spec §3): for slices S_k (pCTR buckets,
 * a feature's values, UI treatments such as position) solve
 *
 *   min_W max_λ  Σ_i L(y_i, ŷ_i) + Σ_k Σ_{i∈S_k} [ λ_k (y_i − ŷ_i) − (α₃/2) λ_k² ]
 *
 * by gradient descent on the model and ascent on the dual variables λ. Per batch, both terms are
 * divided by the batch weight Σw, matching ctrkit's mean losses, so the learning rates do not depend
 * on the batch size. With ŷ = σ(z), sample weight w, ramp factor ρ ∈ [0, 1]:
 *
 *   R      = ρ · (1/Σw) Σ_k Σ_{i∈S_k} w_i [λ_k (y_i − ŷ_i) − (α₃/2) λ_k²]
 *   ∂R/∂z_i = −ρ · λ_k w_i ŷ_i (1 − ŷ_i) / Σw                (descent pushes ŷ up where λ > 0)
 *   ∂R/∂λ_k = (1/Σw) [Σ_{i∈S_k} w_i (y_i − ŷ_i) − α₃ λ_k W_k]  (ascent: λ_k += lr_λ · ∂R/∂λ_k)
 *
 * So λ_k grows while slice k is under-predicted (Σy > Σŷ) and shrinks while it is over-predicted; its
 * fixed point is λ_k = (mean y − mean ŷ)_k / α₃, which is why α₃ > 0 bounds λ (the quadratic term
 * makes the inner max well posed). Ramp-in: nothing happens before `rampStart` (the model's early
 * predictions say nothing about slice calibration, and λ fitted to them would start far off); from
 * then on λ ascends at its full rate while its effect on the model grows through
 * ρ = clamp((step − rampStart) / rampSteps, 0, 1), so a fresh λ does not jolt the model.
 *
 * Order within a step: the logit gradient uses λ before this step's ascent (simultaneous
 * descent–ascent), then λ is updated. Rows with slice id −1 belong to no slice.
 */
import { K, empty, gradOf, record, stepArena } from '../autograd/tape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { NumericArray } from '../metrics/common.js';
import { sigmoid } from './scoreSpace.js';

export interface BiasConstraintOptions {
  /** Number of slices K; slice ids are 0..K-1 (−1 = none). */
  readonly numSlices: number;
  /** Learning rate of the ascent on λ. */
  readonly lambdaLr: number;
  /** α₃ > 0: strength of the −(α₃/2)λ² term (default 1). */
  readonly alpha3?: number;
  /** Steps over which ρ ramps 0 → 1 (default 0: full strength at once). */
  readonly rampSteps?: number;
  /** Steps before the ramp starts (default 0). */
  readonly rampStart?: number;
}

export interface BiasConstraintStep {
  /** Value of R for this batch (with λ before the ascent, times ρ). */
  readonly term: number;
  /** ∂R/∂z per row, already multiplied by ρ; add it to the loss gradient of the logits. */
  readonly gradLogits: Float32Array;
  /** Per slice Σ w (y − ŷ) / W_k in this batch (NaN for a slice absent from the batch). */
  readonly sliceGap: Float64Array;
  readonly ramp: number;
}

export interface BiasConstraintState {
  readonly lambda: number[];
  readonly step: number;
}

export class BiasConstraint {
  readonly lambda: Float64Array;
  /** Number of update() calls so far. */
  step = 0;
  private readonly alpha3: number;

  constructor(readonly opts: BiasConstraintOptions) {
    const { numSlices, lambdaLr } = opts;
    if (!Number.isInteger(numSlices) || numSlices < 1) throw new RangeError(`BiasConstraint: numSlices must be a positive integer, got ${numSlices}`);
    if (!(lambdaLr >= 0) || !Number.isFinite(lambdaLr)) throw new RangeError(`BiasConstraint: lambdaLr must be finite and >= 0, got ${lambdaLr}`);
    this.alpha3 = opts.alpha3 ?? 1;
    if (!(this.alpha3 > 0) || !Number.isFinite(this.alpha3)) throw new RangeError(`BiasConstraint: alpha3 must be finite and > 0, got ${this.alpha3}`);
    for (const k of ['rampSteps', 'rampStart'] as const) {
      const v = opts[k] ?? 0;
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`BiasConstraint: ${k} must be an integer >= 0, got ${v}`);
    }
    this.lambda = new Float64Array(numSlices);
  }

  /** ρ for the next update(). */
  rampFactor(): number {
    const start = this.opts.rampStart ?? 0, steps = this.opts.rampSteps ?? 0;
    if (this.step < start) return 0;
    if (steps === 0) return 1;
    return Math.min(1, (this.step - start) / steps);
  }

  /**
   * One step on a batch: returns R, ∂R/∂z for the logits, then performs the ascent on λ.
   * @throws RangeError on mismatched lengths, non-finite logits, labels outside [0, 1], slice ids
   * outside −1..K−1, bad weights.
   */
  update(logits: NumericArray, labels: NumericArray, slices: ArrayLike<number>, weights?: NumericArray): BiasConstraintStep {
    const what = 'BiasConstraint.update';
    const n = logits.length;
    const Ks = this.lambda.length;
    for (const [name, arr] of [['labels', labels], ['slices', slices], ['weights', weights]] as const) {
      if (arr !== undefined && arr.length !== n) throw new RangeError(`${what}: ${name} has length ${arr.length}, expected ${n}`);
    }
    const gap = new Float64Array(Ks);
    const W = new Float64Array(Ks);
    const yhat = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const z = logits[i]!, y = labels[i]!, s = slices[i]!;
      const w = weights === undefined ? 1 : weights[i]!;
      if (!Number.isFinite(z)) throw new RangeError(`${what}: logit at index ${i} is ${String(z)}`);
      if (!(y >= 0 && y <= 1)) throw new RangeError(`${what}: label at index ${i} is ${String(y)}, expected a value in [0, 1]`);
      if (!Number.isInteger(s) || s < -1 || s >= Ks) throw new RangeError(`${what}: slice id at index ${i} is ${String(s)}, expected -1..${Ks - 1}`);
      if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`${what}: weight at index ${i} is ${String(w)}, expected a finite value >= 0`);
      total += w;
      const p = sigmoid(z);
      yhat[i] = p;
      if (s >= 0) { gap[s]! += w * (y - p); W[s]! += w; }
    }
    const rho = this.rampFactor();
    const grad = new Float32Array(n);
    let term = 0;
    if (total > 0) {
      for (let k = 0; k < Ks; k++) {
        const l = this.lambda[k]!;
        term += l * gap[k]! - (this.alpha3 / 2) * l * l * W[k]!;
      }
      term *= rho / total;
      if (rho > 0) {
        for (let i = 0; i < n; i++) {
          const s = slices[i]!;
          if (s < 0) continue;
          const w = weights === undefined ? 1 : weights[i]!;
          const p = yhat[i]!;
          grad[i] = (-rho * this.lambda[s]! * w * p * (1 - p)) / total;
        }
      }
      const lr = this.step >= (this.opts.rampStart ?? 0) ? this.opts.lambdaLr : 0;
      for (let k = 0; k < Ks; k++) {
        if (W[k] === 0) continue;
        this.lambda[k]! += (lr * (gap[k]! - this.alpha3 * this.lambda[k]! * W[k]!)) / total;
      }
    }
    this.step++;
    const sliceGap = new Float64Array(Ks);
    for (let k = 0; k < Ks; k++) sliceGap[k] = W[k]! > 0 ? gap[k]! / W[k]! : Number.NaN;
    return { term, gradLogits: grad, sliceGap, ramp: rho };
  }

  /**
   * The same step as an autograd term: a scalar Tensor equal to R whose backward adds ∂R/∂z to the
   * gradient of `z` (shape [n]). Add it to the loss before backward(). Performs the λ ascent now.
   */
  term(z: Tensor, labels: NumericArray, slices: ArrayLike<number>, weights?: NumericArray): Tensor {
    const r = this.update(z.data, labels, slices, weights);
    const out = empty([1]);
    out.data[0] = r.term;
    const g = stepArena().f32(z.size);
    g.set(r.gradLogits);
    return record(out, [z], () => K().axpy(z.size, out.grad![0]!, g, gradOf(z)));
  }

  /** λ and the step counter, for checkpoints. */
  state(): BiasConstraintState {
    return { lambda: Array.from(this.lambda), step: this.step };
  }

  loadState(s: BiasConstraintState): void {
    if (s.lambda.length !== this.lambda.length) throw new RangeError(`BiasConstraint.loadState: ${s.lambda.length} λ values for ${this.lambda.length} slices`);
    this.lambda.set(s.lambda);
    this.step = s.step;
  }
}

/**
 * Slice id of each prediction by pCTR bucket: bucket k holds p in [edges[k−1], edges[k]), with
 * edges strictly increasing inner boundaries (K = edges.length + 1 buckets). Compute it from the
 * current (detached) predictions each step.
 */
export function pctrBuckets(probs: NumericArray, edges: readonly number[]): Int32Array {
  for (let i = 1; i < edges.length; i++) {
    if (!(edges[i]! > edges[i - 1]!)) throw new RangeError(`pctrBuckets: edges must be strictly increasing (index ${i})`);
  }
  const out = new Int32Array(probs.length);
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!;
    if (Number.isNaN(p)) throw new RangeError(`pctrBuckets: prediction at index ${i} is NaN`);
    let lo = 0, hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (p >= edges[mid]!) lo = mid + 1; else hi = mid;
    }
    out[i] = lo;
  }
  return out;
}
