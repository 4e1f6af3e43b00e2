/**
 * ListNet-KD, a baseline of the CLID paper (SPEC §2): the teacher's distribution over a list
 * against the softmax of the student's *logits*,
 *   L_d = −Σ_i P_t(i) log softmax(s_s)_i,    P_t(i) = p_t,i / Σ_j p_t,j   (default),
 * averaged over the lists with at least two rows. Its minimum is at softmax(s_s) = P_t, i.e.
 * exp(s_s) ∝ p_t, which p_s = p_t does not satisfy: this is why it breaks calibration (the CLID
 * paper's argument). `teacher: 'softmax'` (config `target: softmax`) takes P_t = softmax(s_t) instead (the textbook ListNet
 * target, and ../shared/bench/torch_clid_ref.py's); then s_s = s_t is a minimum too, but so is
 * every shift s_t + c, which leaves the student's level to the BCE term alone.
 */
import type { Tensor } from '../tensor/tensor.js';
import { segmentLogSoftmax } from '../autograd/ops/softmax.js';
import { type LossBatch, type Scope, dot, flatLogits, scopeOffsets, zeroLoss } from './common.js';
import { type TeacherDistribution, type TeacherLogits, crossEntropyCoefficients, listDistribution, teacherValues } from './teacher.js';

export interface ListNetKdOptions {
  /** 'group' (default): each list of batch.groupOffsets; 'batch': the whole batch as one list. */
  lists?: Scope;
  /** How P_t is formed (default 'probability', as SPEC §2 and the CLID paper). */
  teacher?: TeacherDistribution;
}

export function listNetKd(zStudent: Tensor, zTeacher: TeacherLogits, batch: LossBatch, opts: ListNetKdOptions = {}): Tensor {
  const zs = flatLogits('listNetKd', zStudent, batch);
  const zt = teacherValues('listNetKd', zTeacher, batch.labels.length);
  const offsets = scopeOffsets('listNetKd', batch, opts.lists ?? 'group');
  const { target, lists } = listDistribution(offsets, zt, opts.teacher ?? 'probability');
  if (lists === 0) return zeroLoss(zs);
  return dot(segmentLogSoftmax(zs, offsets), crossEntropyCoefficients(target, lists));
}
