/**
 * What every loss in this folder shares: the slice of a batch a loss reads, how "batch" vs
 * "group" scopes turn into segment offsets, and the small helpers that keep degenerate
 * groups at an exact 0 instead of NaN.
 */
import { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import { empty, record } from '../autograd/tape.js';
import { mul } from '../autograd/ops/elementwise.js';
import { reshape } from '../autograd/ops/layout.js';
import { sum } from '../autograd/ops/reduce.js';

/** The columns of a `Batch` that a loss reads (a `Batch` satisfies it). */
export interface LossBatch {
  /** Labels, [N]: clicks in {0,1}, or graded relevance for the listwise losses. */
  readonly labels: Float32Array;
  /** Sample weights, [N]; undefined = all ones. */
  readonly weights?: Float32Array;
  /** List (query / request / page) boundaries, numGroups+1 entries from 0 to N. */
  readonly groupOffsets?: Int32Array;
}

/**
 * Where ranking terms look for comparisons: the whole batch as one list (the KDD'24 setting on
 * Criteo, which has no lists), or each group of `groupOffsets`. Unset = 'group' when the batch
 * has groups, else 'batch'.
 */
export type Scope = 'batch' | 'group';

/** The logits as a flat [N] tensor (a view), checking they match the labels. */
export function flatLogits(op: string, z: Tensor, batch: LossBatch): Tensor {
  const n = batch.labels.length;
  if (z.size !== n) throw new Error(`${op}: logits of shape ${shapeStr(z.shape)} for ${n} labels (expected [${n}])`);
  if (batch.weights && batch.weights.length !== n) throw new Error(`${op}: ${batch.weights.length} weights for ${n} labels`);
  return z.shape.length === 1 ? z : reshape(z, [n]);
}

/** Segment offsets for the scope: [0, N] for 'batch', the batch's groups for 'group'. */
export function scopeOffsets(op: string, batch: LossBatch, scope: Scope | undefined): Int32Array {
  const n = batch.labels.length;
  const s = scope ?? (batch.groupOffsets ? 'group' : 'batch');
  if (s === 'batch') return Int32Array.of(0, n);
  const off = batch.groupOffsets;
  if (!off) throw new Error(`${op}: scope 'group' needs batch.groupOffsets (the batch has no lists); use 'batch'`);
  if (off.length < 1 || off[0] !== 0 || off[off.length - 1] !== n) {
    throw new Error(`${op}: groupOffsets must run from 0 to ${n} (the number of labels), got [${off[0]} … ${off[off.length - 1]}]`);
  }
  for (let g = 0; g + 1 < off.length; g++) {
    if (off[g + 1]! < off[g]!) throw new Error(`${op}: groupOffsets decrease at group ${g} (${off[g]} > ${off[g + 1]})`);
  }
  return off;
}

/**
 * A scalar 0 that is still on the tape when z is, so a combined loss whose ranking term has
 * nothing to compare (one class only) backpropagates a zero gradient rather than NaN or an
 * error.
 */
export function zeroLoss(z: Tensor): Tensor {
  const out = empty([1], true);
  return record(out, [z], () => {});
}

/** Σ_k coef_k · x_k as a [1] tensor; coef is a constant (no gradient). */
export function dot(x: Tensor, coef: Float32Array): Tensor {
  return asScalar(sum(mul(x, new Tensor(coef, x.shape))));
}

/** Any one-element tensor as shape [1], so scalar losses add without broadcasting surprises. */
export function asScalar(x: Tensor): Tensor {
  if (x.size !== 1) throw new Error(`expected a scalar loss, got shape ${shapeStr(x.shape)}`);
  return x.shape.length === 1 ? x : reshape(x, [1]);
}

/**
 * Per-sample weights w_i · (β_pos if positive): β_pos < 1 simulates sparser positives
 * (KDD'24). Soft labels interpolate, w·(y·β + (1−y)), which is the same for y ∈ {0,1}.
 * Returns null when every weight would be 1 (the kernels then skip the multiply).
 */
export function sampleWeights(batch: LossBatch, betaPos = 1): Float32Array | null {
  if (!(betaPos >= 0) || !Number.isFinite(betaPos)) throw new Error(`betaPos must be a finite number ≥ 0, got ${betaPos}`);
  if (betaPos === 1) return batch.weights ?? null;
  const y = batch.labels;
  const w = new Float32Array(y.length);
  for (let i = 0; i < y.length; i++) w[i] = (batch.weights ? batch.weights[i]! : 1) * (y[i]! * betaPos + (1 - y[i]!));
  return w;
}

/**
 * BCE-family terms read labels as probabilities; a graded label (2, 3, …) is not an error to
 * the kernel, it just pushes the logits without bound. Refused here, naming the value.
 */
export function checkUnitLabels(op: string, labels: Float32Array): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (!(y >= 0 && y <= 1)) {
      throw new Error(`${op}: label ${y} (row ${i} of the batch) is outside [0, 1]; a BCE-family loss needs 0/1 (or soft) labels: binarise graded labels`);
    }
  }
}

/** Indices of a segment sorted by key descending; ties keep their row order (stable sort). */
export function sortDesc(a: number, b: number, key: ArrayLike<number>): number[] {
  const idx = Array.from({ length: b - a }, (_, k) => a + k);
  // Array.prototype.sort is stable (ES2019), so equal keys stay in row order.
  return idx.sort((i, j) => key[j]! - key[i]!);
}

/** Rejects α outside [0, 1] with the loss's name in the message. */
export function checkAlpha(op: string, alpha: number): void {
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`${op}: alpha must be in [0, 1], got ${alpha}`);
}
