import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceKernels as K } from '../../src/backend/reference/index.js';
import { f32, i32 } from '../helpers/close.js';

const x = f32([1, 2, 3, 4, 5, 6]); // [3,2]
const offs = i32([0, 0, 2, 3]); // empty, two rows, one row

test('segmentSum: sum and mean; empty segment gives 0', () => {
  const out = f32([9, 9, 9, 9, 9, 9]);
  K.segmentSum(x, 2, offs, out, false);
  assert.deepEqual(Array.from(out), [0, 0, 4, 6, 5, 6]);
  K.segmentSum(x, 2, offs, out, true);
  assert.deepEqual(Array.from(out), [0, 0, 2, 3, 5, 6]);
});

test('segmentSumBackward: sum and mean, accumulating', () => {
  const dOut = f32([1, 1, 2, 4, 3, 3]);
  const dx = new Float32Array(6);
  K.segmentSumBackward(dOut, 2, offs, dx, true);
  assert.deepEqual(Array.from(dx), [1, 2, 1, 2, 3, 3]);
  K.segmentSumBackward(dOut, 2, offs, dx, false);
  assert.deepEqual(Array.from(dx), [3, 6, 3, 6, 6, 6]);
});

test('segmentSum: zero segments and all-empty segments', () => {
  const out = new Float32Array(0);
  K.segmentSum(new Float32Array(0), 2, i32([0]), out, true);
  const o2 = f32([7, 7]);
  K.segmentSum(new Float32Array(0), 1, i32([0, 0, 0]), o2, true);
  assert.deepEqual(Array.from(o2), [0, 0]);
  assert.throws(() => K.segmentSum(x, 2, i32([0, 2]), new Float32Array(2), false),
    /segmentSum: offsets\[1\] must equal the number of rows 3, got 2/);
});

test('pairDiff and its backward', () => {
  const z = f32([1, 5, 2]);
  const pi = i32([1, 0]), pj = i32([0, 2]);
  const out = new Float32Array(2);
  K.pairDiff(z, pi, pj, out, 2);
  assert.deepEqual(Array.from(out), [4, -1]);
  const dz = new Float32Array(3);
  K.pairDiffBackward(f32([1, 2]), pi, pj, dz, 2);
  assert.deepEqual(Array.from(dz), [1, 1, -2]);
  assert.throws(() => K.pairDiff(z, i32([3]), i32([0]), out, 1), /pairDiff: pair 0 index i=3 is outside \[0, 3\)/);
  assert.throws(() => K.pairDiffBackward(f32([1]), i32([0]), i32([-1]), dz, 1), /pairDiffBackward: pair 0 index j=-1/);
});
