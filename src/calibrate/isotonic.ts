/**
 * Isotonic calibration: the weighted least-squares non-decreasing fit of labels on scores
 * (pool adjacent violators), applied by linear interpolation between the fitted points.
 *
 * Matches scikit-learn 1.2 `IsotonicRegression(increasing=True, out_of_bounds='clip')` step by step:
 * 1. rows with weight 0 are dropped;
 * 2. rows with equal x are merged into one point: y = their weighted mean, weight = their weight sum
 *    (sklearn's `_make_unique`; it merges x closer than float64 resolution 1e-15, here exact equality,
 *    which differs only for scores that are not distinct in any meaningful sense);
 * 3. weighted PAV over the unique points in increasing x;
 * 4. interior points whose fitted y equals both neighbours' are dropped (they change no interpolation);
 * 5. prediction: clip x to [x_min, x_max], then linear interpolation (numpy.interp) between points.
 * Interpolation, not a step function, is what sklearn's `predict`/`transform` do.
 */
import type { NumericArray } from '../metrics/common.js';
import { BaseCalibrator } from './base.js';
import { ScoreSpace, toLogit, toProbability } from './scoreSpace.js';

export interface IsotonicFit {
  /** Strictly increasing thresholds (x) and their non-decreasing fitted values (y). */
  readonly x: Float64Array;
  readonly y: Float64Array;
}

/**
 * Weighted PAV for non-decreasing order over points already sorted by x, in place on a copy.
 * Blocks are kept on a stack; each new point is merged backwards while it violates the order,
 * which is O(n) amortised.
 */
export function poolAdjacentViolators(y: NumericArray, w: NumericArray): Float64Array {
  const n = y.length;
  const val = new Float64Array(n), wt = new Float64Array(n);
  const len = new Uint32Array(n);
  let top = -1;
  for (let i = 0; i < n; i++) {
    top++;
    val[top] = y[i]!; wt[top] = w[i]!; len[top] = 1;
    // Merge while the new block is below (or equal to, as sklearn does) the previous one.
    while (top > 0 && val[top - 1]! >= val[top]!) {
      const W = wt[top - 1]! + wt[top]!;
      val[top - 1] = (wt[top - 1]! * val[top - 1]! + wt[top]! * val[top]!) / W;
      wt[top - 1] = W;
      len[top - 1]! += len[top]!;
      top--;
    }
  }
  const out = new Float64Array(n);
  let k = 0;
  for (let b = 0; b <= top; b++) out.fill(val[b]!, k, (k += len[b]!));
  return out;
}

/**
 * Fits the isotonic points of `targets` on `x` (any finite values; for calibration, scores and 0/1
 * labels). @throws RangeError on mismatched lengths, non-finite x or targets, bad weights, or no row
 * of positive weight.
 */
export function fitIsotonic(x: NumericArray, targets: NumericArray, weights?: NumericArray): IsotonicFit {
  const what = 'fitIsotonic';
  const n = x.length;
  if (targets.length !== n) throw new RangeError(`${what}: targets has length ${targets.length}, expected ${n}`);
  if (weights !== undefined && weights.length !== n) throw new RangeError(`${what}: weights has length ${weights.length}, expected ${n}`);
  const rows: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(x[i]!)) throw new RangeError(`${what}: x at index ${i} is ${String(x[i])}, expected a finite value`);
    if (!Number.isFinite(targets[i]!)) throw new RangeError(`${what}: target at index ${i} is ${String(targets[i])}, expected a finite value`);
    const w = weights === undefined ? 1 : weights[i]!;
    if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`${what}: weight at index ${i} is ${String(w)}, expected a finite value >= 0`);
    if (w > 0) rows.push(i);
  }
  if (rows.length === 0) throw new RangeError(`${what}: no row with positive weight`);
  // sklearn sorts by (x, y) with lexsort; the y order only changes rounding in the merged means.
  rows.sort((a, b) => x[a]! - x[b]! || targets[a]! - targets[b]!);
  const ux: number[] = [], uy: number[] = [], uw: number[] = [];
  for (let k = 0; k < rows.length;) {
    const xv = x[rows[k]!]!;
    let sw = 0, swy = 0;
    for (; k < rows.length && x[rows[k]!] === xv; k++) {
      const r = rows[k]!;
      const w = weights === undefined ? 1 : weights[r]!;
      sw += w; swy += w * targets[r]!;
    }
    ux.push(xv); uy.push(swy / sw); uw.push(sw);
  }
  const fitted = poolAdjacentViolators(uy, uw);
  const m = ux.length;
  const keepX: number[] = [], keepY: number[] = [];
  for (let i = 0; i < m; i++) {
    if (i > 0 && i < m - 1 && fitted[i] === fitted[i - 1] && fitted[i] === fitted[i + 1]) continue;
    keepX.push(ux[i]!); keepY.push(fitted[i]!);
  }
  return { x: Float64Array.from(keepX), y: Float64Array.from(keepY) };
}

