import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceKernels as K } from '../../src/backend/reference/index.js';
import { assertClose, f32 } from '../helpers/close.js';
import { assertGradcheck, toF64 } from '../helpers/gradcheck.js';

test('binary: same shape, row broadcast, outer product, scalar', () => {
  const out = new Float32Array(6);
  K.binary('add', f32([1, 2, 3, 4, 5, 6]), [2, 3], f32([10, 20, 30]), [3], out, [2, 3]);
  assert.deepEqual(Array.from(out), [11, 22, 33, 14, 25, 36]);
  K.binary('mul', f32([1, 2]), [2, 1], f32([10, 20, 30]), [1, 3], out, [2, 3]);
  assert.deepEqual(Array.from(out), [10, 20, 30, 20, 40, 60]);
  const o3 = new Float32Array(3);
  K.binary('div', f32([2, 4, 6]), [3], f32([2]), [], o3, [3]);
  assert.deepEqual(Array.from(o3), [1, 2, 3]);
  K.binary('sub', f32([2]), [1], f32([1, 2, 3]), [3], o3, [3]);
  assert.deepEqual(Array.from(o3), [1, 0, -1]);
  K.binary('sub', f32([5, 6, 7]), [3], f32([1, 2, 3]), [3], o3, [3]);
  assert.deepEqual(Array.from(o3), [4, 4, 4]);
});

test('binary: rank-3 broadcasting on both operands', () => {
  // a [2,1,2], b [3,1] → out [2,3,2]; out[i,j,k] = a[i,0,k] − b[j,0].
  const out = new Float32Array(12);
  K.binary('sub', f32([1, 2, 3, 4]), [2, 1, 2], f32([10, 20, 30]), [3, 1], out, [2, 3, 2]);
  assert.deepEqual(Array.from(out), [-9, -8, -19, -18, -29, -28, -7, -6, -17, -16, -27, -26]);
});

test('binary: rejects shapes that do not broadcast', () => {
  assert.throws(() => K.binary('add', new Float32Array(6), [2, 3], new Float32Array(2), [2], new Float32Array(6), [2, 3]),
    /binary: shapes a=\[2, 3\] b=\[2\] do not broadcast to out=\[2, 3\]/);
  assert.throws(() => K.binary('add', new Float32Array(1), new Array<number>(9).fill(1), new Float32Array(1), [1],
    new Float32Array(1), new Array<number>(9).fill(1)), /exceed 8 dims/);
});

test('binaryBackward: sums over broadcast dims', () => {
  const da = new Float32Array(4), db = new Float32Array(3);
  K.binaryBackward('sub', f32([1, 2, 3, 4]), [2, 1, 2], f32([10, 20, 30]), [3, 1], new Float32Array(12).fill(1), [2, 3, 2], da, db);
  assert.deepEqual(Array.from(da), [3, 3, 3, 3]);
  assert.deepEqual(Array.from(db), [-4, -4, -4]);

  // mul a [2,1] × b [1,3], dOut = [[1,2,3],[4,5,6]]: da[i] = Σ_j dOut·b, db[j] = Σ_i dOut·a.
  const da2 = f32([1, 1]), db2 = new Float32Array(3);
  K.binaryBackward('mul', f32([1, 2]), [2, 1], f32([10, 20, 30]), [1, 3], f32([1, 2, 3, 4, 5, 6]), [2, 3], da2, db2);
  assert.deepEqual(Array.from(da2), [141, 321]); // accumulates onto 1
  assert.deepEqual(Array.from(db2), [9, 12, 15]);
});

test('binaryBackward: div (da = dy/b, db = −dy·a/b²), with and without broadcast; null grads', () => {
  const da = new Float32Array(2), db = new Float32Array(2);
  K.binaryBackward('div', f32([1, 2]), [2], f32([2, 4]), [2], f32([1, 1]), [2], da, db);
  assert.deepEqual(Array.from(da), [0.5, 0.25]);
  assert.deepEqual(Array.from(db), [-0.25, -0.125]);
  const db1 = new Float32Array(1);
  K.binaryBackward('div', f32([1, 3]), [2], f32([2]), [], f32([1, 1]), [2], null, db1);
  assert.deepEqual(Array.from(db1), [-1]);
  const da1 = new Float32Array(2);
  K.binaryBackward('add', f32([1, 3]), [2], f32([2]), [], f32([5, 7]), [2], da1, null);
  assert.deepEqual(Array.from(da1), [5, 7]);
});

test('binaryBackward matches finite differences for broadcast div and mul', () => {
  const a = f32([0.5, -1.5, 2, 0.25, 1, -0.75]), b = f32([1.5, -2, 0.8]);
  const r = f32([0.3, -0.2, 0.9, 1.1, -0.4, 0.6, 0.7, -1, 0.2, 0.5, 0.1, -0.3]);
  for (const op of ['div', 'mul'] as const) {
    // a [2,1,3] op b [1,3] → out [2,2,3]: a broadcasts along dim 1, b along dims 0 and 1.
    const aShape = [2, 1, 3], bShape = [1, 3], outShape = [2, 2, 3];
    const da = new Float32Array(6), db = new Float32Array(3);
    K.binaryBackward(op, a, aShape, b, bShape, r, outShape, da, db);
    const f = ([aa, bb]: Float64Array[]): number => {
      let L = 0;
      for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) for (let k = 0; k < 3; k++) {
        const av = aa[i * 3 + k], bv = bb[k];
        L += r[(i * 2 + j) * 3 + k] * (op === 'div' ? av / bv : av * bv);
      }
      return L;
    };
    assertGradcheck(f, [toF64(a), toF64(b)], [da, db], { atol: 1e-5, rtol: 1e-4 }, op);
  }
});

test('binary: zero-size broadcast is a no-op', () => {
  const out = new Float32Array(0);
  K.binary('add', new Float32Array(0), [0, 3], f32([1, 2, 3]), [3], out, [0, 3]);
  assertClose(out, []);
});
