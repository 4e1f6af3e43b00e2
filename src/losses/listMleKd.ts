/**
 * ListMLE-KD, the other baseline of the CLID paper (SPEC §2): the Plackett–Luce likelihood of
 * the teacher's order π (teacher logits descending) under the student's logits,
 *   L_d = −Σ_i log( exp(s_s,π_i) / Σ_{j≥i} exp(s_s,π_j) ),
 * which is listMle.ts with the teacher as the sort key (ties, one-row lists and lists whose
 * teacher scores are all equal are handled there: they add 0 and are not counted in the mean).
 * It is invariant to any shift of the student's logits within a list, so it carries nothing
 * about their level; the paper shows it breaks calibration.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { LossBatch, Scope } from './common.js';
import { flatLogits } from './common.js';
import { listMle } from './listMle.js';
import { type TeacherLogits, teacherValues } from './teacher.js';

export interface ListMleKdOptions {
  /** 'group' (default): each list of batch.groupOffsets; 'batch': the whole batch as one list. */
  lists?: Scope;
}

export function listMleKd(zStudent: Tensor, zTeacher: TeacherLogits, batch: LossBatch, opts: ListMleKdOptions = {}): Tensor {
  const zs = flatLogits('listMleKd', zStudent, batch);
  const zt = teacherValues('listMleKd', zTeacher, batch.labels.length);
  return listMle(zs, batch, { teacher: zt, lists: opts.lists ?? 'group' });
}
