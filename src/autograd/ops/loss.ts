import { Tensor } from '../../tensor/tensor.js';
import { shapeStr } from '../../tensor/shape.js';
import { K, empty, record, stepArena, gradOf } from '../tape.js';

/**
 * Weighted binary cross-entropy on logits, mean over Σw (stable softplus form). The kernel
 * computes loss and dL/dz in one pass; backward scales the cached gradient.
 */
export function bceWithLogits(z: Tensor, y: Float32Array, w: Float32Array | null = null): Tensor {
  const n = z.size;
  if (y.length !== n) throw new Error(`bceWithLogits: ${y.length} labels for logits of shape ${shapeStr(z.shape)}`);
  if (w && w.length !== n) throw new Error(`bceWithLogits: ${w.length} weights for logits of shape ${shapeStr(z.shape)}`);
  const dz = stepArena().f32(n);
  const loss = K().bceWithLogits(z.data, y, w, n, dz);
  const out = empty([1]);
  out.data[0] = loss;
  return record(out, [z], () => K().axpy(n, out.grad![0]!, dz, gradOf(z)));
}
