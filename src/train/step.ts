/**
 * One optimisation step: forward, loss, backward, update, then the step's buffers are
 * recycled. A non-finite loss stops here, before any parameter is touched.
 */
import { backward, endStep } from '../autograd/tape.js';
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

export function trainStep<O extends GroupOptions>(optimizer: Optimizer<O>, computeLoss: () => Tensor): number {
  // Dropout masks follow the optimiser's step count, which checkpoints restore: exact resume.
  beginRandomStep(optimizer.stepCount);
  optimizer.zeroGrad();
  let loss: number;
  try {
    const l = computeLoss();
    loss = l.item();
    if (!Number.isFinite(loss)) {
      throw new NonFiniteLossError(`loss is ${loss} at step ${optimizer.stepCount + 1}; parameters were not updated`, loss);
    }
    backward(l);
    optimizer.step();
  } finally {
    endStep();
  }
  return loss;
}
