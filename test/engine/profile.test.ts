/**
 * The per-op profiler of `npm run bench -- engine --profile`: every kernel call is counted under
 * its op and shape with the work the bench divides by, results are unchanged, and the native
 * FMA peak it divides GEMM rates by is measured (positive, with the GEMM family's vector width).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceKernels } from '../../src/backend/index.js';
import { loadNativeKernels } from '../../src/backend/native.js';
import { profiledKernels, profileRows } from '../../bench/profile.js';

test('profiledKernels counts calls, FLOPs and bytes per op and shape, and passes results through', () => {
  const { kernels, take } = profiledKernels(referenceKernels);
  const [M, N, K] = [3, 4, 5];
  const A = Float32Array.from({ length: M * K }, (_, i) => i % 3);
  const B = Float32Array.from({ length: K * N }, (_, i) => i % 5);
  const C = new Float32Array(M * N), want = new Float32Array(M * N);
  kernels.gemm(false, false, M, N, K, 1, A, B, 0, C);
  kernels.gemm(false, false, M, N, K, 1, A, B, 0, C);
  referenceKernels.gemm(false, false, M, N, K, 1, A, B, 0, want);
  assert.deepEqual(C, want);
  const x = new Float32Array(10), y = new Float32Array(10);
  kernels.unary('relu', x, y, 10, 0);
  const [D, Kc] = [N, K];
  const x0 = new Float32Array(M * D), out = new Float32Array(M * D), z = new Float32Array(M * D);
  kernels.crossForward(A, B, null, x0, x0, out, z, M, Kc, D);
  const stats = take();
  const g = stats.find((s) => s.op === 'gemm')!;
  assert.equal(g.calls, 2);
  assert.equal(g.flops, 2 * 2 * M * N * K);
  const cross = stats.find((s) => s.op === 'crossForward')!;
  assert.equal(cross.shape, `${M}x${K} · ${K}x${N} (z kept)`);
  assert.equal(cross.flops, 2 * M * N * K);
  const u = stats.find((s) => s.op === 'unary')!;
  assert.equal(u.flops, 0);
  assert.equal(u.bytes, 80);
  assert.deepEqual(take(), [], 'take() starts a new count');
  const rows = profileRows(stats, 1, 1000, 100);
  assert.equal(rows.at(-1)!.op, '(outside kernels: TypeScript, tape, arena)');
  assert.ok('gflops' in rows.find((r) => r.op === 'gemm')! && 'gb_per_s' in rows.find((r) => r.op === 'unary')!);
});

test('native fmaPeak: a measured positive rate with the GEMM kernel family\'s vector width', { skip: !loadNativeKernels().addon }, () => {
  const addon = loadNativeKernels().addon!;
  const p = addon.fmaPeak!(0.05);
  assert.ok(p.gflops > 0 && Number.isFinite(p.gflops));
  assert.equal(p.width, { avx512: 16, avx2: 8, portable: 1 }[addon.kernelName()]);
  assert.throws(() => addon.fmaPeak!(0), /fmaPeak: seconds must be in \(0, 60\]/);
});
