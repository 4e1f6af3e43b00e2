import { Tensor } from '../../tensor/tensor.js';
import { K, empty, record, stepArena, gradOf } from '../tape.js';

/**
 * Inverted dropout with a counter-based mask: the same (seed, element) always gives the same
 * decision, on both backends and with any thread count. Callers pass a fresh seed per step.
 */
export function dropout(x: Tensor, p: number, seed: number, training = true): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  const out = empty(x.shape);
  const mask = stepArena().f32(x.size);
  K().dropout(x.data, x.size, p, seed >>> 0, mask, out.data);
  return record(out, [x], () => {
    K().binaryBackward('mul', x.data, [x.size], mask, [x.size], out.grad!, [x.size], gradOf(x), null);
  });
}
