/** A few Adam steps of a model on a small dataset's first 240 rows, in 4 fixed batches of 60: model tests' training loop. */
import { bceWithLogits } from '../../src/autograd/ops/loss.js';
import { RowGatherer } from '../../src/data/batching.js';
import type { Dataset } from '../../src/data/dataset.js';
import type { CTRModel } from '../../src/models/ctrModel.js';
import { Adam } from '../../src/optim/adam.js';
import { trainStep } from '../../src/train/step.js';

/** The loss of each step. */
export function trainSteps(m: CTRModel, ds: Dataset, steps: number): number[] {
  const opt = new Adam([{ params: m.parameters(), tables: m.tables() }], { lr: 0.01 });
  const g = new RowGatherer(ds);
  const order = Int32Array.from({ length: 240 }, (_, i) => i);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const b = g.gather(order, (s % 4) * 60, (s % 4 + 1) * 60);
    losses.push(trainStep(opt, () => bceWithLogits(m.forward(b), b.labels)));
  }
  return losses;
}

/** A float array's bytes, for bit-identity assertions. */
export const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
