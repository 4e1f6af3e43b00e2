import type { Activation } from '../../backend/kernels.js';
import { Tensor } from '../../tensor/tensor.js';
import { shapeStr } from '../../tensor/shape.js';
import { K, empty, record, gradIfNeeded } from '../tape.js';

/**
 * DIN's attention unit with one hidden layer as one op (the `targetAttention` kernel): events
 * eb [P, d] in row segments (offsets), targets et [S, d], first layer W1 [4d, h] over
 * [e_b, e_t, e_b − e_t, e_b ⊙ e_t] with bias b1 [h], output unit w2 [h, 1] (or [h]) and b2 [1]
 * → pooled [S, d] = Σ_p (act(z_p)·w2 + b2)·e_b,p. The kernel folds the concatenation into one
 * per-row [d, h] matrix, and neither forward nor backward forms an [events, h] tensor.
 */
export function targetAttentionUnit(eb: Tensor, et: Tensor, offsets: Int32Array, W1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor,
  act: Activation, param = 0): Tensor {
  const op = 'targetAttention';
  if (eb.shape.length !== 2 || et.shape.length !== 2 || W1.shape.length !== 2) {
    throw new Error(`${op}: eb, et and W1 must be 2-D, got ${shapeStr(eb.shape)}, ${shapeStr(et.shape)}, ${shapeStr(W1.shape)}`);
  }
  const [d, h] = [eb.shape[1]!, W1.shape[1]!];
  const S = offsets.length - 1;
  if (et.shape[0] !== S || et.shape[1] !== d) throw new Error(`${op}: et ${shapeStr(et.shape)} should be [${S}, ${d}] (one target per row)`);
  if (W1.shape[0] !== 4 * d) throw new Error(`${op}: W1 ${shapeStr(W1.shape)} should have ${4 * d} rows (4·d)`);
  if (b1.size !== h || w2.size !== h || b2.size !== 1) {
    throw new Error(`${op}: b1 ${shapeStr(b1.shape)}, w2 ${shapeStr(w2.shape)}, b2 ${shapeStr(b2.shape)} do not match h=${h}`);
  }
  const out = empty([S, d]);
  const args = [eb.data, et.data, offsets, W1.data, b1.data, w2.data, b2.data, d, h, act, param] as const;
  K().targetAttention(...args, out.data);
  return record(out, [eb, et, W1, b1, w2, b2], () => {
    K().targetAttentionBackward(...args, out.grad!, gradIfNeeded(eb), gradIfNeeded(et), gradIfNeeded(W1), gradIfNeeded(b1),
      gradIfNeeded(w2), gradIfNeeded(b2));
  });
}
