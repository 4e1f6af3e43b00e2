/**
 * Weighted sums of losses: Combined-Pair / -List / RCR / -Contrastive are
 *   L = α·L_BCE + (1−α)·L_aux                          (SPEC §1, KDD'24),
 * and any other mix is a list of {loss, weight}. A term whose weight is 0 is not evaluated
 * (pass it as a thunk): a BCE-only warm-up then pays nothing for an O(N+·N−) ranking term.
 */
import type { Tensor } from '../tensor/tensor.js';
import { add, scale } from '../autograd/ops/elementwise.js';
import { asScalar, checkAlpha } from './common.js';

export interface LossTerm {
  /** A scalar loss, or a function computing it (only called when weight ≠ 0). */
  loss: Tensor | (() => Tensor);
  weight: number;
}

/** Σ_k weight_k · loss_k over the terms with a non-zero weight. */
export function combineLosses(terms: readonly LossTerm[]): Tensor {
  let total: Tensor | null = null;
  for (const [k, t] of terms.entries()) {
    if (!Number.isFinite(t.weight)) throw new Error(`combineLosses: term ${k} has weight ${t.weight}; weights must be finite`);
    if (t.weight === 0) continue;
    const l = asScalar(typeof t.loss === 'function' ? t.loss() : t.loss);
    const wl = t.weight === 1 ? l : scale(l, t.weight);
    total = total ? add(total, wl) : wl;
  }
  if (!total) throw new Error(`combineLosses: all ${terms.length} term weights are 0; nothing to optimise`);
  return total;
}

/** α·main + (1−α)·aux, the Combined-* form. */
export function combineAlpha(main: Tensor | (() => Tensor), aux: Tensor | (() => Tensor), alpha: number): Tensor {
  checkAlpha('combineAlpha', alpha);
  return combineLosses([{ loss: main, weight: alpha }, { loss: aux, weight: 1 - alpha }]);
}
