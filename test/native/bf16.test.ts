/**
 * The bf16 inference layer (native/bf16_gemm.h): rounding to bf16 against a float64 reference of
 * round-to-nearest-even; the layer against float64 sums of the bf16-rounded operands (equal up to
 * float32 accumulation order) and against a step-by-step replay of the specified vdpbf16ps
 * arithmetic (bit for bit); the AVX-512 BF16 path against the portable one on inputs built to
 * expose the instruction's rounding, order and flushing; 1 and 2 threads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNativeKernels } from '../../src/backend/native.js';
import type { Bf16Kernels } from '../../src/backend/bf16.js';
import type { Activation } from '../../src/backend/kernels.js';
import { bitsEqual, randF32, ReducedLayer, rng, skip } from './setup.js';

const f = Math.fround;
const B = (): Bf16Kernels => loadNativeKernels().addon as unknown as Bf16Kernels;
const FLT_MIN = 2 ** -126;

const u32 = new Uint32Array(1), f32v = new Float32Array(u32.buffer);
const fromBf16 = (h: number): number => { u32[0] = h << 16; return f32v[0]!; };

/** float64 reference of bf16 rounding: 8 significant bits, ties to even; denormals → ±0; overflow → ±Inf. */
function refBf16(x: number): number {
  if (Number.isNaN(x) || !Number.isFinite(x) || x === 0) return x;
  if (Math.abs(x) < FLT_MIN) return x < 0 ? -0 : 0;
  const e = Math.floor(Math.log2(Math.abs(x)));
  const ulp = 2 ** (e - 7);
  const q = x / ulp, r = Math.round(q);
  const even = Math.abs(q % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  const v = even * ulp;
  return Math.abs(v) >= 2 ** 128 ? Math.sign(v) * Infinity : v;
}

function rounded(X: Float32Array): Uint16Array {
  const out = new Uint16Array(X.length);
  B().bf16RoundRows(X, 1, X.length, out);
  return out;
}

function layer(X: Float32Array, W: Float32Array, b: Float32Array | null, M: number, K: number, N: number, act: Activation): Float32Array {
  const packed = new Uint16Array(B().bf16PackedSize(K, N));
  B().bf16PackWeights(W, K, N, packed);
  const Y = new Float32Array(M * N);
  B().bf16LinearForward(X, M, K, N, packed, b, Y, act, 0.5);
  return Y;
}

/** One vdpbf16ps step: the exact acc + p rounded at 24 bits with an unbounded exponent, then flushed below FLT_MIN. */
function dotStep(acc: number, p: number): number {
  const s = acc + p;  // p is exact in float64; the sum is exact or off only far below float32's precision
  if (Math.abs(s) >= 2 ** -100) return f(s);
  const r = f(s * 2 ** 64);
  return Math.abs(r) < 2 ** -62 ? (r < 0 || Object.is(r, -0) ? -0 : 0) : r * 2 ** -64;
}

/** The specified arithmetic replayed step by step: per k-pair, odd product first. */
function replay(X: Float32Array, W: Float32Array, b: Float32Array | null, M: number, K: number, N: number, act: Activation): Float32Array {
  const xb = Float32Array.from(X, (v) => refBf16(v)), wb = Float32Array.from(W, (v) => refBf16(v));
  const Y = new Float32Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k += 2) {
        if (k + 1 < K) acc = dotStep(acc, xb[i * K + k + 1]! * wb[(k + 1) * N + j]!);
        else acc = dotStep(acc, 0);
        acc = dotStep(acc, xb[i * K + k]! * wb[k * N + j]!);
      }
      const t = f(acc + (b ? b[j]! : 0));
      Y[i * N + j] = act === 'relu' ? (0 > t ? 0 : t) : t;
    }
  return Y;
}

function inputs(M: number, K: number, N: number, seed: number): { X: Float32Array; W: Float32Array; b: Float32Array } {
  const r = rng(seed);
  return { X: randF32(r, M * K, -3, 3), W: randF32(r, K * N, -0.5, 0.5), b: randF32(r, N) };
}

/** Values over a wide exponent range, half of them negative: sums with cancellation, where rounding order shows. */
function wide(r: () => number, n: number, lo: number, hi: number): Float32Array {
  return Float32Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1) * (1 + r()) * 2 ** Math.floor(lo + r() * (hi - lo)));
}

const bf16 = new ReducedLayer(layer, inputs, (p) => B()._bf16ForceKernel(p as 'auto'), 'avx512bf16');

