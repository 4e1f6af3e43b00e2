/**
 * The `distill` section of a config: which distillation term, its weight β and the curriculum
 * that ramps it in after BCE (SPEC §1–2). The student's loss is
 *   L = L_main + β·r(t)·L_d,   r(t) = curriculumFactor(t) ∈ [0, 1]  (1 without a curriculum),
 * the additive form of SPEC §2 (L_s = L_CE + β·L_d): the main loss keeps its full weight while
 * the teacher's term ramps in, so a warm-up is exactly the run without distillation.
 */
import { z as zod } from 'zod';
import type { Tensor } from '../tensor/tensor.js';
import type { LossBatch } from './common.js';
import type { LossTerm } from './combined.js';
import { curriculumFactor } from './curriculum.js';
import { DISTILL_TYPES, type DistillOptions, type DistillType, distillationLoss } from './distillation.js';
import { curriculumSchema, parseTypedConfig } from './registry.js';
import { checkConfidence } from './teacherConfidence.js';
import type { TeacherLogits } from './teacher.js';

const LIST_TYPES: readonly DistillType[] = ['clid', 'listnet', 'listmle'];

const num = (name: string) => zod.number({ error: `${name} must be a number` });

export const distillConfigSchema = zod.strictObject({
  type: zod.enum(DISTILL_TYPES, { error: `type must be one of ${DISTILL_TYPES.map((t) => `'${t}'`).join(', ')}` }),
  /** Weight β of L_d (default 1). */
  beta: num('beta').min(0, 'beta must be ≥ 0').optional(),
  /** τ of pointwise KD (default 1). */
  temperature: num('temperature').positive('temperature must be > 0').optional(),
  /** Weights by teacher-probability bucket (pointwise only). */
  confidence: zod.strictObject({ edges: zod.array(num('confidence.edges[]')), weights: zod.array(num('confidence.weights[]')) }).optional(),
  /** Lists of the listwise types: 'group' (default; needs data.group) or 'batch'. */
  lists: zod.enum(['batch', 'group'], { error: "lists must be 'batch' or 'group'" }).optional(),
  /**
   * ListNet-KD's target: 'probability' (default, SPEC §2) or 'softmax' of the teacher's logits.
   * (`teacher` is the run's teacher source: src/experiment/distillConfig.ts.)
   */
  target: zod.enum(['probability', 'softmax'], { error: "target must be 'probability' or 'softmax'" }).optional(),
  curriculum: curriculumSchema.optional(),
}).superRefine((c, ctx) => {
  const misplaced = (field: keyof typeof c, ok: boolean, types: string): void => {
    if (c[field] !== undefined && !ok) ctx.addIssue({ code: 'custom', path: [field], message: `${field} applies to type ${types} only, not '${c.type}'` });
  };
  misplaced('temperature', c.type === 'pointwise', "'pointwise'");
  // A per-row weight inside a list would move CLID's minimum off p_s = p_t (clid.ts).
  misplaced('confidence', c.type === 'pointwise', "'pointwise'");
  misplaced('lists', LIST_TYPES.includes(c.type), LIST_TYPES.map((t) => `'${t}'`).join(' / '));
  misplaced('target', c.type === 'listnet', "'listnet'");
  if (c.confidence) {
    try {
      checkConfidence(c.confidence);
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['confidence'], message: (e as Error).message.replace(/^confidence: /, '') });
    }
  }
});

export type DistillConfig = zod.output<typeof distillConfigSchema>;

/** The config, validated; throws LossConfigError listing every problem by field. */
export function parseDistillConfig(input: unknown): DistillConfig {
  return parseTypedConfig(distillConfigSchema, input, 'distill');
}

export interface ConfiguredDistillation {
  readonly config: DistillConfig;
  /** β·r(t), the weight of L_d at optimiser step t (required with a curriculum). */
  weight(step?: number): number;
  /** L_d itself, unweighted. */
  loss(zStudent: Tensor, zTeacher: TeacherLogits, batch: LossBatch): Tensor;
  /** The weighted term for combineLosses: L_d is computed only when its weight is not 0. */
  term(zStudent: Tensor, zTeacher: TeacherLogits, batch: LossBatch, step?: number): LossTerm;
}

function optionsOf(c: DistillConfig): DistillOptions {
  switch (c.type) {
    case 'pointwise':
      return { type: c.type, temperature: c.temperature, confidence: c.confidence };
    case 'listnet':
      return { type: c.type, lists: c.lists, teacher: c.target };
    default:
      return { type: c.type, lists: c.lists };
  }
}

export function createDistillation(input: unknown): ConfiguredDistillation {
  const config = parseDistillConfig(input);
  const opts = optionsOf(config);
  const beta = config.beta ?? 1;
  const weight = (step?: number): number => {
    if (!config.curriculum) return beta;
    if (step === undefined) throw new Error(`distill '${config.type}' has a curriculum: pass the optimiser step`);
    return beta * curriculumFactor(step, config.curriculum);
  };
  const loss = (zs: Tensor, zt: TeacherLogits, batch: LossBatch): Tensor => distillationLoss(zs, zt, batch, opts);
  return {
    config,
    weight,
    loss,
    term: (zs, zt, batch, step) => ({ loss: () => loss(zs, zt, batch), weight: weight(step) }),
  };
}
