/**
 * Optimisers from an experiment config's `train.optimizer` section. Dense parameters and
 * embedding tables form two groups; tables may get their own learning rate
 * (`embeddingLr`), as large CTR models usually want. Parameters a model trains at a rate of its
 * own (Module.ownLearningRates) come out of the dense group into one group each, after those two.
 */
import { z } from 'zod';
import { ConfigError } from '../schema/errors.js';
import type { Module } from '../nn/module.js';
import { SGD } from './sgd.js';
import { AdaGrad } from './adagrad.js';
import { Adam, AdamW } from './adam.js';
import { Shampoo } from './shampoo.js';
import type { GroupOptions, Optimizer } from './optimizer.js';

const lr = z.number().positive();
const rate = z.number().min(0).max(1).optional();
/** Settings every type has. weightDecay applies to the dense parameters only (see createOptimizer). */
const shared = {
  lr,
  /** Learning rate of the embedding tables (default: lr). */
  embeddingLr: lr.optional(),
  weightDecay: z.number().min(0).optional(),
};
const eps = z.number().positive().optional();

/**
 * One strict schema per type: a setting the chosen optimiser does not have (momentum for adam,
 * beta1 for sgd) is an error rather than silently ignored, as in the model registry.
 */
export const optimizerConfigSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('sgd'), ...shared, momentum: rate, nesterov: z.boolean().optional() })
    .refine((c) => !c.nesterov || (c.momentum ?? 0) > 0, { path: ['nesterov'], message: 'Nesterov momentum needs momentum > 0' }),
  z.strictObject({
    type: z.literal('adagrad'), ...shared, eps, initialAccumulator: z.number().min(0).optional(),
    /** AdaGrad tables: one accumulator per row. */
    rowwise: z.boolean().optional(),
  }),
  z.strictObject({ type: z.literal('adam'), ...shared, beta1: rate, beta2: rate, eps }),
  z.strictObject({ type: z.literal('adamw'), ...shared, beta1: rate, beta2: rate, eps }),
  z.strictObject({
    type: z.literal('shampoo'), ...shared, eps,
    /** Statistics decay (1: accumulate as AdaGrad does). */
    beta2: z.number().gt(0).max(1).optional(),
    /** Momentum β₁ on the grafted step; Nesterov form unless nesterov: false. */
    momentum: z.number().min(0).lt(1).optional(),
    nesterov: z.boolean().optional(),
    /** Damping of L and R relative to their largest eigenvalue. */
    matrixEps: z.number().positive().optional(),
    blockSize: z.number().int().min(2).optional(),
    precondEvery: z.number().int().positive().optional(),
    startStep: z.number().int().positive().optional(),
    /** Step-size source; AdaGrad is the one implemented (explicit so configs read as they run). */
    grafting: z.literal('adagrad').optional(),
  }).refine((c) => !c.nesterov || (c.momentum ?? 0) > 0, { path: ['nesterov'], message: 'Nesterov momentum needs momentum > 0' }),
]);

export type OptimizerConfig = z.infer<typeof optimizerConfigSchema>;
export const OPTIMIZER_TYPES = ['sgd', 'adagrad', 'adam', 'adamw', 'shampoo'] as const;

/** Validates a raw `optimizer` object; errors name the offending key under `where`. */
export function parseOptimizerConfig(raw: unknown, where = 'train.optimizer'): OptimizerConfig {
  const r = optimizerConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError([`${where}: expected an object with a 'type' field`]);
  const type = (raw as { type?: unknown }).type;
  const i = r.error.issues[0]!;
  const at = [where, ...i.path.map(String)].join('.');
  switch (i.code) {
    case 'invalid_union':
      throw new ConfigError([`${where}.type: expected one of ${OPTIMIZER_TYPES.join(', ')}${type === undefined ? ' (missing)' : `, got ${JSON.stringify(type)}`}`]);
    case 'unrecognized_keys':
      throw new ConfigError([`${at}.${i.keys[0]}: not a setting of optimizer type '${String(type)}'`]);
    default:
      throw new ConfigError([`${at}: ${i.message}`]);
  }
}

/** Any optimiser the registry builds (SGD, AdaGrad, Adam, AdamW or Shampoo), seen through the base class. */
export type ConfiguredOptimizer = Optimizer<GroupOptions>;

/** Drops undefined keys so that the optimisers' own defaults apply. */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Tables are updated lazily (only the batch's rows), so they take no weight decay: decaying just
 * the rows a batch touches would shrink frequent ids more than rare ones. Their group says so
 * (weightDecay 0) instead of carrying a decay it never applies.
 */
export function createOptimizer(cfg: OptimizerConfig, model: Module): ConfiguredOptimizer {
  const own = model.ownLearningRates();
  const apart = new Set(own.flatMap((g) => g.params));
  const dense = { params: model.parameters().filter((p) => !apart.has(p)) };
  const tables = { tables: model.tables(), lr: cfg.embeddingLr ?? cfg.lr, weightDecay: 0 };
  const groups = [dense, tables, ...own.map(({ params, lr }) => ({ params, lr }))];
  const common = { lr: cfg.lr, ...defined({ weightDecay: cfg.weightDecay, eps: 'eps' in cfg ? cfg.eps : undefined }) };
  switch (cfg.type) {
    case 'sgd':
      return new SGD(groups, { lr: cfg.lr, ...defined({ weightDecay: cfg.weightDecay, momentum: cfg.momentum, nesterov: cfg.nesterov }) });
    case 'adagrad':
      return new AdaGrad(groups, { ...common, ...defined({ initialAccumulator: cfg.initialAccumulator, rowwise: cfg.rowwise }) });
    case 'adam':
      return new Adam(groups, { ...common, ...defined({ beta1: cfg.beta1, beta2: cfg.beta2 }) });
    case 'adamw':
      return new AdamW(groups, { ...common, ...defined({ beta1: cfg.beta1, beta2: cfg.beta2 }) });
    case 'shampoo': {
      const { beta2, momentum, nesterov, matrixEps, blockSize, precondEvery, startStep } = cfg;
      return new Shampoo(groups, { ...common, ...defined({ beta2, momentum, nesterov, matrixEps, blockSize, precondEvery, startStep }) });
    }
  }
}