test('bf16: rounding is nearest-even to 8 significant bits, denormals to ±0, NaN quiet, on both paths', { skip }, () => {
  const r = rng(3);
  const special = [0, -0, 1, -1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, 3.4028234e38, 3.3961776e38, -3.3961776e38, Infinity, -Infinity,
    FLT_MIN, -FLT_MIN, 2 ** -130, -(2 ** -140), 2 ** -149, 1e-45, -FLT_MIN * (1 - 2 ** -23)];
  const X = new Float32Array([...special, ...wide(r, 2000, -130, 128)]);
  bf16.onEachPath((path) => {
    const h = rounded(X);
    for (let i = 0; i < X.length; i++) {
      const want = refBf16(X[i]!);
      assert.ok(Object.is(fromBf16(h[i]!), want), `${path}: bf16(${X[i]}) = ${fromBf16(h[i]!)}, want ${want}`);
    }
    // NaNs: quieted, payload's top bits and sign kept (0x7f80_0001 is a signalling NaN).
    const nan = new Float32Array(new Uint32Array([0x7f800001, 0xffc12345, 0x7fa00000]).buffer);
    assert.deepEqual([...rounded(nan)], [0x7fc0, 0xffc1, 0x7fe0], `${path} NaN`);
  });
});

test('bf16: layer equals the float64 sum of the bf16-rounded operands up to float32 accumulation order', { skip }, () => {
  const [M, K, N] = [20, 300, 40];
  const { X, W, b } = inputs(M, K, N, 7);
  const Y = layer(X, W, b, M, K, N, 'none');
  const xb = Float32Array.from(X, refBf16), wb = Float32Array.from(W, refBf16);
  let differs = false;
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0, mag = 0;
      for (let k = 0; k < K; k++) { const p = xb[i * K + k]! * wb[k * N + j]!; s += p; mag += Math.abs(p); }
      const want = s + b[j]!;
      // K float32 additions each err by at most half an ulp of a partial sum bounded by mag.
      assert.ok(Math.abs(Y[i * N + j]! - want) <= (K + 1) * 2 ** -24 * (mag + Math.abs(b[j]!)), `(${i},${j}): ${Y[i * N + j]} vs ${want}`);
      let fp = 0;
      for (let k = 0; k < K; k++) fp += X[i * K + k]! * W[k * N + j]!;
      if (Math.abs(fp + b[j]! - Y[i * N + j]!) > 1e-6) differs = true;
    }
  assert.ok(differs, 'bf16 must differ from fp32 somewhere (else the rounding is not applied)');
});

test('bf16: layer equals the specified arithmetic replayed step by step, bit for bit (none, relu), on both paths', { skip }, () => {
  bf16.assertEqualsReference(replay);
});

