/**
 * GradNorm (Chen et al. 2018): learned task weights wₜ that equalise the tasks' training rates.
 * On the last shared layer W, Gₜ = ‖∇_W wₜLₜ‖ = wₜ‖gₜᵂ‖ should reach the target
 * Ḡ · rₜ^α, where Ḡ = meanₜ Gₜ, L̃ₜ = Lₜ / Lₜ(0) and rₜ = L̃ₜ / meanₖ L̃ₖ (the target is held
 * constant, as in the paper). The weights take an Adam step on L_grad = Σₜ |Gₜ − targetₜ|,
 * whose gradient is ∂L_grad/∂wₜ = sign(Gₜ − targetₜ) ‖gₜᵂ‖, and are renormalised to sum to T.
 *
 * This step's update uses the weights before their step: Σₜ wₜ gₜ over the shared blocks;
 * task-specific blocks pass through unweighted (method.ts). Lₜ(0) is each task's loss at the
 * first step where it is positive (a task with no rows in the first batch gets its L(0) later;
 * until then its rₜ counts as 1). A weight that the step would push below 1e-4 is held there
 * before renormalising, so no task is switched off.
 */
import { z } from 'zod';
import type { GradientBlock } from '../../autograd/taskGradients.js';
import type { MetricValue } from '../metricLog.js';
import type { GradientLevelMethod, TaskStepInfo } from './method.js';
import { combineSegments } from './segments.js';
import { VectorAdam } from './vectorAdam.js';

const MIN_WEIGHT = 1e-4;

const stateSchema = z.strictObject({ weights: z.array(z.number().positive()), initialLosses: z.array(z.number().nullable()), adam: z.unknown() });

export interface GradNormOptions {
  /** Restoring force α (paper: 0.12 … 3; higher pulls the tasks' training rates together harder). */
  alpha: number;
  /** Adam learning rate of the weights. */
  lr: number;
}

export class GradNorm implements GradientLevelMethod {
  readonly name = 'gradnorm';
  readonly level = 'gradient';
  private readonly T: number;
  private readonly layer: ReadonlySet<string>;
  private weights: Float64Array;
  private initialLosses: (number | null)[];
  private readonly adam: VectorAdam;

  /** `lastSharedLayer`: the block (parameter) names of the model's last shared layer. */
  constructor(private readonly taskNames: readonly string[], lastSharedLayer: readonly string[], readonly opts: GradNormOptions) {
    this.T = taskNames.length;
    if (lastSharedLayer.length === 0) throw new Error('gradnorm: the last shared layer has no parameters');
    if (!(opts.alpha >= 0)) throw new Error(`gradnorm: alpha must be ≥ 0, got ${opts.alpha}`);
    this.layer = new Set(lastSharedLayer);
    this.weights = new Float64Array(this.T).fill(1);
    this.initialLosses = new Array<number | null>(this.T).fill(null);
    this.adam = new VectorAdam(this.T, opts.lr);
  }

  get currentWeights(): readonly number[] {
    return Array.from(this.weights);
  }

  combine(blocks: readonly GradientBlock[], info: TaskStepInfo): Float32Array[] {
    const T = this.T;
    if (this.initialLosses.every((l) => l === null)) this.checkLayer(blocks);
    info.losses.forEach((l, t) => {
      if (this.initialLosses[t] === null && l > 0) this.initialLosses[t] = l;
    });
    const norms = layerNorms(blocks, this.layer, T);
    const w = Float64Array.from(this.weights);
    const out = combineSegments(blocks, T, { split: 'none', chunkSize: 0 }, () => w, false);
    const targets = gradNormTargets(w, norms, info.losses, this.initialLosses, this.opts.alpha);
    if (norms.some((n) => n > 0)) {
      this.adam.step(this.weights, gradNormWeightGrad(w, norms, targets));
      let s = 0;
      for (let t = 0; t < T; t++) s += Math.max(this.weights[t]!, MIN_WEIGHT);
      for (let t = 0; t < T; t++) this.weights[t] = (T * Math.max(this.weights[t]!, MIN_WEIGHT)) / s;
    }
    return out;
  }

  /** A layer name that no block carries at the first step is a wrong name, not a dead layer. */
  private checkLayer(blocks: readonly GradientBlock[]): void {
    const names = new Set(blocks.map((b) => b.name));
    const missing = [...this.layer].filter((n) => !names.has(n));
    if (missing.length > 0) throw new Error(`gradnorm: last shared layer parameter(s) ${missing.join(', ')} got no gradient at the first step (not a parameter name of the model, or not reached by any task)`);
  }

  epochRecord(): Record<string, MetricValue> {
    return Object.fromEntries(this.taskNames.map((n, t) => [`weight_${n}`, this.weights[t]!]));
  }

  save(): unknown {
    return { weights: Array.from(this.weights), initialLosses: [...this.initialLosses], adam: this.adam.save() };
  }

  load(state: unknown): void {
    const r = stateSchema.safeParse(state);
    if (!r.success || r.data.weights.length !== this.T || r.data.initialLosses.length !== this.T) {
      throw new Error(`gradnorm state: expected { weights, initialLosses, adam } for ${this.T} tasks, got ${JSON.stringify(state)?.slice(0, 200)}`);
    }
    this.adam.load(r.data.adam, 'gradnorm state');
    this.weights = Float64Array.from(r.data.weights);
    this.initialLosses = [...r.data.initialLosses];
  }
}

/** ‖gₜᵂ‖ per task: the norm of each task's (unweighted) gradient over the layer's blocks. */
export function layerNorms(blocks: readonly GradientBlock[], layer: ReadonlySet<string>, T: number): Float64Array {
  const sq = new Float64Array(T);
  for (const b of blocks) {
    if (!layer.has(b.name)) continue;
    for (const t of b.tasks) {
      const g = b.grads[t]!;
      let s = 0;
      for (let k = 0; k < g.length; k++) s += g[k]! * g[k]!;
      sq[t] = sq[t]! + s;
    }
  }
  return sq.map(Math.sqrt);
}

/** targetₜ = meanₖ(wₖ‖gₖᵂ‖) · rₜ^α with rₜ = L̃ₜ / mean L̃, L̃ₜ = Lₜ / Lₜ(0) (1 without an L(0)). */
export function gradNormTargets(w: ArrayLike<number>, norms: ArrayLike<number>, losses: readonly number[], initial: readonly (number | null)[], alpha: number): Float64Array {
  const T = losses.length;
  const ratio = losses.map((l, t) => (initial[t] ? l / initial[t]! : 1));
  const meanRatio = ratio.reduce((a, b) => a + b, 0) / T;
  let meanG = 0;
  for (let t = 0; t < T; t++) meanG += (w[t]! * norms[t]!) / T;
  return Float64Array.from(ratio, (r) => meanG * (meanRatio > 0 ? r / meanRatio : 1) ** alpha);
}

/** L_grad(w) = Σₜ |wₜ‖gₜᵂ‖ − targetₜ| for fixed targets. */
export function gradNormObjective(w: ArrayLike<number>, norms: ArrayLike<number>, targets: ArrayLike<number>): number {
  let s = 0;
  for (let t = 0; t < targets.length; t++) s += Math.abs(w[t]! * norms[t]! - targets[t]!);
  return s;
}

/** ∂L_grad/∂wₜ = sign(wₜ‖gₜᵂ‖ − targetₜ) ‖gₜᵂ‖. */
export function gradNormWeightGrad(w: ArrayLike<number>, norms: ArrayLike<number>, targets: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: targets.length }, (_, t) => Math.sign(w[t]! * norms[t]! - targets[t]!) * norms[t]!);
}
