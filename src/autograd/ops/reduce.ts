import { Tensor } from '../../tensor/tensor.js';
import { normAxis, splitAt } from '../../tensor/shape.js';
import { K, empty, record, gradOf } from '../tape.js';

function reduce(x: Tensor, axis: number | undefined, keepDims: boolean, mean: boolean): Tensor {
  const op = mean ? 'mean' : 'sum';
  let outer = 1;
  let len = x.size;
  let inner = 1;
  let shape: number[] = keepDims ? x.shape.map(() => 1) : [];
  if (axis !== undefined) {
    const a = normAxis(op, axis, x.shape.length);
    [outer, len, inner] = splitAt(x.shape, a);
    shape = x.shape.slice();
    if (keepDims) shape[a] = 1;
    else shape.splice(a, 1);
  }
  const s = mean ? (len === 0 ? 0 : 1 / len) : 1;
  const out = empty(shape);
  K().reduceSum(x.data, outer, len, inner, out.data, s);
  return record(out, [x], () => K().reduceSumBackward(out.grad!, outer, len, inner, gradOf(x), s));
}

/** Sum of all elements (axis undefined) or along one axis. */
export const sum = (x: Tensor, axis?: number, keepDims = false): Tensor => reduce(x, axis, keepDims, false);
/** Mean of all elements (axis undefined) or along one axis. */
export const mean = (x: Tensor, axis?: number, keepDims = false): Tensor => reduce(x, axis, keepDims, true);