test('bf16: vdpbf16ps rounds each add to 24 bits, odd product first, never flushes a product, flushes a sum below FLT_MIN', { skip }, (t) => {
  if (!bf16.hasIsa()) { t.skip('CPU without AVX-512 BF16'); return; }
  // One output per case, K = 4: pair 0 sets acc (x0·w0), pair 1 adds x3·w3 then x2·w2 (w = 1 unless given).
  // Each comment gives the instruction's result, measured on an AMD EPYC (family 26) and replayed by the portable path.
  const cases: { x: number[]; w?: number[]; why: string }[] = [
    { x: [1, 0, 2 ** -24, 2 ** -24], why: 'two half-ulp adds, each a tie to even: 1 (one rounding of the pair would give 1 + 2^-23)' },
    { x: [1, 0, -(2 ** -24), 1.5 * 2 ** -24], why: 'odd first: 1 + 1.5·2^-24 → 1 + 2^-23, then − 2^-24 → tie → 1 + 2^-23' },
    { x: [1, 0, 1.5 * 2 ** -24, -(2 ** -24)], why: 'odd first: 1 − 2^-24 is exact, then + 1.5·2^-24 → 1' },
    { x: [2 ** -63, 0, 2 ** -70, 0], w: [2 ** -63, 1, 2 ** -70, 1], why: 'FLT_MIN + a denormal product 2^-140: not flushed, FLT_MIN + 2^-140' },
    { x: [2 ** -63, 0, 2 ** -70, 2 ** -70], w: [2 ** -63, 1, 2 ** -70, 2 ** -70], why: 'FLT_MIN + two denormal products: FLT_MIN + 2^-139' },
    { x: [0, 0, 2 ** -70, 0], w: [1, 1, 2 ** -70, 1], why: '0 + 2^-140: a denormal sum, flushed to 0' },
    { x: [2 ** -63, 0, -(2 ** -63), 0], w: [2 ** -63, 1, 1.5 * 2 ** -64, 1], why: 'FLT_MIN − 1.5·2^-127 = 2^-128: flushed to 0' },
    { x: [2 ** -63, 0, 2 ** -75, 0], w: [2 ** -63, 1, -(2 ** -75), 1], why: 'FLT_MIN − 2^-150: 24-bit rounding keeps it below FLT_MIN, flushed to 0' },
    { x: [2 ** -63, 0, 2 ** -75, 0], w: [2 ** -63, 1, -(2 ** -77), 1], why: 'FLT_MIN − 2^-152: rounds to FLT_MIN, kept' },
    { x: [2 ** 64, 0, 2 ** 64, 0], w: [-(2 ** 63) * 1.9921875, 1, 2 ** 64, 1], why: '−1.99·2^127 + a product of 2^128 (above FLT_MAX): exact, 2^120' },
    { x: [0, 0, 2 ** -70, 0], w: [1, 1, -(2 ** -70), 1], why: '+0 − 2^-140: flushed to ±0' },
  ];
  const K = 4, N = 1;
  const W = new Float32Array(K * N);
  const paths: Float32Array[] = [];
  for (const path of ['portable', 'avx512bf16'] as const) {
    B()._bf16ForceKernel(path);
    try {
      paths.push(new Float32Array(cases.flatMap((c) => {
        W.set(c.w ?? [1, 1, 1, 1]);
        return [...layer(new Float32Array(c.x), W, null, 1, K, N, 'none')];
      })));
    } finally {
      B()._bf16ForceKernel('auto');
    }
  }
  cases.forEach((c, i) => assert.ok(Object.is(paths[0]![i], paths[1]![i]), `${c.why}: portable ${paths[0]![i]} vs avx512bf16 ${paths[1]![i]}`));
  // Wide-range random operands: every rounding, order and flush decision taken many times over.
  const r = rng(17);
  const [Mw, Kw, Nw] = [60, 64, 48];
  const Xw = wide(r, Mw * Kw, -75, 40), Ww = wide(r, Kw * Nw, -75, 40);
  const runs = (['portable', 'avx512bf16'] as const).map((path) => {
    B()._bf16ForceKernel(path);
    try { return layer(Xw, Ww, null, Mw, Kw, Nw, 'none'); } finally { B()._bf16ForceKernel('auto'); }
  });
  assert.ok(bitsEqual(runs[0]!, runs[1]!), 'wide-range operands');
});

test('bf16: a row with NaN or Inf gives NaN / Inf outputs for that row only', { skip }, () => {
  bf16.onEachPath((path) => {
    const [M, K, N] = [4, 20, 18];
    const { X, W, b } = inputs(M, K, N, 5);
    X[1 * K + 3] = NaN;
    const Y = layer(X, W, b, M, K, N, 'none');
    for (let i = 0; i < M; i++) assert.equal(Y.subarray(i * N, (i + 1) * N).every(Number.isNaN), i === 1, `${path} row ${i}`);
  });
});

test('bf16: AVX-512 BF16 and portable paths, and 1 and 2 threads, give the same bits', { skip }, (t) => {
  if (!bf16.hasIsa()) { t.skip('CPU without AVX-512 BF16'); return; }
  bf16.assertSameOnPathsAndThreads(['relu', 'sigmoid']);
});

test('bf16: a fused sigmoid is the elementwise sigmoid of the plain output', { skip }, () => {
  bf16.assertFusedSigmoid();
});

test('bf16: bad arguments are refused with the kernel and argument named', { skip }, () => {
  const k = B();
  assert.throws(() => k.bf16LinearForward(new Float32Array(4), 2, 2, 2, new Uint16Array(4), null, new Float32Array(4), 'none', 0),
    /bf16LinearForward: packed has 4 elements, needs 32/);
  assert.throws(() => k.bf16PackWeights(new Float32Array(4), 2, 2, new Uint16Array(3)), /bf16PackWeights: packed has 3 elements, needs 32/);
  assert.throws(() => k.bf16RoundRows(new Float32Array(4), 2, 2, new Int16Array(4) as unknown as Uint16Array), /bf16RoundRows: out must be a Uint16Array/);
  assert.equal(k._bf16ForceKernel('bogus' as 'auto'), false);
});
