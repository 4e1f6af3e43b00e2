/** Elementwise kernels: unary functions, fused-activation backward, affine, axpy, axpby, fill. */
import type { Activation, UnaryOp } from '../kernels.js';
import { activationDerivFn, unaryDerivFn, unaryFn } from './activation.js';
import { checkDim, checkLen } from './util.js';

export function unary(op: UnaryOp, x: Float32Array, out: Float32Array, n: number, param: number): void {
  const k = 'unary';
  checkDim(k, 'n', n);
  checkLen(k, 'x', x, n, `n=${n}`);
  checkLen(k, 'out', out, n, `n=${n}`);
  const f = unaryFn(op, param, k);
  for (let i = 0; i < n; i++) out[i] = f(x[i]);
}

export function unaryBackward(op: UnaryOp, x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array,
  n: number, param: number): void {
  const k = 'unaryBackward';
  checkDim(k, 'n', n);
  checkLen(k, 'x', x, n, `n=${n}`);
  checkLen(k, 'y', y, n, `n=${n}`);
  checkLen(k, 'dy', dy, n, `n=${n}`);
  checkLen(k, 'dx', dx, n, `n=${n}`);
  const d = unaryDerivFn(op, param, k);
  for (let i = 0; i < n; i++) dx[i] += dy[i] * d(x[i]);
}

export function activationBackward(act: Activation, y: Float32Array, dy: Float32Array, out: Float32Array,
  n: number, param: number): void {
  const k = 'activationBackward';
  checkDim(k, 'n', n);
  checkLen(k, 'y', y, n, `n=${n}`);
  checkLen(k, 'dy', dy, n, `n=${n}`);
  checkLen(k, 'out', out, n, `n=${n}`);
  const d = activationDerivFn(act, param, k);
  for (let i = 0; i < n; i++) out[i] = dy[i] * d(y[i]);
}

export function affine(x: Float32Array, out: Float32Array, n: number, a: number, b: number): void {
  const k = 'affine';
  checkDim(k, 'n', n);
  checkLen(k, 'x', x, n, `n=${n}`);
  checkLen(k, 'out', out, n, `n=${n}`);
  for (let i = 0; i < n; i++) out[i] = a * x[i] + b;
}

export function axpy(n: number, a: number, x: Float32Array, y: Float32Array): void {
  const k = 'axpy';
  checkDim(k, 'n', n);
  checkLen(k, 'x', x, n, `n=${n}`);
  checkLen(k, 'y', y, n, `n=${n}`);
  for (let i = 0; i < n; i++) y[i] += a * x[i];
}

export function axpby(n: number, a: number, x: Float32Array, b: number, y: Float32Array): void {
  const k = 'axpby';
  checkDim(k, 'n', n);
  checkLen(k, 'x', x, n, `n=${n}`);
  checkLen(k, 'y', y, n, `n=${n}`);
  for (let i = 0; i < n; i++) y[i] = a * x[i]! + b * y[i]!;
}

export function fill(x: Float32Array, n: number, value: number): void {
  const k = 'fill';
  checkDim(k, 'n', n);
  checkLen(k, 'x', x, n, `n=${n}`);
  x.fill(value, 0, n);
}
