/**
 * Streaming equal-width ECE: accumulate batch after batch, read the value at any time, reset.
 *
 * Equal-width bins have fixed edges, so per-bin sums (Σw, Σw·p, Σw·y) are all that must be kept:
 * O(M) memory, and the result equals `ece` on the concatenation of the batches (up to rounding).
 * Equal-frequency bins depend on the global quantiles and cannot be accumulated this way.
 */
import { BinSums, CalibrationBin, checkBinInputs, equalWidthBin } from './calibrationBins.js';
import { NumericArray } from './common.js';
import { eceFromBins } from './ece.js';

export class StreamingEce {
  private sums: BinSums;
  private n = 0;

  /** @param bins number of equal-width bins M (default 10). */
  constructor(readonly bins = 10) {
    if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`StreamingEce: bins must be a positive integer, got ${bins}`);
    this.sums = new BinSums(bins);
  }

  /** Rows accumulated since construction or the last reset(). */
  get count(): number {
    return this.n;
  }

  /** Adds one batch; throws RangeError (and adds nothing) on malformed input. */
  add(probs: NumericArray, labels: NumericArray, weights?: NumericArray): void {
    checkBinInputs('StreamingEce.add', probs, labels, { bins: this.bins, ...(weights && { weights }) });
    for (let i = 0; i < probs.length; i++) {
      const p = probs[i]!;
      this.sums.add(equalWidthBin(p, this.bins), p, labels[i]!, weights === undefined ? 1 : weights[i]!);
    }
    this.n += probs.length;
  }

  /** Current non-empty bins. */
  binsSoFar(): CalibrationBin[] {
    return this.sums.result();
  }

  /** ECE over everything added so far. @throws UndefinedMetricError over zero total weight. */
  compute(): number {
    return eceFromBins('StreamingEce', this.sums.result());
  }

  reset(): void {
    this.sums = new BinSums(this.bins);
    this.n = 0;
  }
}
