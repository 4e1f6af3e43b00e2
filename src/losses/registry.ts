/**
 * Losses by name, for configs and the CLI: `createLoss(config)` validates the config with zod
 * (every problem reported with its field) and returns a callable loss. The Combined-* types
 * (and JRC, with calibration in place of BCE) are α·main + (1−α)·aux, and an optional
 * curriculum ramps the auxiliary weight in from 0 (see curriculum.ts).
 */
import { z as zod } from 'zod';
import type { Tensor } from '../tensor/tensor.js';
import type { LossBatch } from './common.js';
import { combineLosses } from './combined.js';
import { contrastive } from './contrastive.js';
import { curriculumWeights } from './curriculum.js';
import { focal } from './focal.js';
import { jrcCalibration, jrcRanking } from './jrc.js';
import { listMle } from './listMle.js';
import { listNet } from './listNet.js';
import { rankNet } from './rankNet.js';
import { rcr } from './rcr.js';
import { weightedBce } from './weightedBce.js';

export const LOSS_TYPES = ['bce', 'focal', 'combined-pair', 'combined-list', 'listmle', 'rcr', 'jrc', 'contrastive'] as const;
export type LossType = (typeof LOSS_TYPES)[number];

/** Types that are BCE alone (no auxiliary term, so no α and no curriculum). */
const POINTWISE: readonly LossType[] = ['bce', 'focal'];

/**
 * What each loss needs from the batches and the model, declared once for the runner: `lists`
 * (rows are compared within a list, so a batch keeps lists — queries, requests — whole; for
 * combined-pair only with pairs: group), `logits` per row (JRC's two-logit head) and
 * `representation` (a hidden representation besides the logits).
 */
const TRAITS: Readonly<Record<LossType, { lists: boolean | 'group-pairs'; logits: 1 | 2; representation?: true }>> = {
  bce: { lists: false, logits: 1 }, focal: { lists: false, logits: 1 }, 'combined-pair': { lists: 'group-pairs', logits: 1 },
  'combined-list': { lists: true, logits: 1 }, listmle: { lists: true, logits: 1 }, rcr: { lists: true, logits: 1 },
  jrc: { lists: true, logits: 2 }, contrastive: { lists: false, logits: 1, representation: true },
};

/** The loss compares rows within lists: batches must keep each list (data.group) whole. */
export function keepsListsWhole(c: { type: LossType; pairs?: 'batch' | 'group' }): boolean {
  const l = TRAITS[c.type].lists;
  return l === 'group-pairs' ? c.pairs === 'group' : l;
}

/** Logits per row the loss reads (2: JRC's head). */
export function lossLogits(type: LossType): 1 | 2 {
  return TRAITS[type].logits;
}

/** The loss reads a hidden representation (forwardWithRepresentation) besides the logits. */
export function needsRepresentation(type: LossType): boolean {
  return TRAITS[type].representation === true;
}

const stepCount = (name: string) =>
  zod.number({ error: `${name} must be a number of steps` }).int(`${name} must be a whole number of steps`).min(0, `${name} must be ≥ 0`);

/** `curriculum: { warmupSteps?, rampSteps }` (curriculum.ts), shared by the loss and distill sections. */
export const curriculumSchema = zod.strictObject({ warmupSteps: stepCount('curriculum.warmupSteps').optional(), rampSteps: stepCount('curriculum.rampSteps') });

export const lossConfigSchema = zod.strictObject({
  type: zod.enum(LOSS_TYPES, { error: `type must be one of ${LOSS_TYPES.map((t) => `'${t}'`).join(', ')}` }),
  /** Weight of BCE (of calibration for JRC); the auxiliary term gets 1−α. Default 0.5. */
  alpha: zod.number({ error: 'alpha must be a number' }).min(0, 'alpha must be in [0, 1]').max(1, 'alpha must be in [0, 1]').optional(),
  /** Positive-class weight applied as sample weights to the BCE / calibration term. */
  betaPos: zod.number({ error: 'betaPos must be a number' }).positive('betaPos must be > 0').optional(),
  /** Focal γ (focal only). Default 2. */
  gamma: zod.number({ error: 'gamma must be a number' }).min(0, 'gamma must be ≥ 0').optional(),
  /** RankNet pair scope (combined-pair only); default 'group' when the batch has lists, else 'batch'. */
  pairs: zod.enum(['batch', 'group'], { error: "pairs must be 'batch' or 'group'" }).optional(),
  /** Contrastive temperature τ (contrastive only). Default 0.1. */
  temperature: zod.number({ error: 'temperature must be a number' }).positive('temperature must be > 0').optional(),
  curriculum: curriculumSchema.optional(),
}).superRefine((c, ctx) => {
  const only = (field: 'gamma' | 'pairs' | 'temperature', type: LossType): void => {
    if (c[field] !== undefined && c.type !== type) ctx.addIssue({ code: 'custom', path: [field], message: `${field} applies to type '${type}' only, not '${c.type}'` });
  };
  only('gamma', 'focal');
  only('pairs', 'combined-pair');
  only('temperature', 'contrastive');
  if (POINTWISE.includes(c.type)) {
    for (const f of ['alpha', 'curriculum'] as const) {
      if (c[f] !== undefined) ctx.addIssue({ code: 'custom', path: [f], message: `${f} needs an auxiliary loss; type '${c.type}' has none` });
    }
  }
});

