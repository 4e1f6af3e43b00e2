/**
 * Group AUC: the impression-weighted mean of per-group AUCs.
 *
 * GAUC = Σ_g n_g · AUC_g / Σ_g n_g over groups (users, queries, pages) holding both classes, with
 * n_g the group's row count or, when sample weights are given, the sum of its weights. Groups with
 * a single class have no AUC and are left out of numerator and denominator alike; counting them as
 * 0.5 would drag GAUC toward chance on sparse-feedback users, which is what GAUC exists to avoid.
 */
import { aucOverRows } from './auc.js';
import { groupRows } from './groups.js';
import {
  CompensatedSum, NumericArray, UndefinedMetricError, checkLabels, checkLengths, checkRankable, checkWeights,
} from './common.js';

/** Group identifiers: numeric ids (typed arrays work) or strings, compared with SameValueZero. */
export type GroupKeys = ArrayLike<number | string>;

/** One group's AUC; `auc` is null when the group lacks one of the classes. */
export interface GroupAuc {
  readonly group: number | string;
  readonly auc: number | null;
  /** Number of rows in the group. */
  readonly rows: number;
  /** n_g: the group's weight in the GAUC average (row count, or sum of sample weights). */
  readonly weight: number;
  /** Positive / negative mass (counts, or weight sums). */
  readonly positives: number;
  readonly negatives: number;
}

export interface GaucDetail {
  readonly gauc: number;
  /** Groups with both classes, i.e. those averaged. */
  readonly groupsUsed: number;
  readonly groupsTotal: number;
  /** Every group in first-seen order. */
  readonly groups: readonly GroupAuc[];
}

/**
 * AUC of every group, in order of each group's first row. Single-class groups get `auc: null`.
 * Cost O(n log n): rows are bucketed by group with a counting sort, then each bucket is sorted.
 */
export function perGroupAuc(scores: NumericArray, labels: NumericArray, groups: GroupKeys,
  weights?: NumericArray): GroupAuc[] {
  const what = 'gauc';
  const n = scores.length;
  checkLengths(what, n, { labels, groups, weights });
  checkLabels(what, labels);
  checkRankable(what, scores);
  checkWeights(what, weights);

  const { keys, rows, start } = groupRows(groups);
  const G = keys.length;

  const out: GroupAuc[] = [];
  for (let g = 0; g < G; g++) {
    const sub = rows.subarray(start[g]!, start[g + 1]!);
    const d = aucOverRows(scores, labels, weights, sub);
    out.push({
      group: keys[g]!,
      auc: Number.isNaN(d.auc) ? null : d.auc,
      rows: sub.length,
      weight: weights === undefined ? sub.length : d.positives + d.negatives,
      positives: d.positives,
      negatives: d.negatives,
    });
  }
  return out;
}

/** GAUC with the per-group breakdown. @throws UndefinedMetricError when no group has both classes. */
export function gaucDetail(scores: NumericArray, labels: NumericArray, groups: GroupKeys,
  weights?: NumericArray): GaucDetail {
  const per = perGroupAuc(scores, labels, groups, weights);
  const num = new CompensatedSum();
  const den = new CompensatedSum();
  let used = 0;
  for (const g of per) {
    if (g.auc === null) continue;
    num.add(g.weight * g.auc);
    den.add(g.weight);
    used++;
  }
  if (used === 0) {
    throw new UndefinedMetricError(`gauc: undefined, none of the ${per.length} groups has both classes`);
  }
  return { gauc: num.value / den.value, groupsUsed: used, groupsTotal: per.length, groups: per };
}

/**
 * GAUC = Σ_g n_g AUC_g / Σ_g n_g over groups with both classes (n_g = rows, or weight sum).
 * @throws UndefinedMetricError when no group has both classes.
 * @throws RangeError on malformed input (see {@link perGroupAuc}).
 */
export function gauc(scores: NumericArray, labels: NumericArray, groups: GroupKeys, weights?: NumericArray): number {
  return gaucDetail(scores, labels, groups, weights).gauc;
}
