/**
 * Optimisers from an experiment config's `train.optimizer` section. Dense parameters and
 * embedding tables form two groups; tables may get their own learning rate
 * (`embeddingLr`), as large CTR models usually want.
 */
import { z } from 'zod';
import type { Module } from '../nn/module.js';
import { SGD } from './sgd.js';
import { AdaGrad } from './adagrad.js';
import { Adam, AdamW } from './adam.js';
import type { GroupOptions, Optimizer } from './optimizer.js';

export const optimizerConfigSchema = z.strictObject({
  type: z.enum(['sgd', 'adagrad', 'adam', 'adamw']),
  lr: z.number().positive(),
  /** Learning rate of the embedding tables (default: lr). */
  embeddingLr: z.number().positive().optional(),
  weightDecay: z.number().min(0).optional(),
  momentum: z.number().min(0).max(1).optional(),
  nesterov: z.boolean().optional(),
  beta1: z.number().min(0).max(1).optional(),
  beta2: z.number().min(0).max(1).optional(),
  eps: z.number().positive().optional(),
  initialAccumulator: z.number().min(0).optional(),
  /** AdaGrad tables: one accumulator per row. */
  rowwise: z.boolean().optional(),
});

export type OptimizerConfig = z.infer<typeof optimizerConfigSchema>;

/** Validates a raw `optimizer` object; errors name the offending key under `where`. */
export function parseOptimizerConfig(raw: unknown, where = 'train.optimizer'): OptimizerConfig {
  const r = optimizerConfigSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`${[where, ...i.path.map(String)].join('.')}: ${i.message}`);
  }
  return r.data;
}

/** Any optimiser the registry builds (SGD, AdaGrad, Adam or AdamW), seen through the base class. */
export type ConfiguredOptimizer = Optimizer<GroupOptions>;

/** Drops undefined keys so that the optimisers' own defaults apply. */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function createOptimizer(cfg: OptimizerConfig, model: Module): ConfiguredOptimizer {
  const dense = { params: model.parameters() };
  const tables = { tables: model.tables(), lr: cfg.embeddingLr ?? cfg.lr };
  const common = { lr: cfg.lr, ...defined({ weightDecay: cfg.weightDecay, eps: cfg.eps }) };
  switch (cfg.type) {
    case 'sgd':
      return new SGD([dense, tables], { lr: cfg.lr, ...defined({ weightDecay: cfg.weightDecay, momentum: cfg.momentum, nesterov: cfg.nesterov }) });
    case 'adagrad':
      return new AdaGrad([dense, tables], { ...common, ...defined({ initialAccumulator: cfg.initialAccumulator, rowwise: cfg.rowwise }) });
    case 'adam':
      return new Adam([dense, tables], { ...common, ...defined({ beta1: cfg.beta1, beta2: cfg.beta2 }) });
    case 'adamw':
      return new AdamW([dense, tables], { ...common, ...defined({ beta1: cfg.beta1, beta2: cfg.beta2 }) });
  }
}
