import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceKernels as K } from '../../src/backend/reference/index.js';
import { assertClose, f32 } from '../helpers/close.js';
import { assertGradcheck, toF64 } from '../helpers/gradcheck.js';

// A = [[1,2,3],[4,5,6]], B = [[7,8],[9,10],[11,12]]; A·B = [[58,64],[139,154]].
const A = f32([1, 2, 3, 4, 5, 6]);
const At = f32([1, 4, 2, 5, 3, 6]);
const B = f32([7, 8, 9, 10, 11, 12]);
const Bt = f32([7, 9, 11, 8, 10, 12]);
const AB = [58, 64, 139, 154];

test('gemm: all four transpose combinations give A·B', () => {
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    const C = new Float32Array(4);
    K.gemm(ta, tb, 2, 2, 3, 1, ta ? At : A, tb ? Bt : B, 0, C);
    assert.deepEqual(Array.from(C), AB, `transA=${ta} transB=${tb}`);
  }
});

test('gemm: alpha and beta', () => {
  const C = f32([1, 2, 3, 4]);
  K.gemm(false, false, 2, 2, 3, 2, A, B, 0.5, C);
  assert.deepEqual(Array.from(C), [116.5, 129, 279.5, 310]);
});

test('gemm: beta = 0 ignores NaN in C; alpha = 0 ignores NaN in A', () => {
  const C = f32([NaN, NaN, Infinity, NaN]);
  K.gemm(false, false, 2, 2, 3, 1, A, B, 0, C);
  assert.deepEqual(Array.from(C), AB);
  const C2 = f32([1, 2, 3, 4]);
  K.gemm(false, false, 2, 2, 3, 0, f32([NaN, 0, 0, 0, 0, 0]), B, 2, C2);
  assert.deepEqual(Array.from(C2), [2, 4, 6, 8]);
});

test('gemm: NaN/Inf in A propagate (0 · Inf is not skipped)', () => {
  const C = new Float32Array(1);
  K.gemm(false, false, 1, 1, 2, 1, f32([0, 1]), f32([Infinity, 1]), 0, C);
  assert.ok(Number.isNaN(C[0]));
});

function naive(ta: boolean, tb: boolean, M: number, N: number, Kd: number, a: Float32Array, b: Float32Array): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < Kd; k++) s += (ta ? a[k * M + i] : a[i * Kd + k]) * (tb ? b[j * Kd + k] : b[k * N + j]);
    c[i * N + j] = s;
  }
  return c;
}

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 * 2 - 1;
  }
  return out;
}

test('gemm: matches a naive triple loop on odd sizes, with beta accumulation', () => {
  const M = 37, N = 29, Kd = 41;
  const a = rand(M * Kd, 1), b = rand(Kd * N, 2), c0 = rand(M * N, 3);
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    const C = c0.slice();
    K.gemm(ta, tb, M, N, Kd, 0.5, a, b, -1, C);
    const ref = naive(ta, tb, M, N, Kd, a, b).map((v, i) => 0.5 * v - c0[i]);
    assertClose(C, ref, 1e-5, 1e-5, `gemm ta=${ta} tb=${tb}`);
  }
});

test('gemm: validates buffer sizes', () => {
  assert.throws(() => K.gemm(false, false, 2, 2, 3, 1, A.subarray(0, 5), B, 0, new Float32Array(4)),
    /gemm: A has 5 elements, needs 6/);
  assert.throws(() => K.gemm(false, false, 2, 2, 3, 1, A, B, 0, new Float32Array(3)), /gemm: C has 3 elements, needs 4/);
});

// X = [[1,-2]], W = [[1,2,3],[1,-1,0.5]], b = [0.5,-5,0] → z = [-0.5, -1, 2].
const X = f32([1, -2]);
const W = f32([1, 2, 3, 1, -1, 0.5]);
const bias = f32([0.5, -5, 0]);

