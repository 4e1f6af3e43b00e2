/**
 * The int8 inference layer (native/int8_gemm.h) against a float64 reference of the same
 * quantised arithmetic: quantisation is compared value for value, the integer accumulation is
 * exact, and the float32 epilogue is replayed step by step, so outputs must match bit for bit.
 * Then: the VNNI and portable paths, and 1 and 2 threads, give the same bits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNativeKernels } from '../../src/backend/native.js';
import type { Int8Kernels } from '../../src/backend/int8.js';
import type { Activation } from '../../src/backend/kernels.js';
import { bitsEqual, native, randF32, REDUCED_SHAPES, ReducedLayer, rng, skip } from './setup.js';

const f = Math.fround;
const I8 = (): Int8Kernels => loadNativeKernels().addon as unknown as Int8Kernels;

/** Round half to even, as nearbyint / vcvtps2dq do. */
function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

function refQuantWeights(W: Float32Array, K: number, N: number): { q: Int8Array; scale: Float32Array } {
  const scale = new Float32Array(N), q = new Int8Array(K * N);
  for (let j = 0; j < N; j++) {
    let amax = 0;
    for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(W[k * N + j]!));
    scale[j] = amax > 0 ? f(amax / 127) : 1;
    for (let k = 0; k < K; k++) q[k * N + j] = clamp(roundEven(f(W[k * N + j]! / scale[j]!)), -127, 127);
  }
  return { q, scale };
}

function refQuantRows(X: Float32Array, M: number, K: number): { q: Uint8Array; scale: Float32Array; zp: Int32Array } {
  const q = new Uint8Array(M * K), scale = new Float32Array(M), zp = new Int32Array(M);
  for (let i = 0; i < M; i++) {
    const row = X.subarray(i * K, (i + 1) * K);
    if (row.some((v) => !Number.isFinite(v))) { scale[i] = NaN; continue; }
    const lo = Math.min(0, ...row), hi = Math.max(0, ...row);
    if (lo === hi) { scale[i] = 1; continue; }
    const range = f(hi - lo), inv = f(255 / range);
    scale[i] = f(range / 255);
    zp[i] = clamp(roundEven(f(-lo * inv)), 0, 255);
    for (let k = 0; k < K; k++) q[i * K + k] = clamp(roundEven(f(row[k]! * inv)) + zp[i]!, 0, 255);
  }
  return { q, scale, zp };
}

/** The layer's output from the quantised operands: exact integer sums, then the epilogue's float32 steps. */
function refForward(X: Float32Array, W: Float32Array, b: Float32Array | null, M: number, K: number, N: number, act: Activation): Float32Array {
  const w = refQuantWeights(W, K, N), x = refQuantRows(X, M, K);
  const Y = new Float32Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0;  // float64 holds these integer sums exactly
      for (let k = 0; k < K; k++) acc += (x.q[i * K + k]! - x.zp[i]!) * w.q[k * N + j]!;
      let t = f(f(f(acc) * x.scale[i]!) * w.scale[j]!);
      t = f(t + (b ? b[j]! : 0));
      Y[i * N + j] = act === 'relu' ? (0 > t ? 0 : t) : t;
    }
  }
  return Y;
}

function layer(X: Float32Array, W: Float32Array, b: Float32Array | null, M: number, K: number, N: number, act: Activation): Float32Array {
  const k = I8();
  const q = new Int8Array(K * N), scale = new Float32Array(N);
  k.int8QuantizeWeights(W, K, N, q, scale);
  const packed = new Int8Array(k.int8PackedBytes(K, N)), colSum = new Int32Array(N);
  k.int8PackWeights(q, K, N, packed, colSum);
  const Y = new Float32Array(M * N);
  k.int8LinearForward(X, M, K, N, packed, scale, colSum, b, Y, act, 0.5);
  return Y;
}

function inputs(M: number, K: number, N: number, seed: number): { X: Float32Array; W: Float32Array; b: Float32Array } {
  const r = rng(seed);
  const X = randF32(r, M * K, -3, 3);
  // Post-relu-like rows (no negatives), an all-zero row and a constant row exercise the zero point.
  if (M > 2) {
    for (let k = 0; k < K; k++) X[K + k] = Math.abs(X[K + k]!);
    X.fill(0, 2 * K, 3 * K);
  }
  return { X, W: randF32(r, K * N, -0.5, 0.5), b: randF32(r, N) };
}

