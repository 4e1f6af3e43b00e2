/**
 * The random order in which PCGrad and GradVac visit the other tasks, a pure function of
 * (seed, step): a resumed run (whose step count the checkpoint restores) visits them as the
 * uninterrupted run did, with no generator state to save. One order per task and step, shared
 * by all sub-vectors of that step.
 */
import { Rng } from '../../util/random.js';

/** orders[i]: the tasks other than i, shuffled. */
export function taskOrders(T: number, seed: number, step: number): Int32Array[] {
  let h = (seed >>> 0) ^ Math.imul(step >>> 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  const rng = new Rng((h ^ (h >>> 16)) >>> 0);
  const orders: Int32Array[] = [];
  for (let i = 0; i < T; i++) {
    const others = new Int32Array(T - 1);
    for (let j = 0, k = 0; j < T; j++) if (j !== i) others[k++] = j;
    orders.push(rng.shuffle(others));
  }
  return orders;
}
