/**
 * `data.sampling`: negative downsampling and β_pos weighting of the fit rows only. Validation and
 * test rows keep the real class balance, because they measure the model (and choose its epoch) on
 * the data it will score; sampling them would bias every metric the same way it biases training.
 */
import type { Dataset } from '../data/dataset.js';
import { bernoulliKeep } from '../data/sampling/bernoulli.js';
import { positiveWeights } from '../data/sampling/index.js';
import { selectRows } from '../data/sampling/subset.js';
import type { SamplingConfig } from './config.js';
import type { DataSplit } from './split.js';

export interface SampledFit {
  /** Kept fit rows, then every validation and test row (order kept within each). */
  dataset: Dataset;
  split: DataSplit;
}

/**
 * Applies the sampling to the fit rows of `ds` (a buildDataset result: fit rows first). Decides
 * positive vs negative by the first label. The dataset's negativeSampleRate becomes the rate of its
 * fit rows; positives of the fit rows weigh β times their weight. `ipw[i]` (indexed by the rows of
 * `ds`) is fit row i's keep probability under the inverse-propensity samplers (loss, position): it
 * multiplies the negative rate's in the one draw per row, and a kept row's weight is divided by it.
 */
export function sampleFitRows(ds: Dataset, split: DataSplit, s: SamplingConfig, defaultSeed = 1, ipw?: Float32Array): SampledFit {
  const r = s.negativeRate ?? 1;
  const beta = s.betaPos ?? 1;
  if (r === 1 && beta === 1 && ipw === undefined) return { dataset: ds, split };
  const y = ds.labels[0];
  if (y === undefined) throw new Error('data.sampling: needs a label to tell positives from negatives');
  if (ipw !== undefined && ipw.length !== ds.numRows) throw new Error(`sampleFitRows: ${ipw.length} keep probabilities for ${ds.numRows} rows`);
  const { fit } = split;
  const thinned = r !== 1 || ipw !== undefined;
  // The draws of negativeKeep when only r is set (the same rows as before the IPW samplers existed).
  const kept = !thinned ? Int32Array.from({ length: fit.end - fit.start }, (_, i) => fit.start + i)
    : bernoulliKeep((i) => (y[i]! > 0 ? 1 : r) * (ipw?.[i] ?? 1), s.seed ?? defaultSeed, fit.start, fit.end);
  const nFit = kept.length;
  const rest = ds.numRows - fit.end;
  const rows = new Int32Array(nFit + rest);
  rows.set(kept);
  for (let i = 0; i < rest; i++) rows[nFit + i] = fit.end + i;
  const out = !thinned ? { ...ds } : selectRows(ds, rows);
  if (r !== 1) out.negativeSampleRate = (ds.negativeSampleRate ?? 1) * r;
  if (ipw !== undefined) {
    const w = new Float32Array(out.numRows);
    for (let k = 0; k < out.numRows; k++) w[k] = (out.weights?.[k] ?? 1) / (k < nFit ? ipw[rows[k]!]! : 1);
    out.weights = w;
  }
  if (beta !== 1) out.weights = positiveWeights(out.labels[0]!, beta, out.weights, nFit);
  const shift = fit.end - fit.start - nFit;
  return {
    dataset: out,
    split: {
      fit: { start: fit.start, end: fit.start + nFit },
      validation: { start: split.validation.start - shift, end: split.validation.end - shift },
      test: { start: split.test.start - shift, end: split.test.end - shift },
    },
  };
}
