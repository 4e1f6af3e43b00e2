import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceKernels as K } from '../../src/backend/reference/index.js';
import { assertClose, f32, i32 } from '../helpers/close.js';
import { assertGradcheck, toF64 } from '../helpers/gradcheck.js';

const LN3 = Math.log(3);

test('softmax and log-softmax: hand values', () => {
  const out = new Float32Array(2);
  K.softmax(f32([0, LN3]), 1, 2, 1, out, false);
  assertClose(out, [0.25, 0.75]);
  K.softmax(f32([0, LN3]), 1, 2, 1, out, true);
  assertClose(out, [-1.3862943611, -0.2876820725]);
});

test('softmax is stable for large logits', () => {
  const out = new Float32Array(2);
  K.softmax(f32([1000, 1000]), 1, 2, 1, out, false);
  assert.deepEqual(Array.from(out), [0.5, 0.5]);
  K.softmax(f32([-1000, 0]), 1, 2, 1, out, false);
  assert.deepEqual(Array.from(out), [0, 1]);
  K.softmax(f32([-1000, 0]), 1, 2, 1, out, true);
  assert.deepEqual(Array.from(out), [-1000, 0]);
});

test('softmax over the middle axis with inner > 1 and outer > 1', () => {
  // [1,2,2]: column 0 = [0, ln3], column 1 = [1, 1].
  const out = new Float32Array(4);
  K.softmax(f32([0, 1, LN3, 1]), 1, 2, 2, out, false);
  assertClose(out, [0.25, 0.5, 0.75, 0.5]);
  const o2 = new Float32Array(4);
  K.softmax(f32([0, LN3, 5, 5]), 2, 2, 1, o2, false);
  assertClose(o2, [0.25, 0.75, 0.5, 0.5]);
});

test('softmaxBackward: hand values, accumulating', () => {
  const dx = new Float32Array(2);
  K.softmaxBackward(f32([0.25, 0.75]), f32([1, 0]), 1, 2, 1, dx, false);
  assertClose(dx, [0.1875, -0.1875]); // y ⊙ (dy − Σ dy·y)
  const dl = f32([1, 1]);
  K.softmaxBackward(f32([Math.log(0.25), Math.log(0.75)]), f32([1, 0]), 1, 2, 1, dl, true);
  assertClose(dl, [1.75, 0.25]); // 1 + (dy − p·Σdy)
});

test('softmaxBackward matches finite differences', () => {
  const outer = 2, len = 3, inner = 2, n = 12;
  const x = f32([0.1, -0.3, 0.7, 1.2, -1, 0.4, 0.9, 0.2, -0.6, 0.3, 0.05, -0.8]);
  const r = f32([1, -0.5, 0.3, 0.2, -1, 0.7, 0.4, 0.6, -0.2, 0.9, -0.3, 0.1]);
  for (const log of [false, true]) {
    const y = new Float32Array(n), dx = new Float32Array(n);
    K.softmax(x, outer, len, inner, y, log);
    K.softmaxBackward(y, r, outer, len, inner, dx, log);
    const f = ([xx]: Float64Array[]): number => {
      let L = 0;
      for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
        let s = 0;
        for (let a = 0; a < len; a++) s += Math.exp(xx[(o * len + a) * inner + i]);
        for (let a = 0; a < len; a++) {
          const p = (o * len + a) * inner + i;
          L += r[p] * (log ? xx[p] - Math.log(s) : Math.exp(xx[p]) / s);
        }
      }
      return L;
    };
    assertGradcheck(f, [toF64(x)], [dx], { atol: 1e-5, rtol: 1e-4 }, `log=${log}`);
  }
});

test('segmentSoftmax: empty and single-element segments', () => {
  const x = f32([0, LN3, 5, 1, 2]);
  const offs = i32([0, 2, 2, 3, 5]);
  const out = new Float32Array(5);
  K.segmentSoftmax(x, 1, offs, out, false);
  assertClose(out, [0.25, 0.75, 1, 0.26894142137, 0.73105857863]);
  K.segmentSoftmax(x, 1, offs, out, true);
  assertClose(out, [-1.3862943611, -0.2876820725, 0, -1.3132616875, -0.3132616875]);
});

test('segmentSoftmax: per column with d = 2', () => {
  // Two rows in one segment; column 0 = [0, ln3], column 1 = [2, 2].
  const out = new Float32Array(4);
  K.segmentSoftmax(f32([0, 2, LN3, 2]), 2, i32([0, 2]), out, false);
  assertClose(out, [0.25, 0.5, 0.75, 0.5]);
});

test('segmentSoftmaxBackward matches finite differences (log)', () => {
  const x = f32([0.2, -0.4, 1.1, 0.3, -0.9, 0.6]);
  const r = f32([1, 0, 0.5, -1, 0.25, 2]);
  const offs = i32([0, 1, 1, 4, 6]);
  for (const log of [true, false]) {
    const y = new Float32Array(6), dx = new Float32Array(6);
    K.segmentSoftmax(x, 1, offs, y, log);
    K.segmentSoftmaxBackward(y, r, 1, offs, dx, log);
    const f = ([xx]: Float64Array[]): number => {
      let L = 0;
      for (let s = 0; s + 1 < offs.length; s++) {
        let z = 0;
        for (let i = offs[s]; i < offs[s + 1]; i++) z += Math.exp(xx[i]);
        for (let i = offs[s]; i < offs[s + 1]; i++) L += r[i] * (log ? xx[i] - Math.log(z) : Math.exp(xx[i]) / z);
      }
      return L;
    };
    assertGradcheck(f, [toF64(x)], [dx], { atol: 1e-5, rtol: 1e-4 }, `log=${log}`);
  }
  // A single-row segment has a constant softmax: zero gradient.
  const dx = new Float32Array(1);
  K.segmentSoftmaxBackward(f32([1]), f32([5]), 1, i32([0, 1]), dx, false);
  assert.equal(dx[0], 0);
});

test('segment offsets are validated', () => {
  const x = new Float32Array(5), out = new Float32Array(5);
  assert.throws(() => K.segmentSoftmax(x, 1, i32([0, 3, 2, 5]), out, false),
    /segmentSoftmax: offsets must be non-decreasing, offsets\[1\]=3 > offsets\[2\]=2/);
  assert.throws(() => K.segmentSoftmax(x, 1, i32([1, 5]), out, false), /segmentSoftmax: offsets\[0\] must be 0, got 1/);
  assert.throws(() => K.segmentSoftmax(x, 1, i32([0, 4]), out, false),
    /segmentSoftmax: offsets\[1\] must equal the number of rows 5, got 4/);
  assert.throws(() => K.segmentSoftmax(x, 1, i32([]), out, false), /segmentSoftmax: offsets must have at least 1 entry/);
});
