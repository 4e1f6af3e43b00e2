/**
 * Negative downsampling of a stream (online training with data.sampling). Whether a row is kept is
 * a hash of the seed and the row's stream position (input line, or JetStream sequence and line in
 * the message) rather than the next draw of a generator running along the stream, so a run resumed
 * after a kill keeps exactly the rows the uninterrupted run keeps, and the decision never depends
 * on batch boundaries.
 */
import type { Dataset } from '../dataset.js';
import { checkRate } from './negative.js';
import { selectRows } from './subset.js';

/** murmur3's 32-bit finaliser: every input bit flips each output bit with probability about ½. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A uniform in [0, 1) determined by (seed, position, part); positions up to 2⁵³, parts up to 2³².
 * `part` tells apart the records at one position (the lines of a JetStream message after its
 * first); part 0 is the position alone, so a one-record message draws what it always drew.
 */
export function positionUniform(seed: number, position: number, part = 0): number {
  const lo = position >>> 0;
  const hi = Math.floor(position / 0x100000000) >>> 0;
  let h = fmix32((fmix32((seed >>> 0) ^ 0x9e3779b9) + Math.imul(hi, 0x85ebca6b) + lo) >>> 0);
  // fmix32 is a bijection and h ^ part·odd injective in part: distinct parts, distinct draws' inputs.
  if (part !== 0) h = fmix32((h ^ Math.imul(part, 0xcc9e2d51)) >>> 0);
  return fmix32(h ^ 0x27d4eb2f) / 0x100000000;
}

export interface StreamSampling {
  /** Keep probability of a negative (1: no negative downsampling). */
  negativeRate: number;
  /** Weight of a positive. */
  betaPos: number;
  seed: number;
  /** Kept negatives weigh 1/r (inverse propensity): the model then needs no prediction correction. */
  inverseWeights: boolean;
}

/**
 * The rows of a stream batch to train on (ascending), their weights multiplied by β for positives
 * and, with inverseWeights, 1/r for negatives. `positions[i]` is row i's stream position, and
 * `parts[i]` (default 0) tells it from the other rows at that position (positionUniform). `ipw[i]`
 * (default 1) is row i's keep probability under the inverse-propensity samplers (loss, position):
 * it multiplies the negative rate's, one draw decides, and a kept row's weight is divided by it.
 */
export function sampleStreamRows(ds: Dataset, positions: ArrayLike<number>, s: StreamSampling, ipw?: ArrayLike<number>, parts?: ArrayLike<number>): Dataset {
  checkRate(s.negativeRate, 'sampleStreamRows');
  const y = ds.labels[0];
  if (y === undefined) throw new Error('sampleStreamRows: needs a label to tell positives from negatives');
  if (ipw !== undefined && ipw.length !== ds.numRows) throw new Error(`sampleStreamRows: ${ipw.length} keep probabilities for ${ds.numRows} rows`);
  const keep = new Int32Array(ds.numRows);
  let k = 0;
  for (let i = 0; i < ds.numRows; i++) {
    const p = (y[i]! > 0 ? 1 : s.negativeRate) * (ipw?.[i] ?? 1);
    if (p >= 1 || positionUniform(s.seed, positions[i]!, parts?.[i] ?? 0) < p) keep[k++] = i;
  }
  const rows = keep.slice(0, k);
  const out = k === ds.numRows ? { ...ds } : selectRows(ds, rows);
  const negW = s.inverseWeights ? 1 / s.negativeRate : 1;
  if (s.betaPos !== 1 || negW !== 1 || ipw !== undefined) {
    const yk = out.labels[0]!;
    const w = new Float32Array(out.numRows);
    for (let j = 0; j < w.length; j++) w[j] = (out.weights?.[j] ?? 1) * (yk[j]! > 0 ? s.betaPos : negW) / (ipw?.[rows[j]!] ?? 1);
    out.weights = w;
  }
  return out;
}
