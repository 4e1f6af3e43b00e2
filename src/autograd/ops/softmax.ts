import { Tensor } from '../../tensor/tensor.js';
import { normAxis, shapeStr, splitAt } from '../../tensor/shape.js';
import { K, empty, record, gradOf } from '../tape.js';

function softmaxAlong(x: Tensor, axis: number, log: boolean): Tensor {
  const op = log ? 'logSoftmax' : 'softmax';
  const [outer, len, inner] = splitAt(x.shape, normAxis(op, axis, x.shape.length));
  const out = empty(x.shape);
  K().softmax(x.data, outer, len, inner, out.data, log);
  return record(out, [x], () => K().softmaxBackward(out.data, out.grad!, outer, len, inner, gradOf(x), log));
}

export const softmax = (x: Tensor, axis = -1): Tensor => softmaxAlong(x, axis, false);
export const logSoftmax = (x: Tensor, axis = -1): Tensor => softmaxAlong(x, axis, true);

/** Columns per row of a [rows] or [rows, d] tensor used with segment offsets. */
export function segmentWidth(op: string, x: Tensor): number {
  if (x.shape.length === 1) return 1;
  if (x.shape.length === 2) return x.shape[1]!;
  throw new Error(`${op}: expects a [rows] or [rows, d] tensor, got ${shapeStr(x.shape)}`);
}

function segmentSoftmaxOp(x: Tensor, offsets: Int32Array, log: boolean): Tensor {
  const d = segmentWidth(log ? 'segmentLogSoftmax' : 'segmentSoftmax', x);
  const out = empty(x.shape);
  K().segmentSoftmax(x.data, d, offsets, out.data, log);
  return record(out, [x], () => K().segmentSoftmaxBackward(out.data, out.grad!, d, offsets, gradOf(x), log));
}

/** Softmax within each segment (list / query / sequence) given by offsets (S+1 entries). */
export const segmentSoftmax = (x: Tensor, offsets: Int32Array): Tensor => segmentSoftmaxOp(x, offsets, false);
export const segmentLogSoftmax = (x: Tensor, offsets: Int32Array): Tensor => segmentSoftmaxOp(x, offsets, true);
