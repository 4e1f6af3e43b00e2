/**
 * One entry point for the distillation term L_d of SPEC §2 (without its weight β, which the
 * config applies: distillRegistry.ts). The teacher's logits are constants: the student's gradient
 * is the only one computed, which is the stop-gradient that joint teacher–student training needs.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { LossBatch, Scope } from './common.js';
import { clid } from './clid.js';
import { listMleKd } from './listMleKd.js';
import { listNetKd } from './listNetKd.js';
import { pointwiseKd } from './pointwiseKd.js';
import type { ConfidenceBuckets } from './teacherConfidence.js';
import type { TeacherDistribution, TeacherLogits } from './teacher.js';

export const DISTILL_TYPES = ['pointwise', 'clid', 'listnet', 'listmle'] as const;
export type DistillType = (typeof DISTILL_TYPES)[number];

/** Per type: pointwise reads temperature / confidence; the list types read lists; listnet teacher. */
export type DistillOptions =
  | { type: 'pointwise'; temperature?: number; confidence?: ConfidenceBuckets }
  | { type: 'clid' | 'listmle'; lists?: Scope }
  | { type: 'listnet'; lists?: Scope; teacher?: TeacherDistribution };

export function distillationLoss(zStudent: Tensor, zTeacher: TeacherLogits, batch: LossBatch, opts: DistillOptions): Tensor {
  switch (opts.type) {
    case 'pointwise':
      return pointwiseKd(zStudent, zTeacher, batch, opts);
    case 'clid':
      return clid(zStudent, zTeacher, batch, opts);
    case 'listnet':
      return listNetKd(zStudent, zTeacher, batch, opts);
    case 'listmle':
      return listMleKd(zStudent, zTeacher, batch, opts);
  }
}