export type LossConfig = zod.output<typeof lossConfigSchema>;

export class LossConfigError extends Error {
  /** Each problem with the dotted path of its key inside the loss config ('' = the config itself). */
  constructor(input: unknown, readonly problems: readonly { path: string; message: string }[], section = 'loss') {
    super(`invalid ${section} config ${JSON.stringify(input)}:\n${problems.map((p) => `  - ${p.path || 'config'}: ${p.message}`).join('\n')}`);
  }
}

/** input validated by a `{ type, … }` schema; throws LossConfigError listing every problem by field. */
export function parseTypedConfig<S extends zod.ZodType>(schema: S, input: unknown, section: string): zod.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const type = typeof input === 'object' && input !== null ? (input as { type?: unknown }).type : undefined;
  throw new LossConfigError(input, r.error.issues.flatMap((i) => {
    const path = i.path.join('.');
    if (i.code !== 'unrecognized_keys') return [{ path, message: i.message }];
    return i.keys.map((k) => ({ path: path ? `${path}.${k}` : k, message: `not a setting of ${section} type ${JSON.stringify(type)}` }));
  }), section);
}

/** The config, validated; throws LossConfigError listing every problem by field. */
export function parseLossConfig(input: unknown): LossConfig {
  return parseTypedConfig(lossConfigSchema, input, 'loss');
}

/** What a loss may need besides logits and labels. */
export interface LossContext {
  /** Optimiser step (from 0); required when the config has a curriculum. */
  step?: number;
  /** Representation [N, d] for the contrastive term. */
  representation?: Tensor;
  /** Teacher scores [N] that order ListMLE's lists (else the labels do). */
  teacher?: ArrayLike<number>;
}

export interface ConfiguredLoss {
  (z: Tensor, batch: LossBatch, ctx?: LossContext): Tensor;
  readonly config: LossConfig;
  /** Weights of the main (BCE / calibration) and auxiliary terms at a step. */
  weights(step?: number): { main: number; aux: number };
}

type Term = (z: Tensor, batch: LossBatch, ctx: LossContext) => Tensor;

export function createLoss(input: unknown): ConfiguredLoss {
  const c = parseLossConfig(input);
  const bce: Term = (z, b) => weightedBce(z, b, { betaPos: c.betaPos });
  let main: Term = bce;
  let aux: Term | null = null;
  switch (c.type) {
    case 'bce':
      break;
    case 'focal':
      main = (z, b) => focal(z, b, { gamma: c.gamma, betaPos: c.betaPos });
      break;
    case 'combined-pair':
      aux = (z, b) => rankNet(z, b, { pairs: c.pairs });
      break;
    case 'combined-list':
      aux = (z, b) => listNet(z, b);
      break;
    case 'listmle':
      aux = (z, b, x) => listMle(z, b, { teacher: x.teacher });
      break;
    case 'rcr':
      aux = (z, b) => rcr(z, b);
      break;
    case 'jrc':
      main = (z, b) => jrcCalibration(z, b, { betaPos: c.betaPos });
      aux = (z, b) => jrcRanking(z, b);
      break;
    case 'contrastive':
      aux = (_z, b, x) => {
        if (!x.representation) throw new Error("loss 'contrastive': pass the representation tensor [N, d] as ctx.representation");
        return contrastive(x.representation, b, { temperature: c.temperature });
      };
      break;
  }
  const alpha = aux ? c.alpha ?? 0.5 : 1;
  const weights = (step?: number): { main: number; aux: number } => {
    if (c.curriculum && step === undefined) throw new Error(`loss '${c.type}' has a curriculum: pass ctx.step (the optimiser step)`);
    return curriculumWeights(step ?? 0, alpha, c.curriculum);
  };
  const auxTerm = aux;
  const fn = (z: Tensor, batch: LossBatch, ctx: LossContext = {}): Tensor => {
    const w = weights(ctx.step);
    return combineLosses([
      { loss: () => main(z, batch, ctx), weight: w.main },
      { loss: () => auxTerm!(z, batch, ctx), weight: auxTerm ? w.aux : 0 },
    ]);
  };
  return Object.assign(fn, { config: c, weights });
}
