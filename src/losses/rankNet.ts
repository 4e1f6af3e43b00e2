/**
 * RankNet (Burges et al. 2005), the ranking half of Combined-Pair (SPEC §1, KDD'24):
 *   L_rank = −1/(N+·N−) Σ_{i∈pos} Σ_{j∈neg} log σ(z_i − z_j)
 * per scope (the whole batch, or each list), averaged over the scopes that have a pair. With
 * graded labels a pair is any (i, j) with y_i > y_j and the normaliser is the pair count.
 * A scope with one class only has no pair and contributes exactly 0 (not NaN); when no scope
 * has a pair the loss is a 0 that still backpropagates (zero gradient).
 *
 * Cost: this is the naive form, O(N+·N−) pairs per scope in time and memory (three
 * pair-length arrays plus the pair-difference tensor and its gradient) after an
 * O(n log n) sort per scope. Over a whole batch of 4096 rows with 10% positives that is
 * ~1.5M pairs (≈ 30 MB per step); restrict pairs to lists (`pairs: 'group'`) or use smaller
 * batches when that is too much. No sub-quadratic exact form exists for the logistic pair loss.
 */
import type { Tensor } from '../tensor/tensor.js';
import { neg, softplus } from '../autograd/ops/elementwise.js';
import { pairDiff } from '../autograd/ops/segment.js';
import { type LossBatch, type Scope, dot, flatLogits, scopeOffsets, sortDesc, zeroLoss } from './common.js';

export interface RankNetOptions {
  /** 'batch': pairs across the whole batch (KDD'24); 'group': pairs within each list only. */
  pairs?: Scope;
}

/** Ordered pairs (pi[p] more relevant than pj[p]) and each pair's weight 1/(pairs in scope · scopes with pairs). */
export interface RankPairs {
  pi: Int32Array;
  pj: Int32Array;
  coef: Float32Array;
}

/** Every pair (i, j) in the same segment with labels[i] > labels[j], and its averaging weight. */
export function rankPairs(offsets: Int32Array, labels: ArrayLike<number>): RankPairs {
  const S = offsets.length - 1;
  const sorted: number[][] = [];
  const counts: number[] = [];
  let total = 0;
  let scopes = 0;
  for (let s = 0; s < S; s++) {
    // Sorted by label descending, the pairs of item k are the items after its tie block.
    const order = sortDesc(offsets[s]!, offsets[s + 1]!, labels);
    let c = 0;
    let tieEnd = 0;
    for (let k = 0; k < order.length; k++) {
      if (tieEnd <= k) {
        tieEnd = k + 1;
        while (tieEnd < order.length && labels[order[tieEnd]!] === labels[order[k]!]) tieEnd++;
      }
      c += order.length - tieEnd;
    }
    sorted.push(order);
    counts.push(c);
    total += c;
    if (c > 0) scopes++;
  }
  const pi = new Int32Array(total);
  const pj = new Int32Array(total);
  const coef = new Float32Array(total);
  let p = 0;
  for (let s = 0; s < S; s++) {
    const order = sorted[s]!;
    const w = counts[s]! > 0 ? 1 / (counts[s]! * scopes) : 0;
    let tieEnd = 0;
    for (let k = 0; k < order.length; k++) {
      if (tieEnd <= k) {
        tieEnd = k + 1;
        while (tieEnd < order.length && labels[order[tieEnd]!] === labels[order[k]!]) tieEnd++;
      }
      for (let m = tieEnd; m < order.length; m++) {
        pi[p] = order[k]!;
        pj[p] = order[m]!;
        coef[p++] = w;
      }
    }
  }
  return { pi, pj, coef };
}

export function rankNet(z: Tensor, batch: LossBatch, opts: RankNetOptions = {}): Tensor {
  const zz = flatLogits('rankNet', z, batch);
  const { pi, pj, coef } = rankPairs(scopeOffsets('rankNet', batch, opts.pairs), batch.labels);
  if (pi.length === 0) return zeroLoss(zz);
  // −log σ(z_i − z_j) = softplus(−(z_i − z_j)): stable for any margin.
  return dot(softplus(neg(pairDiff(zz, pi, pj))), coef);
}
