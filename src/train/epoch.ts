/**
 * Mini-batch passes over rows of an id matrix: one training epoch in a seeded random order
 * (the last partial batch kept), and batched inference.
 */
import type { Batch } from '../data/batch.js';
import type { CTRModel } from '../models/ctrModel.js';
import type { GroupOptions, Optimizer } from '../optim/optimizer.js';
import { bceWithLogits } from '../autograd/ops/loss.js';
import { noGrad, endStep } from '../autograd/tape.js';
import type { Rng } from '../tensor/random.js';
import { trainStep } from './step.js';

/** Rows of a dataset as the trainer needs them: ids [n, F] and labels [n]. */
export interface RowSource {
  ids: Int32Array;
  labels: Float32Array;
  numFields: number;
}

/** Copies rows `order[from..to)` into a reusable batch. */
function gather(src: RowSource, order: Int32Array, from: number, to: number, into: Batch): Batch {
  const F = src.numFields;
  const size = to - from;
  const ids = into.ids.length === size * F ? into.ids : new Int32Array(size * F);
  const labels = into.labels.length === size ? into.labels : new Float32Array(size);
  for (let b = 0; b < size; b++) {
    const r = order[from + b]!;
    ids.set(src.ids.subarray(r * F, r * F + F), b * F);
    labels[b] = src.labels[r]!;
  }
  into.size = size;
  into.ids = ids;
  into.labels = labels;
  return into;
}

/**
 * Trains one epoch over rows [start, end) in a fresh random permutation drawn from rng;
 * returns the mean training loss.
 * @deprecated Use `Trainer` (src/train/trainer.ts): it adds checkpoints, exact resume,
 * validation, early stopping and the non-finite guard. Kept for the accuracy bench.
 */
export function trainEpoch<O extends GroupOptions>(model: CTRModel, opt: Optimizer<O>, src: RowSource,
  start: number, end: number, batchSize: number, rng: Rng, onStep?: (loss: number, rowsDone: number) => void): number {
  const n = end - start;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = start + i;
  rng.shuffle(order);
  model.train();
  const batch: Batch = { size: 0, numFields: src.numFields, ids: new Int32Array(0), labels: new Float32Array(0) };
  let total = 0;
  for (let from = 0; from < n; from += batchSize) {
    const to = Math.min(n, from + batchSize);
    const b = gather(src, order, from, to, batch);
    const loss = trainStep(opt, () => bceWithLogits(model.forward(b), b.labels));
    total += loss * b.size;
    onStep?.(loss, to);
  }
  return total / Math.max(n, 1);
}

/** Logits for rows [start, end), in order, computed in batches without recording gradients. */
export function predictLogits(model: CTRModel, src: RowSource, start: number, end: number, batchSize = 4096): Float32Array {
  const out = new Float32Array(end - start);
  const F = src.numFields;
  model.eval();
  noGrad(() => {
    for (let from = start; from < end; from += batchSize) {
      const to = Math.min(end, from + batchSize);
      const z = model.forward({ size: to - from, numFields: F, ids: src.ids.subarray(from * F, to * F), labels: src.labels.subarray(from, to) });
      out.set(z.data, from - start);
      endStep();
    }
  });
  return out;
}
