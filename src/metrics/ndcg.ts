/**
 * NDCG@k per group (query / request / page), averaged over groups:
 *
 *   DCG@k = Σ_{rank r = 1..k} (2^{label} − 1) / log2(r + 1),   NDCG@k = DCG@k / IDCG@k,
 *
 * IDCG@k being the DCG@k of the labels sorted in decreasing order. Labels are graded relevances
 * (any finite value ≥ 0); for 0/1 labels the gain is simply the label. Groups whose labels are
 * all 0 have IDCG = 0 and no NDCG: they are left out of the mean (counting them as 0 or 1 would
 * reward or punish a model for lists it cannot rank at all).
 *
 * Ties in score. Default `ties: 'average'`: every permutation of a tie group is taken as equally
 * likely and the expected DCG is used — each row of a tie group spanning ranks i..j gets the
 * group's mean gain times the sum of the discounts of ranks i..j that fall within k. This is
 * deterministic and independent of the input row order, and equals scikit-learn's ndcg_score
 * (ignore_ties=False) fed with gains 2^label − 1. `ties: 'first'` instead breaks ties by input
 * row order (earlier row ranks higher), the common "stable sort" convention of LTR toolkits.
 *
 * No sample weights: the metric is defined over ranks, and a per-row weight has no standard
 * meaning there. Cost O(n log n).
 */
import { CompensatedSum, NumericArray, UndefinedMetricError, checkLengths, checkRankable } from './common.js';
import { GroupKeyArray, groupRows } from './groups.js';

export type NdcgTies = 'average' | 'first';

export interface NdcgOptions {
  /** Cut-off k (default: the whole list). */
  readonly k?: number;
  readonly ties?: NdcgTies;
}

export interface GroupNdcg {
  readonly group: number | string;
  /** null when the group has no positive label. */
  readonly ndcg: number | null;
  readonly rows: number;
}

export interface NdcgDetail {
  readonly ndcg: number;
  readonly groupsUsed: number;
  readonly groupsTotal: number;
  readonly groups: readonly GroupNdcg[];
}

const discount = (rank0: number): number => 1 / Math.log2(rank0 + 2);

/** Unchecked NDCG@k of one group's rows (the array is reordered); NaN when IDCG = 0. */
function groupNdcg(scores: NumericArray, labels: NumericArray, rows: Uint32Array, k: number, ties: NdcgTies): number {
  const m = rows.length;
  const cut = Math.min(k, m);
  const gain = (r: number): number => 2 ** labels[r]! - 1;
  const ideal = Array.from(rows, gain).sort((a, b) => b - a);
  let idcg = 0;
  for (let r = 0; r < cut; r++) idcg += ideal[r]! * discount(r);
  if (!(idcg > 0)) return Number.NaN;
  rows.sort((a, b) => {
    const sa = scores[a]!, sb = scores[b]!;
    return sa > sb ? -1 : sa < sb ? 1 : a - b;
  });
  let dcg = 0;
  if (ties === 'first') {
    for (let r = 0; r < cut; r++) dcg += gain(rows[r]!) * discount(r);
  } else {
    let i = 0;
    while (i < cut) {
      const s = scores[rows[i]!];
      let j = i;
      let g = 0;
      for (; j < m && scores[rows[j]!] === s; j++) g += gain(rows[j]!);
      let d = 0;
      for (let r = i; r < Math.min(j, cut); r++) d += discount(r);
      dcg += (g / (j - i)) * d;
      i = j;
    }
  }
  return dcg / idcg;
}

/**
 * NDCG@k of every group plus the mean over groups with a positive label.
 * @throws UndefinedMetricError when no group has a positive label.
 * @throws RangeError on mismatched lengths, NaN scores, labels not finite ≥ 0, bad k.
 */
export function ndcgDetail(scores: NumericArray, labels: NumericArray, groups: GroupKeyArray,
  opts: NdcgOptions = {}): NdcgDetail {
  const what = 'ndcg';
  const k = opts.k ?? Infinity;
  if (!(k >= 1) || (Number.isFinite(k) && !Number.isInteger(k))) throw new RangeError(`${what}: k must be a positive integer, got ${k}`);
  checkLengths(what, scores.length, { labels, groups });
  checkRankable(what, scores);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (!(y >= 0) || !Number.isFinite(y)) throw new RangeError(`${what}: label at index ${i} is ${String(y)}, expected a finite relevance >= 0`);
  }
  const ties = opts.ties ?? 'average';
  const g = groupRows(groups);
  const per: GroupNdcg[] = [];
  const sum = new CompensatedSum();
  let used = 0;
  for (let q = 0; q < g.keys.length; q++) {
    const rows = g.rows.subarray(g.start[q]!, g.start[q + 1]!);
    const v = groupNdcg(scores, labels, rows, k, ties);
    const ok = !Number.isNaN(v);
    per.push({ group: g.keys[q]!, ndcg: ok ? v : null, rows: rows.length });
    if (ok) { sum.add(v); used++; }
  }
  if (used === 0) throw new UndefinedMetricError(`${what}: undefined, none of the ${g.keys.length} groups has a positive label`);
  return { ndcg: sum.value / used, groupsUsed: used, groupsTotal: g.keys.length, groups: per };
}

/** Mean NDCG@k over groups with a positive label. See {@link ndcgDetail}. */
export function ndcg(scores: NumericArray, labels: NumericArray, groups: GroupKeyArray, opts: NdcgOptions = {}): number {
  return ndcgDetail(scores, labels, groups, opts).ndcg;
}
