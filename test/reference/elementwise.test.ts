import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceKernels as K } from '../../src/backend/reference/index.js';
import type { UnaryOp } from '../../src/backend/kernels.js';
import { assertClose, f32 } from '../helpers/close.js';

const xs = f32([-2, -0.5, 0, 0.5, 2]);

function run(op: UnaryOp, x: Float32Array, param = 0): Float32Array {
  const out = new Float32Array(x.length);
  K.unary(op, x, out, x.length, param);
  return out;
}

test('unary: hand-computed values', () => {
  assert.deepEqual(Array.from(run('relu', xs)), [0, 0, 0, 0.5, 2]);
  assertClose(run('sigmoid', xs), [0.11920292202, 0.37754066880, 0.5, 0.62245933120, 0.88079707798]);
  assertClose(run('tanh', xs), [-0.96402758008, -0.46211715726, 0, 0.46211715726, 0.96402758008]);
  assertClose(run('softplus', xs), [0.12692801104, 0.47407698418, 0.69314718056, 0.97407698418, 2.12692801104]);
  // SmeLU β=1: 0 below −1, (x+1)²/4 on [−1,1], x above.
  assertClose(run('smelu', xs, 1), [0, 0.0625, 0.25, 0.5625, 2]);
  assertClose(run('exp', xs), [0.13533528324, 0.60653065971, 1, 1.6487212707, 7.3890560989]);
  assert.deepEqual(Array.from(run('neg', xs)), [2, 0.5, -0, -0.5, -2]);
  assert.deepEqual(Array.from(run('abs', xs)), [2, 0.5, 0, 0.5, 2]);
  assert.deepEqual(Array.from(run('square', xs)), [4, 0.25, 0, 0.25, 4]);
  assertClose(run('log', f32([1, Math.E, 0.5])), [0, 1, -0.69314718056]);
  assertClose(run('sqrt', f32([4, 0.25, 2])), [2, 0.5, 1.41421356237]);
});

test('unary: sigmoid and softplus are stable at extreme inputs', () => {
  const big = f32([-1000, -100, 100, 1000]);
  const s = run('sigmoid', big);
  assert.equal(s[0], 0);
  assert.ok(s[1] >= 0 && s[1] < 1e-40);
  assert.equal(s[2], 1);
  assert.equal(s[3], 1);
  const sp = run('softplus', big);
  assert.equal(sp[0], 0);
  assert.ok(sp[1] >= 0 && sp[1] < 1e-40);
  assert.equal(sp[2], 100);
  assert.equal(sp[3], 1000);
});

test('unary: smelu with beta = 0 is relu; negative beta throws', () => {
  assert.deepEqual(Array.from(run('smelu', xs, 0)), [0, 0, 0, 0.5, 2]);
  assert.throws(() => run('smelu', xs, -1), /unary: smelu beta must be finite and >= 0, got -1/);
});

test('unaryBackward: dx += dy · f\'(x) for every op', () => {
  const x = f32([-2, -0.5, 0.5, 2]);
  const cases: [UnaryOp, Float32Array, number[], number][] = [
    ['relu', x, [0, 0, 1, 1], 0],
    ['sigmoid', x, [0.10499358540, 0.23500371220, 0.23500371220, 0.10499358540], 0],
    ['tanh', x, [0.07065082485, 0.78644773296, 0.78644773296, 0.07065082485], 0],
    ['softplus', x, [0.11920292202, 0.37754066880, 0.62245933120, 0.88079707798], 0],
    ['smelu', x, [0, 0.25, 0.75, 1], 1],
    ['exp', x, [0.13533528324, 0.60653065971, 1.6487212707, 7.3890560989], 0],
    ['neg', x, [-1, -1, -1, -1], 0],
    ['abs', x, [-1, -1, 1, 1], 0],
    ['square', x, [-4, -1, 1, 4], 0],
    ['log', f32([1, 2, 4, 0.5]), [1, 0.5, 0.25, 2], 0],
    ['sqrt', f32([1, 4, 0.25, 16]), [0.5, 0.25, 1, 0.125], 0],
  ];
  for (const [op, xin, deriv, param] of cases) {
    const y = run(op, xin, param);
    const dx = f32([1, 1, 1, 1]);
    K.unaryBackward(op, xin, y, f32([2, 2, 2, 2]), dx, 4, param);
    assertClose(dx, deriv.map((d) => 1 + 2 * d), 1e-6, 1e-5, op);
  }
});

test('unaryBackward: kink conventions relu\'(0) = abs\'(0) = 0', () => {
  const z = f32([0]);
  for (const op of ['relu', 'abs'] as const) {
    const dx = f32([0]);
    K.unaryBackward(op, z, run(op, z), f32([1]), dx, 1, 0);
    assert.equal(dx[0], 0, op);
  }
});

test('axpby: y = a·x + b·y, with length checks', () => {
  const y = f32([1, 2, 3, 9]);
  K.axpby(3, 2, f32([1, -1, 0.5]), -0.5, y);
  assert.deepEqual(Array.from(y), [1.5, -3, -0.5, 9]);
  assert.throws(() => K.axpby(4, 1, f32([1, 2, 3, 4]), 1, f32([1, 2, 3])), /axpby: y has 3 elements, needs 4/);
});

test('affine, axpy, fill', () => {
  const out = new Float32Array(3);
  K.affine(f32([1, 2, 3]), out, 3, 2, -1);
  assert.deepEqual(Array.from(out), [1, 3, 5]);
  const y = f32([1, 1, 1]);
  K.axpy(3, -0.5, f32([2, 4, 6]), y);
  assert.deepEqual(Array.from(y), [0, -1, -2]);
  const z = f32([1, 2, 3, 4]);
  K.fill(z, 3, 7);
  assert.deepEqual(Array.from(z), [7, 7, 7, 4]);
  assert.throws(() => K.axpy(4, 1, f32([1, 2, 3, 4]), y), /axpy: y has 3 elements, needs 4/);
});

test('setThreads is a no-op, getThreads is 1', () => {
  assert.equal(K.name, 'reference');
  K.setThreads(8);
  assert.equal(K.getThreads(), 1);
});
