/**
 * setGemmBlocking while GEMMs run on another thread (a serving worker scores while the main
 * thread tunes or sets the blocking): every GEMM runs under one blocking from start to end, so
 * each result has the bits of the reference for one of the blockings set — never a mix (kc from
 * one, a pack's layout from another) and never a misread pack.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { loadNativeKernels, type GemmBlocking } from '../../src/backend/native.js';
import { bitsEqual, native, randF32, rng, skip } from './setup.js';

const nativeJs = fileURLToPath(new URL('../../src/backend/native.js', import.meta.url));

// Two K blocks under the default kc (1024 at most), one under 2048: the two blockings give other bits.
const M = 37, K = 1100, N = 90;

test('setGemmBlocking on the main thread while a worker runs GEMMs: every result is one blocking\'s, bit for bit', { skip }, async () => {
  const a = loadNativeKernels().addon!, k = native();
  const start = a.gemmBlocking!();
  const blockings: Partial<GemmBlocking>[] = [
    { kc: 2048, mc: 6, packB: 2048 * 32 },
    { kc: 64, mc: 120 },
    { kernel: start.kernel, kc: start.kc, mc: 12, packA: start.kc * 24, packB: start.kc * 40 },
  ];
  const r = rng(11);
  const X = randF32(r, M * K), W = randF32(r, K * N), bias = randF32(r, N);
  const refs = [null, ...blockings].map((b) => {
    a.setGemmBlocking!(b);
    const y = new Float32Array(M * N);
    k.linearForward(X, W, bias, y, M, K, N, 'relu', 0);
    return y;
  });
  a.setGemmBlocking!(null);
  assert.ok(!bitsEqual(refs[0]!, refs[1]!), 'kc 2048 should change the bits, or the test cannot tell blockings apart');

  // The worker: plain and pre-packed forwards (packs made under whatever blocking is current),
  // each checked against every reference; it reports the GEMMs that matched none.
  const state = new Int32Array(new SharedArrayBuffer(8)); // [phase (1 running, 2 done), bad results]
  const worker = new Worker(`
    const { workerData: d } = require('node:worker_threads');
    import(${JSON.stringify(nativeJs)}).then(({ loadNativeKernels }) => {
      const k = loadNativeKernels().kernels, st = d.state;
      const same = (x, y) => new Uint32Array(x.buffer).every((v, i) => v === new Uint32Array(y.buffer)[i]);
      Atomics.store(st, 0, 1);
      for (let i = 0; i < d.calls; i++) {
        const y = new Float32Array(d.M * d.N);
        const pack = i % 2 ? k.packWeights(d.W, d.K, d.N) : undefined;
        k.linearForward(d.X, d.W, d.bias, y, d.M, d.K, d.N, 'relu', 0, pack);
        if (!d.refs.some((r) => same(r, y))) Atomics.add(st, 1, 1);
      }
      Atomics.store(st, 0, 2);
    });`, { eval: true, workerData: { state, X, W, bias, refs, M, K, N, calls: 400 } });
  const exited = new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', resolve);
  });
  let sets = 0;
  const deadline = Date.now() + 60_000;
  try {
    // Synchronous on purpose: the sets race the worker's GEMMs, not an event-loop turn.
    while (Atomics.load(state, 0) !== 2 && Date.now() < deadline) {
      if (Atomics.load(state, 0) === 0) {
        Atomics.wait(state, 0, 0, 5);
        continue;
      }
      a.setGemmBlocking!(sets % 4 === 3 ? null : blockings[sets % 4]!);
      sets++;
    }
  } finally {
    a.setGemmBlocking!(null);
  }
  assert.equal(await exited, 0);
  assert.equal(Atomics.load(state, 0), 2, 'the worker did not finish in 60 s');
  assert.ok(sets > 10, `only ${sets} blocking changes raced the worker`);
  assert.equal(Atomics.load(state, 1), 0, `${Atomics.load(state, 1)} of 400 GEMMs matched no blocking's bits`);
  assert.deepEqual(a.gemmBlocking!(), start);
});