test('linearForward: every activation', () => {
  const cases: [Parameters<typeof K.linearForward>[7], number[]][] = [
    ['none', [-0.5, -1, 2]],
    ['relu', [0, 0, 2]],
    ['sigmoid', [0.3775406688, 0.2689414214, 0.8807970780]],
    ['tanh', [-0.4621171573, -0.7615941560, 0.9640275801]],
    // SmeLU β=1: (z+1)²/4 on [−1,1]: -0.5 → 0.0625, -1 → 0; 2 → 2.
    ['smelu', [0.0625, 0, 2]],
  ];
  for (const [act, want] of cases) {
    const Y = new Float32Array(3);
    K.linearForward(X, W, bias, Y, 1, 2, 3, act, 1);
    assertClose(Y, want, 1e-7, 1e-6, act);
  }
  const Y = new Float32Array(3);
  K.linearForward(X, W, null, Y, 1, 2, 3, 'none', 0);
  assert.deepEqual(Array.from(Y), [-1, 4, 2]);
});

test('linearBackward: relu by hand, accumulating', () => {
  const Y = f32([0, 0, 2]);
  const dY = f32([1, 1, 1]);
  const dZ = new Float32Array(3);
  const dX = f32([10, 10]);
  const dW = new Float32Array(6);
  const db = f32([1, 1, 1]);
  K.linearBackward(X, W, Y, dY, dZ, dX, dW, db, 1, 2, 3, 'relu', 0);
  assert.deepEqual(Array.from(dZ), [0, 0, 1]);
  assert.deepEqual(Array.from(dX), [13, 10.5]); // 10 + dZ·Wᵀ = 10 + [3, 0.5]
  assert.deepEqual(Array.from(dW), [0, 0, 1, 0, 0, -2]); // Xᵀ·dZ
  assert.deepEqual(Array.from(db), [1, 1, 2]);
});

test('activation derivatives are taken from the output', () => {
  const out = new Float32Array(3);
  K.activationBackward('smelu', f32([0.0625, 0, 2]), f32([1, 1, 1]), out, 3, 1);
  assert.deepEqual(Array.from(out), [0.25, 0, 1]); // √(y/β), 0 at y=0, 1 for y ≥ β
  K.activationBackward('sigmoid', f32([0.5, 0.25, 1]), f32([2, 2, 2]), out, 3, 0);
  assert.deepEqual(Array.from(out), [0.5, 0.375, 0]);
  K.activationBackward('tanh', f32([0.5, -0.5, 0]), f32([1, 1, 1]), out, 3, 0);
  assert.deepEqual(Array.from(out), [0.75, 0.75, 1]);
  K.activationBackward('relu', f32([0, 3, -0]), f32([5, 5, 5]), out, 3, 0);
  assert.deepEqual(Array.from(out), [0, 5, 0]);
  K.activationBackward('none', f32([7, 8, 9]), f32([1, 2, 3]), out, 3, 0);
  assert.deepEqual(Array.from(out), [1, 2, 3]);
});

test('linearBackward matches finite differences (tanh and smelu)', () => {
  const M = 3, Kd = 4, N = 5;
  for (const act of ['tanh', 'smelu'] as const) {
    const x = rand(M * Kd, 11), w = rand(Kd * N, 12), b = rand(N, 13), r = rand(M * N, 14);
    const beta = 0.5;
    const Y = new Float32Array(M * N);
    K.linearForward(x, w, b, Y, M, Kd, N, act, beta);
    const dX = new Float32Array(M * Kd), dW = new Float32Array(Kd * N), db = new Float32Array(N);
    K.linearBackward(x, w, Y, r, new Float32Array(M * N), dX, dW, db, M, Kd, N, act, beta);
    const actF = (z: number): number => act === 'tanh' ? Math.tanh(z)
      : z > beta ? z : z < -beta ? 0 : (z + beta) ** 2 / (4 * beta);
    const f = ([xx, ww, bb]: Float64Array[]): number => {
      let L = 0;
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
        let z = bb[j];
        for (let k = 0; k < Kd; k++) z += xx[i * Kd + k] * ww[k * N + j];
        L += r[i * N + j] * actF(z);
      }
      return L;
    };
    assertGradcheck(f, [toF64(x), toF64(w), toF64(b)], [dX, dW, db], { atol: 1e-4, rtol: 1e-3 }, act);
  }
});
