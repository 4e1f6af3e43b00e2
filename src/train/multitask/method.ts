/**
 * How a multi-task step turns per-task losses into one update: a small swappable object, as in
 * LibMTL's weighting/. Loss-level methods (static weights, uncertainty weighting, DWA) combine
 * the losses into one scalar to backpropagate; gradient-level methods (GradNorm, PE-LTR, PCGrad,
 * GradVac) read each task's gradient of every tensor (autograd/taskGradients.ts, embedding
 * tables row-sparse) and write one combined gradient.
 *
 * A method's state (learned weights, loss history, EMA targets) is checkpointed with the run
 * through save/load, so a resumed run continues bit-identically.
 */
import type { GradientBlock } from '../../autograd/taskGradients.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { MetricValue } from '../metricLog.js';

/** What a method knows about the step it combines. */
export interface TaskStepInfo {
  /** Optimiser steps already taken (the checkpointed count; seeds per-step randomness). */
  readonly step: number;
  /** Each task's loss value this step. */
  readonly losses: readonly number[];
}

interface MethodState {
  readonly name: string;
  /** A JSON snapshot of the method's state (numbers round-trip exactly through JSON). */
  save(): unknown;
  load(state: unknown): void;
  /** Called when an epoch completes, after the step whose losses it saw last. */
  endEpoch?(): void;
  /** Values for the epoch log record (e.g. the current task weights, by task name). */
  epochRecord?(): Record<string, MetricValue>;
}

export interface LossLevelMethod extends MethodState {
  readonly level: 'loss';
  /** The scalar to backpropagate. */
  combine(losses: readonly Tensor[], info: TaskStepInfo): Tensor;
}

export interface GradientLevelMethod extends MethodState {
  readonly level: 'gradient';
  /**
   * One combined gradient per block (same layout as the block's per-task gradients). Blocks that
   * only one task reaches are task-specific: methods pass that task's gradient through.
   */
  combine(blocks: readonly GradientBlock[], info: TaskStepInfo): Float32Array[];
}

export type MultiTaskMethod = LossLevelMethod | GradientLevelMethod;
