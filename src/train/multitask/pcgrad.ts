/**
 * PCGrad (Yu et al. 2020, "Gradient Surgery for Multi-Task Learning"): for each task i, for the
 * other tasks j in a random order, if gᵢ·gⱼ < 0 then gᵢ ← gᵢ − (gᵢ·gⱼ / ‖gⱼ‖²) gⱼ (gⱼ the
 * original gradient); the update is the sum of the corrected gᵢ. Without conflicts it is the
 * plain sum of the task gradients, i.e. the gradient of the summed losses.
 *
 * Runs in coefficient space over segments (segments.ts): the corrected gᵢ is Σₖ aₖ gₖ, and every
 * dot product it needs is a quadratic form in the segment's Gram matrix. With split 'tensor' or
 * 'chunk', conflict is tested and projected per sub-vector.
 */
import type { GradientBlock } from '../../autograd/taskGradients.js';
import type { MetricValue } from '../metricLog.js';
import type { GradientLevelMethod, TaskStepInfo } from './method.js';
import { combineSegments, dotWith, sumOfCorrected, type SegmentView, type SplitOptions } from './segments.js';
import { ConflictCounter } from './conflicts.js';
import { taskOrders } from './taskOrder.js';

export class PCGrad implements GradientLevelMethod {
  readonly name = 'pcgrad';
  readonly level = 'gradient';
  private readonly conflicts = new ConflictCounter();

  constructor(private readonly T: number, private readonly seed: number, private readonly split: SplitOptions) {}

  combine(blocks: readonly GradientBlock[], info: TaskStepInfo): Float32Array[] {
    const T = this.T;
    const orders = taskOrders(T, this.seed, info.step);
    return combineSegments(blocks, T, this.split, ({ gram }: SegmentView) => sumOfCorrected(T, orders, (a, _i, j) => {
      const gjj = gram[j * T + j]!;
      if (gjj === 0) return;
      const d = dotWith(gram, T, a, j);
      const conflict = d < 0;
      this.conflicts.count(conflict);
      if (conflict) a[j] = a[j]! - d / gjj;
    }));
  }

  endEpoch(): void {
    this.conflicts.endEpoch();
  }

  epochRecord(): Record<string, MetricValue> {
    return this.conflicts.record();
  }

  /** The epoch's conflict counts only: the order of a step depends on (seed, step). */
  save(): unknown {
    return { conflicts: this.conflicts.save() };
  }

  load(state: unknown): void {
    this.conflicts.load((state as { conflicts?: unknown } | null)?.conflicts, 'pcgrad state');
  }
}
