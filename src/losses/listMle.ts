/**
 * ListMLE (Xia et al. 2008; SPEC §1): the Plackett–Luce likelihood of the target order π,
 *   L = −Σ_i log( exp(z_{π_i}) / Σ_{j≥i} exp(z_{π_j}) ),
 * summed within a list and averaged over lists. π sorts the list by label (descending), or by a
 * teacher's scores for distillation (ListMLE-KD). Ties: an item competes only with itself and
 * the items ranked strictly below it, i.e. the suffix of π_i leaves out the items tied with it.
 * Otherwise the likelihood would ask the model to reproduce the arbitrary order of tied items
 * (with binary labels, almost all of them); without ties this is exactly the formula above. A
 * list whose keys are all equal has no order to learn and contributes 0; so does a one-item list.
 *
 * Each head's candidate set is laid out as its own segment and the term is its segment
 * log-softmax at the head. Cost: at most Σ_lists n(n+1)/2 entries — fine for lists (queries,
 * pages), quadratic for a whole batch, so more than MAX_ENTRIES entries is refused.
 */
import type { Tensor } from '../tensor/tensor.js';
import { pairDiff } from '../autograd/ops/segment.js';
import { segmentLogSoftmax } from '../autograd/ops/softmax.js';
import { type LossBatch, type Scope, dot, flatLogits, scopeOffsets, sortDesc, zeroLoss } from './common.js';

export interface ListMleOptions {
  lists?: Scope;
  /** Scores that define π instead of the labels (teacher order for distillation), [N]. */
  teacher?: ArrayLike<number>;
}

/** Largest number of suffix entries accepted (≈ a 2800-row list); beyond it the quadratic form is too big. */
export const MAX_ENTRIES = 4_000_000;

export function listMle(z: Tensor, batch: LossBatch, opts: ListMleOptions = {}): Tensor {
  const zz = flatLogits('listMle', z, batch);
  const n = batch.labels.length;
  const key = opts.teacher ?? batch.labels;
  if (key.length !== n) throw new Error(`listMle: ${key.length} teacher scores for ${n} labels`);
  const offsets = scopeOffsets('listMle', batch, opts.lists);
  // Per list: the order π and, per position, where the strictly-lower items begin.
  const orders: { order: number[]; lowerFrom: number[] }[] = [];
  let entries = 0;
  for (let s = 0; s + 1 < offsets.length; s++) {
    const [a, b] = [offsets[s]!, offsets[s + 1]!];
    let distinct = false;
    for (let i = a + 1; i < b && !distinct; i++) distinct = key[i] !== key[a];
    if (!distinct) continue;
    const order = sortDesc(a, b, key);
    const lowerFrom = new Array<number>(order.length);
    for (let i = order.length - 1; i >= 0; i--) {
      lowerFrom[i] = i + 1 < order.length && key[order[i + 1]!] === key[order[i]!] ? lowerFrom[i + 1]! : i + 1;
    }
    for (let i = 0; i < order.length; i++) if (lowerFrom[i]! < order.length) entries += 1 + order.length - lowerFrom[i]!;
    orders.push({ order, lowerFrom });
  }
  if (orders.length === 0) return zeroLoss(zz);
  if (entries > MAX_ENTRIES) {
    throw new Error(`listMle: ${entries} suffix entries exceed ${MAX_ENTRIES}; use shorter lists (lists: 'group') or a smaller batch`);
  }
  // Segment of head π_i holds z_c − z_{π_i} for its candidates c (itself first): the shift by
  // z_{π_i} cancels in the log-softmax and puts the head at 0. A head with nothing below it
  // (the lowest label) has log 1 = 0 and is skipped.
  const idx = new Int32Array(entries);
  const anchor = new Int32Array(entries);
  const coef = new Float32Array(entries);
  const segOff: number[] = [0];
  let e = 0;
  for (const { order, lowerFrom } of orders) {
    for (let i = 0; i < order.length; i++) {
      if (lowerFrom[i]! >= order.length) continue;
      coef[e] = -1 / orders.length;
      idx[e] = order[i]!;
      anchor[e++] = order[i]!;
      for (let j = lowerFrom[i]!; j < order.length; j++) {
        idx[e] = order[j]!;
        anchor[e++] = order[i]!;
      }
      segOff.push(e);
    }
  }
  const lsm = segmentLogSoftmax(pairDiff(zz, idx, anchor), Int32Array.from(segOff));
  return dot(lsm, coef);
}
