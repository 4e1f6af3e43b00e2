/**
 * The draw behind every sampler: row i of [start, end) is kept when the i-th uniform of
 * Rng(seed) is below its keep probability. One draw per row whatever its probability, so the rows
 * kept from a range do not depend on the rows before it, and samplers that agree on the
 * probabilities (negative downsampling is p = 1 for positives, r for negatives) keep the same rows.
 */
import { Rng } from '../../util/random.js';

/** Ascending indices of the kept rows; `keepProb(i)` must be in (0, 1]. */
export function bernoulliKeep(keepProb: (i: number) => number, seed: number, start: number, end: number): Int32Array {
  const rng = new Rng(seed);
  const keep = new Int32Array(end - start);
  let n = 0;
  for (let i = start; i < end; i++) if (rng.uniform() < keepProb(i)) keep[n++] = i;
  return keep.slice(0, n);
}
