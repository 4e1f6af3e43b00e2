/** Multi-task methods by name, for configs (train.multitask). */
import { z } from 'zod';
import { ConfigError } from '../../schema/errors.js';
import type { MultiTaskMethod } from './method.js';
import { StaticWeights } from './staticWeights.js';

const multiTaskSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('static') }),
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

export function parseMultiTaskConfig(input: unknown, where = 'train.multitask'): MultiTaskConfig {
  const r = multiTaskSchema.safeParse(input);
  if (r.success) return r.data;
  throw new ConfigError(r.error.issues.map((i) => `${[where, ...i.path.map(String)].join('.')}: ${i.message}`));
}

export function createMultiTaskMethod(cfg: MultiTaskConfig, ctx: MultiTaskContext): MultiTaskMethod {
  switch (cfg.type) {
    case 'static':
      return new StaticWeights(ctx.weights.map(() => 1));
  }
}
