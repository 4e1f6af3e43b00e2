/**
 * Multi-task methods by name, for configs (train.multitask): `{ type, ...settings }`, one strict
 * schema per type, so a setting the chosen method does not have is an error rather than ignored.
 * The tasks' static weights are applied to their losses by the caller before any method sees
 * them; every method here combines already-weighted losses or their gradients.
 */
import { z } from 'zod';
import { ConfigError } from '../../schema/errors.js';
import type { MultiTaskMethod } from './method.js';
import { StaticWeights } from './staticWeights.js';
import { UncertaintyWeighting } from './uncertainty.js';
import { DynamicWeightAverage } from './dwa.js';
import { GradNorm } from './gradNorm.js';
import { PeLtr } from './peLtr.js';
import { PCGrad } from './pcgrad.js';
import { GradVac } from './gradVac.js';

export const MULTITASK_TYPES = ['static', 'uw', 'dwa', 'gradnorm', 'pe-ltr', 'pcgrad', 'gradvac'] as const;

/** Defaults of the optional settings (docs/config.md lists them). */
export const MULTITASK_DEFAULTS = { uwLr: 0.01, dwaTemperature: 2, gradnormAlpha: 1.5, gradnormLr: 0.01, split: 'none', chunkSize: 1024, gradvacBeta: 0.01 } as const;

const lr = z.number().positive().finite().optional();
/** Gradient surgery's sub-vectors (segments.ts): whole shared gradient, per tensor, per chunk. */
const surgery = {
  split: z.enum(['none', 'tensor', 'chunk']).optional(),
  /** Floats per chunk of a dense tensor (split 'chunk'; a table's chunk is one row). */
  chunkSize: z.number().int().positive().optional(),
};
const chunkNeedsSplit = { path: ['chunkSize'], message: "chunkSize applies to split 'chunk' only" };

const multiTaskSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('static') }),
  z.strictObject({ type: z.literal('uw'), lr }),
  z.strictObject({ type: z.literal('dwa'), temperature: z.number().positive().finite().optional() }),
  z.strictObject({ type: z.literal('gradnorm'), alpha: z.number().min(0).finite().optional(), lr }),
  z.strictObject({
    type: z.literal('pe-ltr'),
    /** Lower bounds cₜ of the weights (Σ w = 1 scale): one for all tasks, or one per task. */
    minWeights: z.union([z.number().min(0), z.array(z.number().min(0))]).optional(),
  }),
  z.strictObject({ type: z.literal('pcgrad'), ...surgery }).refine((c) => c.chunkSize === undefined || c.split === 'chunk', chunkNeedsSplit),
  z.strictObject({ type: z.literal('gradvac'), ...surgery, beta: z.number().gt(0).max(1).optional() })
    .refine((c) => c.chunkSize === undefined || c.split === 'chunk', chunkNeedsSplit),
]);

export type MultiTaskConfig = z.output<typeof multiTaskSchema>;

export interface MultiTaskContext {
  taskNames: readonly string[];
  /** Static weights of the trained tasks (already applied to their losses by the caller). */
  weights: readonly number[];
  seed: number;
  /** Block names of the model's last shared layer (GradNorm). */
  lastSharedLayer: readonly string[];
}

/** Validates a raw `multitask` object; errors name the offending key under `where`. */
export function parseMultiTaskConfig(input: unknown, where = 'train.multitask'): MultiTaskConfig {
  const r = multiTaskSchema.safeParse(input);
  if (r.success) return r.data;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ConfigError([`${where}: expected an object with a 'type' field`]);
  const type = (input as { type?: unknown }).type;
  const i = r.error.issues[0]!;
  const at = [where, ...i.path.map(String)].join('.');
  switch (i.code) {
    case 'invalid_union':
      throw new ConfigError([`${where}.type: expected one of ${MULTITASK_TYPES.join(', ')}${type === undefined ? ' (missing)' : `, got ${JSON.stringify(type)}`}`]);
    case 'unrecognized_keys':
      throw new ConfigError([`${at}.${i.keys[0]}: not a setting of multi-task method '${String(type)}'`]);
    default:
      throw new ConfigError([`${at}: ${i.message}`]);
  }
}

/** The configured method; settings that depend on the tasks or the model are checked here. */
export function createMultiTaskMethod(cfg: MultiTaskConfig, ctx: MultiTaskContext, where = 'train.multitask'): MultiTaskMethod {
  const T = ctx.taskNames.length;
  if (T < 1) throw new ConfigError([`${where}: no tasks to combine`]);
  const d = MULTITASK_DEFAULTS;
  switch (cfg.type) {
    case 'static':
      return new StaticWeights(ctx.taskNames.map(() => 1));
    case 'uw':
      return new UncertaintyWeighting(ctx.taskNames, cfg.lr ?? d.uwLr);
    case 'dwa':
      return new DynamicWeightAverage(ctx.taskNames, cfg.temperature ?? d.dwaTemperature);
    case 'gradnorm':
      if (ctx.lastSharedLayer.length === 0) throw new ConfigError([`${where}.type: gradnorm needs a last shared layer, and this model has none (single-task or no shared parameters)`]);
      return new GradNorm(ctx.taskNames, ctx.lastSharedLayer, { alpha: cfg.alpha ?? d.gradnormAlpha, lr: cfg.lr ?? d.gradnormLr });
    case 'pe-ltr': {
      const raw = cfg.minWeights ?? 0;
      const c = typeof raw === 'number' ? ctx.taskNames.map(() => raw) : raw;
      if (c.length !== T) throw new ConfigError([`${where}.minWeights: ${c.length} values for ${T} tasks (${ctx.taskNames.join(', ')})`]);
      const total = c.reduce((a, b) => a + b, 0);
      // Sums such as 0.1 + 0.2 + 0.7 land a rounding error above 1.
      if (total > 1 + 1e-9) throw new ConfigError([`${where}.minWeights: the bounds sum to ${total}; weights sum to 1, so the bounds must sum to at most 1`]);
      return new PeLtr(ctx.taskNames, c);
    }
    case 'pcgrad':
      return new PCGrad(T, ctx.seed, { split: cfg.split ?? d.split, chunkSize: cfg.chunkSize ?? d.chunkSize });
    case 'gradvac':
      return new GradVac(T, ctx.seed, { split: cfg.split ?? d.split, chunkSize: cfg.chunkSize ?? d.chunkSize }, cfg.beta ?? d.gradvacBeta);
  }
}
