/**
 * CLID, calibration-compatible listwise distillation (Gui et al. 2024; SPEC §2). Within a list,
 * the teacher's and the student's probabilities are normalised to distributions,
 *   P_t(i) = p_t,i / Σ_j p_t,j,   P_s(i) = p_s,i / Σ_j p_s,j,   p = σ(s),
 * and L_d = −Σ_i P_t(i) log P_s(i), averaged over the lists with at least two rows (a one-row
 * list has P = 1 on both sides: it adds exactly 0 and is not counted).
 * Unlike ListNet-KD, the minimum is at P_s = P_t, which p_s = p_t attains: the term does not
 * pull the student away from the probabilities the BCE term calibrates (it is unchanged by
 * scaling all p_s of a list, which BCE then pins). As in rcr.ts, P_s = softmax(log σ(s_s)), so
 * the normaliser stays in log-sum-exp form and very negative logits do not underflow. Sample
 * weights are not applied within a list (a per-row weight would move the minimum off P_t).
 */
import type { Tensor } from '../tensor/tensor.js';
import { neg, softplus } from '../autograd/ops/elementwise.js';
import { segmentLogSoftmax } from '../autograd/ops/softmax.js';
import { type LossBatch, type Scope, dot, flatLogits, scopeOffsets, zeroLoss } from './common.js';
import { type TeacherLogits, crossEntropyCoefficients, listDistribution, teacherValues } from './teacher.js';

export interface ClidOptions {
  /** 'group' (default): each list of batch.groupOffsets; 'batch': the whole batch as one list. */
  lists?: Scope;
}

export function clid(zStudent: Tensor, zTeacher: TeacherLogits, batch: LossBatch, opts: ClidOptions = {}): Tensor {
  const zs = flatLogits('clid', zStudent, batch);
  const zt = teacherValues('clid', zTeacher, batch.labels.length);
  const offsets = scopeOffsets('clid', batch, opts.lists ?? 'group');
  const { target, lists } = listDistribution(offsets, zt, 'probability');
  // Decided before recording anything: an op on the tape with no path to the loss breaks backward.
  if (lists === 0) return zeroLoss(zs);
  const logPs = segmentLogSoftmax(neg(softplus(neg(zs))), offsets);
  return dot(logPs, crossEntropyCoefficients(target, lists));
}
