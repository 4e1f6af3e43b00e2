/**
 * JRC, joint optimisation of ranking and calibration (Sheng et al. KDD'23; SPEC §1). The model
 * emits two logits per item, z = [z⁰, z¹] ([N, 2]).
 *   calibration: BCE of softmax([z⁰, z¹])₁ = σ(z¹ − z⁰) against y (weighted like weightedBce);
 *   ranking:     −log( exp(z_i^{y_i}) / Σ_{j in list} exp(z_j^{y_i}) ) for each item i;
 *   L = α·L_calib + (1−α)·L_rank.
 * L_rank is the mean of the item terms over the lists that hold both classes: in a
 * single-class list every item competes only with same-label items, which carries no ranking
 * signal, so such lists contribute exactly 0 (not NaN). pCTR at serving = softmax(z)₁.
 */
import type { Tensor } from '../tensor/tensor.js';
import { sigmoid } from '../autograd/ops/elementwise.js';
import { bceWithLogits } from '../autograd/ops/loss.js';
import { segmentLogSoftmax } from '../autograd/ops/softmax.js';
import { type LossBatch, type Scope, checkUnitLabels, dot, sampleWeights, scopeOffsets, zeroLoss } from './common.js';
import { combineAlpha } from './combined.js';
import { checkTwoLogits, jrcLogit } from '../models/servingLogit.js';

export { jrcLogit };

export interface JrcOptions {
  /** Weight of the calibration term (default 0.5). */
  alpha?: number;
  /** Positive-class weight of the calibration BCE. */
  betaPos?: number;
  lists?: Scope;
}

/** The served pCTR, softmax([z⁰, z¹])₁ = σ(z¹ − z⁰), [N]. */
export function jrcProbability(z: Tensor): Tensor {
  return sigmoid(jrcLogit(z));
}

/** Calibration term: weighted BCE of softmax(z)₁ against y. */
export function jrcCalibration(z: Tensor, batch: LossBatch, opts: JrcOptions = {}): Tensor {
  checkTwoLogits('jrc', z, batch.labels.length);
  checkUnitLabels('jrc', batch.labels);
  return bceWithLogits(jrcLogit(z), batch.labels, sampleWeights(batch, opts.betaPos));
}

/** Ranking term: per-label-column softmax over the list, read at each item's own label. */
export function jrcRanking(z: Tensor, batch: LossBatch, opts: JrcOptions = {}): Tensor {
  const n = checkTwoLogits('jrc', z, batch.labels.length);
  const y = batch.labels;
  const offsets = scopeOffsets('jrc', batch, opts.lists);
  const coef = new Float32Array(2 * n);
  let items = 0;
  for (let s = 0; s + 1 < offsets.length; s++) {
    const [a, b] = [offsets[s]!, offsets[s + 1]!];
    let pos = 0;
    for (let i = a; i < b; i++) {
      if (y[i] !== 0 && y[i] !== 1) throw new Error(`jrc: labels must be 0 or 1, got ${y[i]} at row ${i}`);
      pos += y[i]!;
    }
    if (pos === 0 || pos === b - a) continue;
    for (let i = a; i < b; i++) coef[2 * i + y[i]!] = 1;
    items += b - a;
  }
  if (items === 0) return zeroLoss(z);
  for (let k = 0; k < coef.length; k++) coef[k] = -coef[k]! / items;
  // segmentLogSoftmax on [N, 2] normalises each column over the list: column c is log
  // exp(z_i^c) / Σ_j exp(z_j^c).
  return dot(segmentLogSoftmax(z, offsets), coef);
}

export function jrc(z: Tensor, batch: LossBatch, opts: JrcOptions = {}): Tensor {
  return combineAlpha(() => jrcCalibration(z, batch, opts), () => jrcRanking(z, batch, opts), opts.alpha ?? 0.5);
}
