import { Tensor } from '../../tensor/tensor.js';
import { K, empty, record, gradOf, gradIfNeeded } from '../tape.js';
import { segmentWidth } from './softmax.js';

function segmentReduce(x: Tensor, offsets: Int32Array, mean: boolean): Tensor {
  const d = segmentWidth(mean ? 'segmentMean' : 'segmentSum', x);
  const S = offsets.length - 1;
  if (S < 0) throw new Error(`${mean ? 'segmentMean' : 'segmentSum'}: offsets must have at least one entry`);
  const out = empty(x.shape.length === 1 ? [S] : [S, d]);
  K().segmentSum(x.data, d, offsets, out.data, mean);
  return record(out, [x], () => K().segmentSumBackward(out.grad!, d, offsets, gradOf(x), mean));
}

/** Per-segment sum of rows: [rows, d] → [S, d]. */
export const segmentSum = (x: Tensor, offsets: Int32Array): Tensor => segmentReduce(x, offsets, false);
/** Per-segment mean of rows (empty segment → 0). */
export const segmentMean = (x: Tensor, offsets: Int32Array): Tensor => segmentReduce(x, offsets, true);

/**
 * Each segment's row repeated over the segment's rows: out[p] = x[s] for offsets[s] ≤ p < offsets[s+1]
 * ([S, d] → [offsets[S], d]); e.g. a row's target item against each event of its history.
 * The forward is segment-sum's backward and the backward is segment sum, so both backends'
 * existing kernels serve (bit-identical with any number of threads, as theirs are).
 */
export function segmentBroadcast(x: Tensor, offsets: Int32Array): Tensor {
  const d = segmentWidth('segmentBroadcast', x);
  const S = offsets.length - 1;
  if (S !== x.shape[0]) throw new Error(`segmentBroadcast: ${S} segments but ${x.shape[0]} rows`);
  const rows = offsets[S]!;
  const out = empty(x.shape.length === 1 ? [rows] : [rows, d], true);
  K().segmentSumBackward(x.data, d, offsets, out.data, false);
  return record(out, [x], () => {
    const summed = empty([S * d]);
    K().segmentSum(out.grad!, d, offsets, summed.data, false);
    K().axpy(S * d, 1, summed.data, gradOf(x));
  });
}

/**
 * Per-segment weighted sum: out[s] = Σ_p w[p]·x[p] over segment s's rows; x [rows, d], w [rows]
 * → [S, d] (DIN's pooling). One op rather than mul + segmentSum: the broadcast mul's backward
 * reduces w's gradient over d with the generic broadcasting kernel, the slowest step of a DIN
 * step; here it is a same-shape product and a row sum, all existing kernels.
 */
export function segmentWeightedSum(x: Tensor, w: Tensor, offsets: Int32Array): Tensor {
  if (x.shape.length !== 2) throw new Error(`segmentWeightedSum: x must be [rows, d], got ${x.shape.length}-D`);
  const [rows, d] = [x.shape[0]!, x.shape[1]!];
  if (w.size !== rows) throw new Error(`segmentWeightedSum: ${w.size} weights for ${rows} rows`);
  const S = offsets.length - 1;
  if (S < 0 || offsets[S] !== rows) throw new Error(`segmentWeightedSum: offsets must run from 0 to ${rows} (the rows of x)`);
  const col = [rows, 1];
  const weighted = empty([rows, d]);
  K().binary('mul', x.data, x.shape, w.data, col, weighted.data, x.shape);
  const out = empty([S, d]);
  K().segmentSum(weighted.data, d, offsets, out.data, false);
  return record(out, [x, w], () => {
    // g[p] = dOut[segment of p]; dx[p] += w[p]·g[p]; dw[p] += ⟨x[p], g[p]⟩.
    const g = empty([rows, d], true);
    K().segmentSumBackward(out.grad!, d, offsets, g.data, false);
    const tmp = empty([rows, d]);
    const dx = gradIfNeeded(x);
    if (dx) {
      K().binary('mul', g.data, x.shape, w.data, col, tmp.data, x.shape);
      K().axpy(rows * d, 1, tmp.data, dx);
    }
    const dw = gradIfNeeded(w);
    if (dw) {
      K().binary('mul', g.data, x.shape, x.data, x.shape, tmp.data, x.shape);
      const dot = empty([rows]);
      K().reduceSum(tmp.data, rows, d, 1, dot.data, 1);
      K().axpy(rows, 1, dot.data, dw);
    }
  });
}

/** d[p] = z[i[p]] − z[j[p]] for explicit pairs (RankNet). */
export function pairDiff(z: Tensor, pi: Int32Array, pj: Int32Array): Tensor {
  if (pi.length !== pj.length) throw new Error(`pairDiff: ${pi.length} first indices but ${pj.length} second indices`);
  const n = pi.length;
  const out = empty([n]);
  K().pairDiff(z.data, pi, pj, out.data, n);
  return record(out, [z], () => K().pairDiffBackward(out.grad!, pi, pj, gradOf(z), n));
}

/**
 * RankNet pairs within segments: every (i, j) in the same segment with labels[i] > labels[j],
 * segment by segment, i and j ascending. A segment with a single label value yields none.
 * (The pair count is Σ N+·N− per segment; this is the naive O(pairs) form.)
 */
export function segmentPairs(offsets: Int32Array, labels: ArrayLike<number>): { pi: Int32Array; pj: Int32Array } {
  const S = offsets.length - 1;
  if (S < 0 || offsets[0] !== 0 || offsets[S] !== labels.length) {
    throw new Error(`segmentPairs: offsets must run from 0 to ${labels.length} (the number of labels)`);
  }
  let count = 0;
  const countPairs = (emit: ((i: number, j: number) => void) | null): void => {
    for (let s = 0; s < S; s++) {
      const a = offsets[s]!;
      const b = offsets[s + 1]!;
      if (b < a) throw new Error(`segmentPairs: offsets decrease at segment ${s} (${a} > ${b})`);
      for (let i = a; i < b; i++) {
        for (let j = a; j < b; j++) {
          if (labels[i]! > labels[j]!) {
            if (emit) emit(i, j);
            else count++;
          }
        }
      }
    }
  };
  countPairs(null);
  const pi = new Int32Array(count);
  const pj = new Int32Array(count);
  let p = 0;
  countPairs((i, j) => {
    pi[p] = i;
    pj[p++] = j;
  });
  return { pi, pj };
}
