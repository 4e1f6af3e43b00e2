/**
 * Reliability diagram data: per equal-frequency bin, the mean prediction, the mean label and the
 * count (spec §3). Equal-frequency rather than equal-width because CTRs crowd near 0: equal-width
 * bins would leave nine of ten bins almost empty and their points pure noise.
 */
import { BinOptions, CalibrationBin, equalFrequencyBins } from './calibrationBins.js';
import { NumericArray, UndefinedMetricError } from './common.js';
import { eceFromBins } from './ece.js';

export interface ReliabilityDiagram {
  /** Non-empty bins in increasing prediction order. */
  readonly bins: readonly CalibrationBin[];
  /** Equal-frequency ECE of the same bins, for the caption. */
  readonly ece: number;
  readonly rows: number;
}

/**
 * Reliability diagram with M = `opts.bins` (default 10) equal-frequency bins.
 * @throws UndefinedMetricError over zero total weight. @throws RangeError on malformed input.
 */
export function reliabilityDiagram(probs: NumericArray, labels: NumericArray, opts: BinOptions = {}): ReliabilityDiagram {
  const bins = equalFrequencyBins(probs, labels, opts);
  if (bins.length === 0) throw new UndefinedMetricError('reliabilityDiagram: undefined over zero total weight');
  return { bins, ece: eceFromBins('reliabilityDiagram', bins), rows: probs.length };
}
