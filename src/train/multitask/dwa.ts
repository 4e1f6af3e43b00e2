/**
 * Dynamic Weight Average (Liu, Johns & Davison 2019): wₜ = T · exp(rₜ/τ) / Σₖ exp(rₖ/τ) with
 * rₜ = L̄ₜ(e−1) / L̄ₜ(e−2), the ratio of the task's mean loss over the last two epochs; equal
 * weights (1) until two epochs are complete. The method tracks the epoch means itself from the
 * loss values of each step (info.losses) and moves on at endEpoch. The (static) task weights the
 * losses arrive multiplied by cancel in the ratio.
 */
import { z } from 'zod';
import { add, scale } from '../../autograd/ops/elementwise.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { MetricValue } from '../metricLog.js';
import type { LossLevelMethod, TaskStepInfo } from './method.js';

const stateSchema = z.strictObject({ sums: z.array(z.number()), steps: z.number().int().min(0), history: z.array(z.array(z.number())).max(2) });

export class DynamicWeightAverage implements LossLevelMethod {
  readonly name = 'dwa';
  readonly level = 'loss';
  private readonly T: number;
  private sums: Float64Array;
  private steps = 0;
  /** Mean task losses of the last (up to) two complete epochs, oldest first. */
  private history: number[][] = [];
  private weights: Float64Array;
  /** The weights the finished epoch used (the trainer asks for its record after endEpoch). */
  private finished: Float64Array | null = null;

  constructor(private readonly taskNames: readonly string[], readonly temperature: number) {
    if (!(temperature > 0)) throw new Error(`dwa: temperature must be > 0, got ${temperature}`);
    this.T = taskNames.length;
    this.sums = new Float64Array(this.T);
    this.weights = new Float64Array(this.T).fill(1);
  }

  get currentWeights(): readonly number[] {
    return Array.from(this.weights);
  }

  combine(losses: readonly Tensor[], info: TaskStepInfo): Tensor {
    if (losses.length !== this.T) throw new Error(`dwa: ${losses.length} losses for ${this.T} tasks`);
    info.losses.forEach((l, t) => (this.sums[t] = this.sums[t]! + l));
    this.steps++;
    return losses.map((l, t) => scale(l, this.weights[t]!)).reduce((acc, l) => add(acc, l));
  }

  endEpoch(): void {
    if (this.steps > 0) {
      this.history.push(Array.from(this.sums, (s) => s / this.steps));
      if (this.history.length > 2) this.history.shift();
    }
    this.sums.fill(0);
    this.steps = 0;
    this.finished = this.weights;
    this.weights = dwaWeights(this.history, this.T, this.temperature);
  }

  /** The weights of the last finished epoch (the current ones before any epoch ends). */
  epochRecord(): Record<string, MetricValue> {
    const w = this.finished ?? this.weights;
    return Object.fromEntries(this.taskNames.map((n, t) => [`weight_${n}`, w[t]!]));
  }

  save(): unknown {
    return { sums: Array.from(this.sums), steps: this.steps, history: this.history.map((h) => [...h]) };
  }

  load(state: unknown): void {
    const r = stateSchema.safeParse(state);
    if (!r.success || r.data.sums.length !== this.T || r.data.history.some((h) => h.length !== this.T)) {
      throw new Error(`dwa state: expected { sums, steps, history } for ${this.T} tasks, got ${JSON.stringify(state)}`);
    }
    this.sums = Float64Array.from(r.data.sums);
    this.steps = r.data.steps;
    this.history = r.data.history.map((h) => [...h]);
    this.weights = dwaWeights(this.history, this.T, this.temperature);
  }
}

/** The weights from the last two epochs' mean losses (equal weights with fewer than two). */
export function dwaWeights(history: readonly (readonly number[])[], T: number, temperature: number): Float64Array {
  if (history.length < 2) return new Float64Array(T).fill(1);
  const [older, last] = history.slice(-2) as [readonly number[], readonly number[]];
  const r = last.map((l, t) => (older[t]! > 0 ? l / older[t]! : 1) / temperature);
  const top = Math.max(...r);
  const e = r.map((x) => Math.exp(x - top));
  const z = e.reduce((a, b) => a + b, 0);
  return Float64Array.from(e, (x) => (T * x) / z);
}
