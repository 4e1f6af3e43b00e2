import type { BinaryOp, UnaryOp } from '../../backend/kernels.js';
import { Tensor } from '../../tensor/tensor.js';
import { broadcastShape } from '../../tensor/shape.js';
import { K, empty, record, gradOf, gradIfNeeded } from '../tape.js';

function unary(op: UnaryOp, x: Tensor, param = 0): Tensor {
  const out = empty(x.shape);
  K().unary(op, x.data, out.data, x.size, param);
  return record(out, [x], () => {
    K().unaryBackward(op, x.data, out.data, out.grad!, gradOf(x), x.size, param);
  });
}

export const relu = (x: Tensor): Tensor => unary('relu', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const softplus = (x: Tensor): Tensor => unary('softplus', x);
/** SmeLU (smooth ReLU, Shamir et al.): 0 below −β, (x+β)²/4β within ±β, x above β. */
export const smelu = (x: Tensor, beta = 1): Tensor => {
  if (!(beta > 0)) throw new Error(`smelu: beta must be > 0, got ${beta}`);
  return unary('smelu', x, beta);
};
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const neg = (x: Tensor): Tensor => unary('neg', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const square = (x: Tensor): Tensor => unary('square', x);

function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShape(op, a.shape, b.shape);
  const out = empty(shape);
  K().binary(op, a.data, a.shape, b.data, b.shape, out.data, shape);
  return record(out, [a, b], () => {
    K().binaryBackward(op, a.data, a.shape, b.data, b.shape, out.grad!, shape, gradIfNeeded(a), gradIfNeeded(b));
  });
}

export const add = (a: Tensor, b: Tensor): Tensor => binary('add', a, b);
export const sub = (a: Tensor, b: Tensor): Tensor => binary('sub', a, b);
export const mul = (a: Tensor, b: Tensor): Tensor => binary('mul', a, b);
export const div = (a: Tensor, b: Tensor): Tensor => binary('div', a, b);

/** y = a·x + b elementwise with scalar a, b. */
export function affine(x: Tensor, a: number, b = 0): Tensor {
  const out = empty(x.shape);
  K().affine(x.data, out.data, x.size, a, b);
  return record(out, [x], () => K().axpy(x.size, a, out.grad!, gradOf(x)));
}

export const scale = (x: Tensor, a: number): Tensor => affine(x, a, 0);

/**
 * x · s for a one-element tensor s (a learned scalar such as a ReZero gate). Same values as
 * mul(x, s), but the gradient of s is one dense product and sum instead of the general
 * broadcasting reduction into a single element, which is several times slower.
 */
export function mulScalar(x: Tensor, s: Tensor): Tensor {
  if (s.size !== 1) throw new Error(`mulScalar: the scalar must have one element, got shape [${s.shape.join(', ')}]`);
  const out = empty(x.shape);
  K().affine(x.data, out.data, x.size, s.data[0]!, 0);
  return record(out, [x, s], () => {
    const g = out.grad!;
    const dx = gradIfNeeded(x);
    if (dx) K().axpy(x.size, s.data[0]!, g, dx);
    const ds = gradIfNeeded(s);
    if (ds) {
      const prod = empty(x.shape);
      K().binary('mul', x.data, x.shape, g, x.shape, prod.data, x.shape);
      const total = empty([1]);
      K().reduceSum(prod.data, 1, x.size, 1, total.data, 1);
      ds[0] = ds[0]! + total.data[0]!;
    }
  });
}
