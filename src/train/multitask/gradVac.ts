/**
 * GradVac (Wang et al. 2021, "Gradient Vaccine"): each pair of tasks keeps an EMA target φ̂ᵢⱼ of
 * the cosine between their gradients; when this step's φᵢⱼ = cos(gᵢ, gⱼ) falls below it,
 *   gᵢ ← gᵢ + ‖gᵢ‖ (φ̂ √(1−φ²) − φ √(1−φ̂²)) / (‖gⱼ‖ √(1−φ̂²)) · gⱼ,
 * which sets the cosine to φ̂ exactly; then φ̂ᵢⱼ ← (1−β) φ̂ᵢⱼ + β φᵢⱼ. Tasks i are corrected
 * against the others j in a random order (seeded by (seed, step)), gᵢ being the corrected vector
 * so far and gⱼ the original; the update is the sum of the corrected gᵢ. Targets start at 0,
 * where the correction is PCGrad's projection.
 *
 * Targets are kept per sub-vector slot (segments.ts): one for split 'none', one per tensor for
 * 'tensor', one per dense chunk for 'chunk'. A table under 'chunk' is corrected row by row, but
 * all its rows share the table's target (one per row would make the state grow with every row
 * ever touched), which moves once per step by the mean of the rows' cosines. A target is read at
 * the start of the step and updated at its end.
 */
import { z } from 'zod';
import type { GradientBlock } from '../../autograd/taskGradients.js';
import type { MetricValue } from '../metricLog.js';
import type { GradientLevelMethod, TaskStepInfo } from './method.js';
import { ConflictCounter } from './conflicts.js';
import { combineSegments, dotWith, quadratic, sumOfCorrected, type SplitOptions } from './segments.js';
import { taskOrders } from './taskOrder.js';

const stateSchema = z.strictObject({
  targets: z.array(z.tuple([z.string(), z.array(z.number().min(-1).max(1))])),
  conflicts: z.unknown(),
});

/** Cosines seen this step in one slot: sums and counts per ordered pair (i, j). */
interface Observed {
  sum: Float64Array;
  n: Float64Array;
}

export class GradVac implements GradientLevelMethod {
  readonly name = 'gradvac';
  readonly level = 'gradient';
  private targets = new Map<string, Float64Array>();
  private readonly conflicts = new ConflictCounter();

  constructor(private readonly T: number, private readonly seed: number, private readonly split: SplitOptions, readonly beta: number) {
    if (!(beta > 0 && beta <= 1)) throw new Error(`gradvac: beta must be in (0, 1], got ${beta}`);
  }

  combine(blocks: readonly GradientBlock[], info: TaskStepInfo): Float32Array[] {
    const T = this.T;
    const orders = taskOrders(T, this.seed, info.step);
    const seen = new Map<string, Observed>();
    const out = combineSegments(blocks, T, this.split, ({ slot, gram }) => {
      const target = this.target(slot);
      let obs = seen.get(slot);
      if (!obs) seen.set(slot, (obs = { sum: new Float64Array(T * T), n: new Float64Array(T * T) }));
      const observed = obs;
      return sumOfCorrected(T, orders, (a, i, j) => {
        const gjj = gram[j * T + j]!;
        const gii = quadratic(gram, T, a);
        if (!(gjj > 0 && gii > 0)) return;
        const ni = Math.sqrt(gii), nj = Math.sqrt(gjj);
        const phi = Math.max(-1, Math.min(1, dotWith(gram, T, a, j) / (ni * nj)));
        const goal = target[i * T + j]!;
        const s = Math.sqrt(1 - goal * goal);
        const conflict = phi < goal && s > 0;
        this.conflicts.count(conflict);
        if (conflict) a[j] = a[j]! + (ni * (goal * Math.sqrt(1 - phi * phi) - phi * s)) / (nj * s);
        observed.sum[i * T + j] = observed.sum[i * T + j]! + phi;
        observed.n[i * T + j] = observed.n[i * T + j]! + 1;
      });
    });
    for (const [slot, { sum, n }] of seen) {
      const target = this.target(slot);
      for (let p = 0; p < T * T; p++) if (n[p]! > 0) target[p] = (1 - this.beta) * target[p]! + (this.beta * sum[p]!) / n[p]!;
    }
    return out;
  }

  private target(slot: string): Float64Array {
    let t = this.targets.get(slot);
    if (!t) this.targets.set(slot, (t = new Float64Array(this.T * this.T)));
    return t;
  }

  /** The EMA target of a slot (row-major T × T), for tests and inspection. */
  targetOf(slot: string): Float64Array | undefined {
    return this.targets.get(slot);
  }

  endEpoch(): void {
    this.conflicts.endEpoch();
  }

  epochRecord(): Record<string, MetricValue> {
    return this.conflicts.record();
  }

  save(): unknown {
    const targets = [...this.targets].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([slot, t]) => [slot, Array.from(t)]);
    return { targets, conflicts: this.conflicts.save() };
  }

  load(state: unknown): void {
    const r = stateSchema.safeParse(state);
    if (!r.success) throw new Error(`gradvac state: expected { targets: [[slot, cosines]], conflicts }, got ${JSON.stringify(state)?.slice(0, 200)}`);
    const targets = new Map<string, Float64Array>();
    for (const [slot, t] of r.data.targets) {
      if (t.length !== this.T * this.T) throw new Error(`gradvac state: slot '${slot}' has ${t.length} targets, expected ${this.T * this.T} for ${this.T} tasks`);
      targets.set(slot, Float64Array.from(t));
    }
    this.conflicts.load(r.data.conflicts, 'gradvac state');
    this.targets = targets;
  }
}