/** numpy.interp after clipping to [x_0, x_last]: the prediction rule of sklearn's out_of_bounds='clip'. */
export function interpolateClipped(fit: IsotonicFit, v: number): number {
  const { x, y } = fit;
  const m = x.length;
  if (v <= x[0]!) return y[0]!;
  if (v >= x[m - 1]!) return y[m - 1]!;
  // Largest i with x[i] <= v, by binary search.
  let lo = 0, hi = m - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (x[mid]! <= v) lo = mid; else hi = mid;
  }
  const x0 = x[lo]!, x1 = x[hi]!;
  if (v === x0) return y[lo]!;
  return y[lo]! + ((v - x0) * (y[hi]! - y[lo]!)) / (x1 - x0);
}

/** A fitted isotonic calibrator; `space` is the score space the thresholds were fitted in. */
export class IsotonicCalibrator extends BaseCalibrator {
  readonly kind = 'isotonic';
  readonly fit: IsotonicFit;

  constructor(x: NumericArray, y: NumericArray, readonly space: ScoreSpace = 'probability') {
    super();
    if (x.length === 0 || x.length !== y.length) throw new RangeError(`IsotonicCalibrator: need equally long, non-empty x and y (got ${x.length} and ${y.length})`);
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(x[i]!) || (i > 0 && !(x[i]! > x[i - 1]!))) throw new RangeError(`IsotonicCalibrator: x must be finite and strictly increasing (index ${i})`);
      if (!(y[i]! >= 0 && y[i]! <= 1)) throw new RangeError(`IsotonicCalibrator: y at index ${i} is ${String(y[i])}, expected a probability in [0, 1]`);
      if (i > 0 && y[i]! < y[i - 1]!) throw new RangeError(`IsotonicCalibrator: y must be non-decreasing (index ${i})`);
    }
    this.fit = { x: Float64Array.from(x), y: Float64Array.from(y) };
  }

  /** Fits on scores in `space` (probabilities by default) against 0/1 labels. */
  static fit(scores: NumericArray, labels: NumericArray, opts: { weights?: NumericArray; space?: ScoreSpace } = {}): IsotonicCalibrator {
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] !== 0 && labels[i] !== 1) throw new RangeError(`IsotonicCalibrator.fit: label at index ${i} is ${String(labels[i])}, expected 0 or 1`);
    }
    const f = fitIsotonic(scores, labels, opts.weights);
    return new IsotonicCalibrator(f.x, f.y, opts.space ?? 'probability');
  }

  protected map(v: number, input: ScoreSpace): number {
    // ±Infinity (p at 0 or 1 in logit space) is clipped like any out-of-range score.
    const s = this.space === 'logit' ? toLogit(v, input) : toProbability(v, input);
    return interpolateClipped(this.fit, s);
  }

  toJSON(): { kind: 'isotonic'; space: ScoreSpace; x: number[]; y: number[] } {
    return { kind: 'isotonic', space: this.space, x: Array.from(this.fit.x), y: Array.from(this.fit.y) };
  }
}