const int8 = new ReducedLayer(layer, inputs, (p) => I8()._int8ForceKernel(p as 'auto'), 'vnni');

test('int8: quantisation matches the reference value for value, on both paths', { skip }, () => {
  int8.onEachPath((path) => {
    for (const [M, K, N] of REDUCED_SHAPES) {
      const { X, W } = inputs(M, K, N, M * 7 + K);
      const q = new Int8Array(K * N), scale = new Float32Array(N);
      I8().int8QuantizeWeights(W, K, N, q, scale);
      const rw = refQuantWeights(W, K, N);
      assert.deepEqual(q, rw.q, `weights ${K}x${N}`);
      assert.ok(bitsEqual(scale, rw.scale), `weight scales ${K}x${N}`);
      const xq = new Uint8Array(M * K), xs = new Float32Array(M), zp = new Int32Array(M);
      I8().int8QuantizeRows(X, M, K, xq, xs, zp);
      const rx = refQuantRows(X, M, K);
      assert.deepEqual(xq, rx.q, `${path} rows ${M}x${K}`);
      assert.deepEqual(zp, rx.zp, `${path} zero points ${M}x${K}`);
      assert.ok(bitsEqual(xs, rx.scale), `${path} row scales ${M}x${K}`);
    }
  });
});

test('int8: layer output equals the reference arithmetic bit for bit (none, relu), on both paths', { skip }, () => {
  int8.assertEqualsReference(refForward);
});

test('int8: a fused sigmoid is the elementwise sigmoid of the plain output', { skip }, () => {
  int8.assertFusedSigmoid();
});

test('int8: close to the fp32 layer (quantisation error only)', { skip }, () => {
  const [M, K, N] = [64, 256, 100];
  const { X, W, b } = inputs(M, K, N, 11);
  const fp = new Float32Array(M * N);
  native().linearForward(X, W, b, fp, M, K, N, 'none', 0);
  const q = layer(X, W, b, M, K, N, 'none');
  let err = 0, mag = 0;
  for (let i = 0; i < fp.length; i++) { err = Math.max(err, Math.abs(fp[i]! - q[i]!)); mag = Math.max(mag, Math.abs(fp[i]!)); }
  assert.ok(err > 0, 'int8 must differ from fp32 somewhere (else the test compares fp32 with itself)');
  assert.ok(err < 0.02 * mag, `max |Δ| ${err} vs max |y| ${mag}`);
});

test('int8: a row with NaN or Inf gives NaN outputs for that row only', { skip }, () => {
  int8.onEachPath((path) => {
    const [M, K, N] = [4, 20, 18];
    const { X, W, b } = inputs(M, K, N, 5);
    X[1 * K + 3] = NaN;
    X[3 * K + 19] = -Infinity;
    const Y = layer(X, W, b, M, K, N, 'relu');
    for (let i = 0; i < M; i++) {
      const row = Y.subarray(i * N, (i + 1) * N);
      assert.equal(row.every(Number.isNaN), i === 1 || i === 3, `${path} row ${i}`);
      assert.ok(row.every(Number.isNaN) || row.every(Number.isFinite), `${path} row ${i}`);
    }
  });
});

test('int8: VNNI and portable paths, and 1 and 2 threads, give the same bits', { skip }, (t) => {
  if (!int8.hasIsa()) { t.skip('CPU without AVX-512 VNNI'); return; }
  int8.assertSameOnPathsAndThreads(['relu', 'tanh']);
});

test('int8: bad arguments are refused with the kernel and argument named', { skip }, () => {
  const k = I8();
  assert.throws(() => k.int8LinearForward(new Float32Array(4), 2, 2, 2, new Int8Array(4), new Float32Array(2), new Int32Array(2), null, new Float32Array(4), 'none', 0),
    /int8LinearForward: packed has 4 elements, needs 64/);
  assert.throws(() => k.int8PackedBytes(70000, 1), /int8PackedBytes: K = 70000 exceeds 65536/);
  assert.throws(() => k.int8QuantizeWeights(new Float32Array(4), 2, 2, new Int8Array(4) as unknown as Int8Array, new Float32Array(1)), /scale has 1 elements, needs 2/);
  assert.equal(k._int8ForceKernel('bogus' as 'auto'), false);
});
