/**
 * The synthetic Criteo-shaped data of ../shared/bench/torch_throughput.py: 39 fields with
 * 25,641 ids each (999,999 rows in one table), ids uniform per field, labels drawn from a
 * hidden logistic model so the loss decreases; a pool of 16 batches reused round-robin.
 */
import { Rng } from '../src/util/random.js';
import type { Batch } from '../src/data/batch.js';

export const FIELDS = 39;
export const PER_FIELD = 25641;
export const VOCAB = FIELDS * PER_FIELD;
export const DIM = 16;

export function syntheticPool(batch: number, pool = 16, seed = 0): Batch[] {
  const rng = new Rng(seed);
  const wTrue = new Float32Array(VOCAB);
  for (let i = 0; i < VOCAB; i++) wTrue[i] = rng.normal() * 0.5;
  const out: Batch[] = [];
  for (let p = 0; p < pool; p++) {
    const ids = new Int32Array(batch * FIELDS);
    const labels = new Float32Array(batch);
    for (let b = 0; b < batch; b++) {
      let z = -1;
      for (let f = 0; f < FIELDS; f++) {
        const id = f * PER_FIELD + rng.int(PER_FIELD);
        ids[b * FIELDS + f] = id;
        z += wTrue[id]!;
      }
      labels[b] = rng.uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    }
    out.push({ size: batch, numFields: FIELDS, ids, labels });
  }
  return out;
}
