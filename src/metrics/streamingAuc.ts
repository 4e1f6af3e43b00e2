/**
 * Streaming AUC: collect (score, label, weight) chunks batch by batch, compute the exact AUC once.
 *
 * AUC is not decomposable over batches (a positive in batch 1 ranks against negatives in batch 9),
 * and binned approximations drift with the score distribution. So this keeps every row — 17 bytes
 * each, about 170 MB for ten million rows — and runs the exact sort-and-walk in `compute()`.
 * Inputs are validated and copied on `add`, so callers may reuse their batch buffers.
 */
import { aucOverRows, allRows } from './auc.js';
import {
  NumericArray, UndefinedMetricError, checkLabels, checkLengths, checkRankable, checkWeights,
} from './common.js';

export class StreamingAuc {
  private scores = new Float64Array(1024);
  private labels = new Uint8Array(1024);
  private weights = new Float64Array(1024);
  private n = 0;

  /** Rows accumulated since construction or the last reset(). */
  get count(): number {
    return this.n;
  }

  /** Appends one chunk; `weights` defaults to 1 per row. Throws RangeError (and adds nothing) on bad input. */
  add(scores: NumericArray, labels: NumericArray, weights?: NumericArray): void {
    const what = 'StreamingAuc.add';
    checkLengths(what, scores.length, { labels, weights });
    checkLabels(what, labels);
    checkRankable(what, scores);
    checkWeights(what, weights);
    const m = scores.length;
    this.reserve(this.n + m);
    for (let i = 0; i < m; i++) {
      const j = this.n + i;
      this.scores[j] = scores[i]!;
      this.labels[j] = labels[i]!;
      this.weights[j] = weights === undefined ? 1 : weights[i]!;
    }
    this.n += m;
  }

  /**
   * Exact AUC over everything added so far (same value as `auc` on the concatenation).
   * Does not clear the accumulator. @throws UndefinedMetricError with only one class present.
   */
  compute(): number {
    const n = this.n;
    const d = aucOverRows(this.scores.subarray(0, n), this.labels.subarray(0, n), this.weights.subarray(0, n),
      allRows(n));
    if (Number.isNaN(d.auc)) {
      throw new UndefinedMetricError(
        `StreamingAuc: undefined with only one class present over ${n} rows (positive mass ${d.positives}, negative mass ${d.negatives})`);
    }
    return d.auc;
  }

  /** Drops all rows (e.g. at the start of each evaluation epoch) and releases the buffers. */
  reset(): void {
    this.scores = new Float64Array(1024);
    this.labels = new Uint8Array(1024);
    this.weights = new Float64Array(1024);
    this.n = 0;
  }

  private reserve(need: number): void {
    if (need <= this.scores.length) return;
    // Doubling keeps appends amortised O(1) per row.
    let cap = this.scores.length;
    while (cap < need) cap *= 2;
    const s = new Float64Array(cap); s.set(this.scores.subarray(0, this.n)); this.scores = s;
    const l = new Uint8Array(cap); l.set(this.labels.subarray(0, this.n)); this.labels = l;
    const w = new Float64Array(cap); w.set(this.weights.subarray(0, this.n)); this.weights = w;
  }
}
