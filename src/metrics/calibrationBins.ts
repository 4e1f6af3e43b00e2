/**
 * Binning predictions for calibration metrics: the per-bin (count, weight, Σw·p, Σw·y) that ECE
 * and the reliability diagram are computed from. Two schemes, as in the spec (§3):
 *
 * - equal width: bin m covers [m/M, (m+1)/M); p = 1 goes to the last bin, so every valid
 *   probability has a bin;
 * - equal frequency: rows sorted by p and cut into M bins of (as nearly as possible) equal weight.
 *   Rows with the same p are never split across bins — otherwise the value would depend on the
 *   input row order. A tie group of cumulative weight C before it and weight G goes to bin
 *   ⌊M (C + G/2) / W⌋ (its weight midpoint). Without ties or weights this is row i → ⌊M (i + ½) / N⌋,
 *   i.e. exactly N/M rows per bin when M divides N. Heavy ties can leave bins empty; they are dropped.
 */
import {
  CompensatedSum, NumericArray, checkLabels, checkLengths, checkProbabilities, checkWeights,
} from './common.js';

/** One non-empty bin. Means are weighted by the sample weights when given. */
export interface CalibrationBin {
  /** Bin index in 0..M-1 (empty bins are omitted, so indices may skip). */
  readonly index: number;
  /** Rows in the bin. */
  readonly count: number;
  /** Σ w over the bin (= count without weights). */
  readonly weight: number;
  readonly meanPrediction: number;
  readonly meanLabel: number;
  /** Smallest / largest prediction in the bin. */
  readonly minPrediction: number;
  readonly maxPrediction: number;
}

export interface BinOptions {
  /** Number of bins M (default 10). */
  readonly bins?: number;
  readonly weights?: NumericArray;
}

/** Validates the shared inputs of every binned calibration metric. */
export function checkBinInputs(what: string, probs: NumericArray, labels: NumericArray, opts: BinOptions): number {
  const m = opts.bins ?? 10;
  if (!Number.isInteger(m) || m < 1) throw new RangeError(`${what}: bins must be a positive integer, got ${m}`);
  checkLengths(what, probs.length, { labels, weights: opts.weights });
  checkLabels(what, labels);
  checkProbabilities(what, probs);
  checkWeights(what, opts.weights);
  return m;
}

/** Per-bin running sums; shared with the streaming accumulator. */
export class BinSums {
  readonly count: Float64Array;
  readonly weight: CompensatedSum[];
  readonly sumP: CompensatedSum[];
  readonly sumY: CompensatedSum[];
  readonly minP: Float64Array;
  readonly maxP: Float64Array;

  constructor(readonly bins: number) {
    this.count = new Float64Array(bins);
    this.weight = Array.from({ length: bins }, () => new CompensatedSum());
    this.sumP = Array.from({ length: bins }, () => new CompensatedSum());
    this.sumY = Array.from({ length: bins }, () => new CompensatedSum());
    this.minP = new Float64Array(bins).fill(Infinity);
    this.maxP = new Float64Array(bins).fill(-Infinity);
  }

  add(bin: number, p: number, y: number, w: number): void {
    this.count[bin]!++;
    this.weight[bin]!.add(w);
    this.sumP[bin]!.add(w * p);
    this.sumY[bin]!.add(w * y);
    if (p < this.minP[bin]!) this.minP[bin] = p;
    if (p > this.maxP[bin]!) this.maxP[bin] = p;
  }

  /** Bins holding positive weight; a bin whose rows all have weight 0 has no mean and is dropped. */
  result(): CalibrationBin[] {
    const out: CalibrationBin[] = [];
    for (let m = 0; m < this.bins; m++) {
      const W = this.weight[m]!.value;
      if (!(W > 0)) continue;
      out.push({
        index: m, count: this.count[m]!, weight: W,
        meanPrediction: this.sumP[m]!.value / W, meanLabel: this.sumY[m]!.value / W,
        minPrediction: this.minP[m]!, maxPrediction: this.maxP[m]!,
      });
    }
    return out;
  }
}

/** Equal-width bin of a probability: ⌊p·M⌋, with p = 1 in the last bin. */
export function equalWidthBin(p: number, bins: number): number {
  return Math.min(bins - 1, Math.floor(p * bins));
}

/** Unchecked equal-width binning over rows 0..n-1. */
export function equalWidthBinsUnchecked(probs: NumericArray, labels: NumericArray, weights: NumericArray | undefined,
  bins: number): CalibrationBin[] {
  const s = new BinSums(bins);
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!;
    s.add(equalWidthBin(p, bins), p, labels[i]!, weights === undefined ? 1 : weights[i]!);
  }
  return s.result();
}

/**
 * Unchecked equal-frequency assignment over `rows` (sorted in place by prediction): returns the bin of
 * each entry of `rows`, in sorted order, keeping tie groups together (see the module comment).
 */
export function equalFrequencyAssign(probs: NumericArray, weights: NumericArray | undefined, rows: Uint32Array,
  bins: number): Uint32Array {
  rows.sort((a, b) => {
    const pa = probs[a]!, pb = probs[b]!;
    return pa < pb ? -1 : pa > pb ? 1 : a - b;
  });
  const m = rows.length;
  const total = new CompensatedSum();
  for (let i = 0; i < m; i++) total.add(weights === undefined ? 1 : weights[rows[i]!]!);
  const W = total.value;
  const out = new Uint32Array(m);
  const before = new CompensatedSum();
  let i = 0;
  while (i < m) {
    const p = probs[rows[i]!]!;
    let g = 0;
    let j = i;
    for (; j < m && probs[rows[j]!] === p; j++) g += weights === undefined ? 1 : weights[rows[j]!]!;
    // Zero total weight: every bin would be dropped anyway; put everything in bin 0.
    const bin = W > 0 ? Math.min(bins - 1, Math.floor(bins * (before.value + g / 2) / W)) : 0;
    out.fill(bin, i, j);
    before.add(g);
    i = j;
  }
  return out;
}

/** Equal-width bins (ECE (a) of the spec). @throws RangeError on malformed input. */
export function equalWidthBins(probs: NumericArray, labels: NumericArray, opts: BinOptions = {}): CalibrationBin[] {
  const bins = checkBinInputs('equalWidthBins', probs, labels, opts);
  return equalWidthBinsUnchecked(probs, labels, opts.weights, bins);
}

/** Equal-frequency bins (ECE (b), reliability diagram). @throws RangeError on malformed input. */
export function equalFrequencyBins(probs: NumericArray, labels: NumericArray, opts: BinOptions = {}): CalibrationBin[] {
  const bins = checkBinInputs('equalFrequencyBins', probs, labels, opts);
  const n = probs.length;
  const rows = new Uint32Array(n);
  for (let i = 0; i < n; i++) rows[i] = i;
  const assign = equalFrequencyAssign(probs, opts.weights, rows, bins);
  const s = new BinSums(bins);
  for (let k = 0; k < n; k++) {
    const r = rows[k]!;
    s.add(assign[k]!, probs[r]!, labels[r]!, opts.weights === undefined ? 1 : opts.weights[r]!);
  }
  return s.result();
}
