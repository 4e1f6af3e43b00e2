/**
 * Loss-based (importance) sampling: row i is kept with its own probability p_i (e.g. from a
 * previous model's loss) and weighted 1/p_i, so that weighted sums over the sample stay unbiased
 * estimates of the sums over all rows. p_i is kept in the keepProb column for later correction.
 */
import { bernoulliKeep } from './bernoulli.js';
import type { Dataset } from '../dataset.js';
import { selectRows } from './subset.js';

export function lossBasedSample(ds: Dataset, keepProb: Float32Array, seed: number): Dataset {
  if (keepProb.length !== ds.numRows) throw new Error(`lossBasedSample: ${keepProb.length} keep probabilities for ${ds.numRows} rows`);
  for (let i = 0; i < ds.numRows; i++) {
    const p = keepProb[i]!;
    // p = 0 would give an infinite weight to a row that is never kept anyway; reject it as a caller bug.
    if (!(p > 0 && p <= 1)) throw new RangeError(`lossBasedSample: keep probability of row ${i} is ${p}, expected (0, 1]`);
  }
  const rows = bernoulliKeep((i) => keepProb[i]!, seed, 0, ds.numRows);
  const n = rows.length;
  const out = selectRows(ds, rows);
  const w = new Float32Array(n);
  const kp = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const r = rows[k]!;
    // A previous sampling stage's keepProb compounds with this one.
    kp[k] = keepProb[r]! * (ds.keepProb?.[r] ?? 1);
    w[k] = (ds.weights?.[r] ?? 1) / keepProb[r]!;
  }
  out.weights = w;
  out.keepProb = kp;
  return out;
}
