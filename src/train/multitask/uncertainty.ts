/**
 * Uncertainty weighting (Kendall, Gal & Cipolla 2018), classification form:
 * L = Σₜ exp(−sₜ) Lₜ + sₜ/2 with sₜ = log σₜ² learned. The sₜ are not model parameters: their
 * gradient ∂L/∂sₜ = −exp(−sₜ) Lₜ + 1/2 is known in closed form from the step's loss values, so
 * they take their own Adam step (lr configurable) after the loss is built with the current s,
 * and live in the method's checkpointed state. sₜ starts at 0 (weight 1).
 */
import { z } from 'zod';
import { add, affine } from '../../autograd/ops/elementwise.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { MetricValue } from '../metricLog.js';
import type { LossLevelMethod, TaskStepInfo } from './method.js';
import { VectorAdam } from './vectorAdam.js';

const stateSchema = z.strictObject({ logVars: z.array(z.number()), adam: z.unknown() });

export class UncertaintyWeighting implements LossLevelMethod {
  readonly name = 'uw';
  readonly level = 'loss';
  private readonly T: number;
  private s: Float64Array;
  private readonly adam: VectorAdam;

  constructor(private readonly taskNames: readonly string[], lr: number) {
    this.T = taskNames.length;
    this.s = new Float64Array(this.T);
    this.adam = new VectorAdam(this.T, lr);
  }

  /** sₜ = log σₜ². */
  get logVars(): readonly number[] {
    return Array.from(this.s);
  }

  combine(losses: readonly Tensor[], info: TaskStepInfo): Tensor {
    if (losses.length !== this.T) throw new Error(`uw: ${losses.length} losses for ${this.T} tasks`);
    const total = losses.map((l, t) => affine(l, Math.exp(-this.s[t]!), this.s[t]! / 2)).reduce((acc, l) => add(acc, l));
    this.adam.step(this.s, uncertaintyGrad(this.s, info.losses));
    return total;
  }

  epochRecord(): Record<string, MetricValue> {
    return Object.fromEntries(this.taskNames.map((n, t) => [`weight_${n}`, Math.exp(-this.s[t]!)]));
  }

  save(): unknown {
    return { logVars: Array.from(this.s), adam: this.adam.save() };
  }

  load(state: unknown): void {
    const r = stateSchema.safeParse(state);
    if (!r.success || r.data.logVars.length !== this.T) throw new Error(`uw state: expected { logVars: ${this.T} numbers, adam }, got ${JSON.stringify(state)}`);
    this.adam.load(r.data.adam, 'uw state');
    this.s = Float64Array.from(r.data.logVars);
  }
}

/** L(s) = Σₜ exp(−sₜ) Lₜ + sₜ/2. */
export function uncertaintyObjective(s: ArrayLike<number>, losses: readonly number[]): number {
  return losses.reduce((acc, l, t) => acc + Math.exp(-s[t]!) * l + s[t]! / 2, 0);
}

/** ∂L/∂sₜ = −exp(−sₜ) Lₜ + 1/2. */
export function uncertaintyGrad(s: ArrayLike<number>, losses: readonly number[]): Float64Array {
  return Float64Array.from(losses, (l, t) => -Math.exp(-s[t]!) * l + 0.5);
}
