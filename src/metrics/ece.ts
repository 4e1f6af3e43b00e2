/**
 * Expected calibration error, the three variants of the spec (§3):
 *
 * (a) equal-width M bins:      ECE = Σ_m (W_m / W) |mean p_m − mean y_m|
 * (b) equal-frequency M bins:  same sum over bins of (nearly) equal weight (see calibrationBins.ts
 *                              for how ties and weights are handled)
 * (c) per-list ECE of CLID:    ECE_list = (1/Q) Σ_q (1/W_q) Σ_{k=1..K} |Σ_{i∈bucket k of q} w_i (y_i − p_i)|
 *
 * W_m, W_q are weight sums (row counts without weights); means are weighted.
 *
 * Per-list buckets: the list's rows are sorted by prediction and cut into K buckets by the same
 * weight-midpoint rule as equal-frequency bins, so equal predictions stay in one bucket. A list
 * shorter than K (without ties) therefore gets one row per bucket and K − n_q empty buckets, and
 * its ECE reduces to (1/n_q) Σ_i |y_i − p_i|: there is nothing to average within a bucket. Lists
 * with zero total weight are left out of the 1/Q mean; every other list counts once, whatever
 * its length, as in the CLID paper.
 */
import { BinOptions, CalibrationBin, checkBinInputs, equalFrequencyAssign, equalFrequencyBins, equalWidthBinsUnchecked } from './calibrationBins.js';
import {
  CompensatedSum, NumericArray, UndefinedMetricError, checkLabels, checkLengths, checkProbabilities, checkWeights,
} from './common.js';
import { GroupKeyArray, groupRows } from './groups.js';

export interface EceDetail {
  readonly ece: number;
  /** Non-empty bins, in increasing prediction order. */
  readonly bins: readonly CalibrationBin[];
}

/** Σ_m (W_m/W) |mean p − mean y| over already computed bins. @throws UndefinedMetricError over zero weight. */
export function eceFromBins(what: string, bins: readonly CalibrationBin[]): number {
  const total = new CompensatedSum();
  const gap = new CompensatedSum();
  for (const b of bins) {
    total.add(b.weight);
    gap.add(b.weight * Math.abs(b.meanPrediction - b.meanLabel));
  }
  if (!(total.value > 0)) throw new UndefinedMetricError(`${what}: undefined over zero total weight`);
  return gap.value / total.value;
}

/** Equal-width ECE with its bins. */
export function eceDetail(probs: NumericArray, labels: NumericArray, opts: BinOptions = {}): EceDetail {
  const bins = checkBinInputs('ece', probs, labels, opts);
  const b = equalWidthBinsUnchecked(probs, labels, opts.weights, bins);
  return { ece: eceFromBins('ece', b), bins: b };
}

/**
 * Equal-width ECE, M = `opts.bins` (default 10).
 * @throws UndefinedMetricError over zero total weight. @throws RangeError on malformed input.
 */
export function ece(probs: NumericArray, labels: NumericArray, opts: BinOptions = {}): number {
  return eceDetail(probs, labels, opts).ece;
}

/** Equal-frequency ECE with its bins. */
export function eceEqualFrequencyDetail(probs: NumericArray, labels: NumericArray, opts: BinOptions = {}): EceDetail {
  const b = equalFrequencyBins(probs, labels, opts);
  return { ece: eceFromBins('eceEqualFrequency', b), bins: b };
}

/** Equal-frequency ECE, M = `opts.bins` (default 10). Same errors as {@link ece}. */
export function eceEqualFrequency(probs: NumericArray, labels: NumericArray, opts: BinOptions = {}): number {
  return eceEqualFrequencyDetail(probs, labels, opts).ece;
}

export interface ListEceOptions {
  /** Buckets per list K (default 10). */
  readonly buckets?: number;
  readonly weights?: NumericArray;
}

export interface ListEceDetail {
  readonly ece: number;
  /** Lists averaged (positive total weight). */
  readonly listsUsed: number;
  readonly listsTotal: number;
}

/**
 * Per-list ECE (CLID) over lists given by `groups` (rows of a list need not be contiguous).
 * @throws UndefinedMetricError when no list has positive weight. @throws RangeError on malformed input.
 */
export function listEceDetail(probs: NumericArray, labels: NumericArray, groups: GroupKeyArray,
  opts: ListEceOptions = {}): ListEceDetail {
  const what = 'listEce';
  const K = opts.buckets ?? 10;
  if (!Number.isInteger(K) || K < 1) throw new RangeError(`${what}: buckets must be a positive integer, got ${K}`);
  const w = opts.weights;
  checkLengths(what, probs.length, { labels, groups, weights: w });
  checkLabels(what, labels);
  checkProbabilities(what, probs);
  checkWeights(what, w);
  const g = groupRows(groups);
  const sum = new CompensatedSum();
  let used = 0;
  const bucketGap = new Float64Array(K);
  for (let q = 0; q < g.keys.length; q++) {
    const rows = g.rows.slice(g.start[q]!, g.start[q + 1]!);
    const assign = equalFrequencyAssign(probs, w, rows, K);
    bucketGap.fill(0);
    let Wq = 0;
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k]!;
      const wi = w === undefined ? 1 : w[r]!;
      bucketGap[assign[k]!]! += wi * (labels[r]! - probs[r]!);
      Wq += wi;
    }
    if (!(Wq > 0)) continue;
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.abs(bucketGap[k]!);
    sum.add(s / Wq);
    used++;
  }
  if (used === 0) throw new UndefinedMetricError(`${what}: undefined, none of the ${g.keys.length} lists has positive weight`);
  return { ece: sum.value / used, listsUsed: used, listsTotal: g.keys.length };
}

/** Per-list ECE (CLID), K = `opts.buckets` (default 10). See {@link listEceDetail}. */
export function listEce(probs: NumericArray, labels: NumericArray, groups: GroupKeyArray, opts: ListEceOptions = {}): number {
  return listEceDetail(probs, labels, groups, opts).ece;
}
