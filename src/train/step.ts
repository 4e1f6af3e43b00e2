/**
 * One optimisation step: forward, loss, backward, update, then the step's buffers are
 * recycled. A non-finite loss stops here, before any parameter is touched.
 */
import { add } from '../autograd/ops/elementwise.js';
import { backward, endStep } from '../autograd/tape.js';
import { taskGradients } from '../autograd/taskGradients.js';
import type { CTRModel } from '../models/ctrModel.js';
import type { MultiTaskMethod } from './multitask/method.js';
import { beginRandomStep } from '../autograd/stepRandom.js';
import type { Tensor } from '../tensor/tensor.js';
import type { GroupOptions, Optimizer } from '../optim/optimizer.js';

export class NonFiniteLossError extends Error {
  /** The offending loss value (NaN, Infinity or -Infinity), so callers need not parse the message. */
  constructor(message: string, readonly loss: number = NaN) {
    super(message);
    this.name = 'NonFiniteLossError';
  }
}

/** Throws NonFiniteLossError for a loss value that is NaN or ±Infinity (`what` names it). */
function checkFinite(loss: number, what: string, step: number): void {
  if (!Number.isFinite(loss)) throw new NonFiniteLossError(`${what} is ${loss} at step ${step}; parameters were not updated`, loss);
}

export function trainStep<O extends GroupOptions>(optimizer: Optimizer<O>, computeLoss: () => Tensor): number {
  // Dropout masks follow the optimiser's step count, which checkpoints restore: exact resume.
  beginRandomStep(optimizer.stepCount);
  optimizer.zeroGrad();
  let loss: number;
  try {
    const l = computeLoss();
    loss = l.item();
    checkFinite(loss, 'loss', optimizer.stepCount + 1);
    backward(l);
    optimizer.step();
  } finally {
    endStep();
  }
  return loss;
}

/** loss + the model's regularizer (CTRModel.regularizer), for a single-loss step. */
export function withRegularizer(model: CTRModel, loss: Tensor): Tensor {
  const r = model.regularizer();
  return r ? add(loss, r) : loss;
}

export interface TaskStepResult {
  /**
   * The combined loss (what a loss-level method backpropagates; Σ of the task losses otherwise),
   * plus the model's regularizer.
   */
  loss: number;
  /** Each task's loss. */
  taskLosses: number[];
  /** The model's regularizer term, when it has one. */
  regularizer?: number;
}

/**
 * One multi-task step: the task losses of one forward pass, combined by `method` — as losses
 * (one backward) or as gradients (one backward per task over the retained tape, combined
 * tensor by tensor) — then one optimiser update. The model's regularizer is not a task: it is
 * added to the combined loss, or its gradient to the combined gradients, untouched by the method.
 */
export function trainTaskStep<O extends GroupOptions>(optimizer: Optimizer<O>, model: CTRModel, computeLosses: () => Tensor[], method: MultiTaskMethod, names: readonly string[]): TaskStepResult {
  beginRandomStep(optimizer.stepCount);
  // Per-task gradients set every parameter's gradient (zeros where no task reaches it), so a
  // gradient-level step clears only the tables: no zero pass over the dense parameters.
  optimizer.zeroGrad({ dense: method.level === 'loss' });
  const step = optimizer.stepCount;
  try {
    const losses = computeLosses();
    const taskLosses = losses.map((l) => l.item());
    taskLosses.forEach((v, t) => checkFinite(v, `loss of task ${names[t] ?? t}`, step + 1));
    const reg = model.regularizer();
    const regularizer = reg?.item();
    if (regularizer !== undefined) checkFinite(regularizer, 'regularizer', step + 1);
    const info = { step, losses: taskLosses };
    let loss: number;
    if (method.level === 'loss') {
      const combined = method.combine(losses, info);
      const total = reg ? add(combined, reg) : combined;
      loss = total.item();
      checkFinite(loss, 'combined loss', step + 1);
      backward(total);
    } else {
      const grads = taskGradients(losses, model.namedParameters(), model.namedTables());
      grads.assign(method.combine(grads.blocks, info));
      // Accumulates onto the combined gradients (the tape is retained by taskGradients).
      if (reg) backward(reg);
      loss = taskLosses.reduce((a, b) => a + b, 0) + (regularizer ?? 0);
    }
    optimizer.step();
    return regularizer === undefined ? { loss, taskLosses } : { loss, taskLosses, regularizer };
  } finally {
    endStep();
  }
}
