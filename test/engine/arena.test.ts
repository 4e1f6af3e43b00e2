import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Arena, sizeClass } from '../../src/tensor/arena.js';
import { stepArena } from '../../src/autograd/tape.js';
import { Rng } from '../../src/util/random.js';
import { AdaGrad } from '../../src/optim/adagrad.js';
import { trainStep } from '../../src/train/step.js';
import { DNN } from '../../src/models/dnn.js';
import { rankNet } from '../../src/losses/rankNet.js';
import { testBackends, withBackend } from '../helpers/backends.js';

const MiB = 1024 * 1024;

describe('arena', () => {
  it('size classes cover the request with at most 25 % slack, four per octave', () => {
    let prev = 0;
    for (let n = 1; n < 5000; n++) {
      const c = sizeClass(n);
      assert.ok(c >= n && c >= prev, `class of ${n} is ${c}`);
      if (n > 8) assert.ok(c <= 1.25 * n, `class of ${n} is ${c}`);
      prev = c;
    }
    assert.deepEqual([1024, 1025, 1280, 1281, 1536, 1792, 1793].map(sizeClass), [1024, 1280, 1280, 1536, 1536, 1792, 2048]);
    assert.ok(sizeClass(3_000_000_017) >= 3_000_000_017);
  });

  it('pooled bytes stay bounded when every step asks for new sizes', () => {
    const arena = new Arena({ slack: 2, minPooledBytes: 0 });
    const rng = new Rng(5);
    let peakStep = 0;
    for (let step = 0; step < 400; step++) {
      let bytes = 0;
      // Pair-like buffers whose length changes with every batch (30k–300k floats).
      for (let k = 0; k < 4; k++) {
        const n = 30_000 + rng.int(270_000);
        const b = arena.f32(n);
        assert.equal(b.length, n);
        bytes += sizeClass(n) * 4;
      }
      arena.reset();
      peakStep = Math.max(peakStep, bytes);
      assert.ok(arena.pooledBytes <= 2 * peakStep, `step ${step}: ${arena.pooledBytes} bytes pooled, largest step ${peakStep}`);
    }
    // One exact-size pool per length seen would hold ~1600 buffers (~1.3 GB) by now.
    assert.ok(arena.pooledBytes < 10 * MiB, `${arena.pooledBytes} bytes pooled`);
  });

  it('a steady state (same lengths, some sharing a class) creates no buffers and no views', () => {
    const arena = new Arena();
    const lengths = [100, 101, 112, 7, 4096, 100, 3000];
    const step = (): void => {
      for (const n of lengths) arena.f32(n);
      arena.i32(50);
      arena.reset();
    };
    step();
    step();
    const before = [arena.allocations, arena.views];
    for (let i = 0; i < 10; i++) step();
    assert.deepEqual([arena.allocations, arena.views], before);
  });

  it('buffers of one step do not overlap, and zero=true zeroes a recycled one', () => {
    const arena = new Arena();
    const a = arena.f32(100);
    a.fill(7);
    arena.reset();
    const bufs = [arena.f32(100, true), arena.f32(101), arena.f32(105)];
    assert.ok(bufs[0]!.every((v) => v === 0));
    bufs.forEach((b, i) => b.fill(i + 1));
    bufs.forEach((b, i) => assert.ok(b.every((v) => v === i + 1)));
  });

  it('evicts the buffers idle longest and keeps those of recent steps', () => {
    const arena = new Arena({ slack: 1, minPooledBytes: 0 });
    arena.f32(1000);
    arena.reset();
    const allocs = arena.allocations;
    // A bigger step: the pool may hold one such step, so the 1000-float buffer goes...
    arena.f32(4000);
    arena.reset();
    assert.equal(arena.pooledBytes, sizeClass(4000) * 4);
    // ...and the 4000-float one, used last, is reused without a new allocation.
    arena.f32(4000);
    arena.reset();
    assert.equal(arena.allocations, allocs + 1);
  });
});

for (const k of testBackends()) {
  describe(`arena in training (${k.name})`, () => {
    it('RankNet over batches with varying positives keeps the step arena bounded', () => withBackend(k, () => {
      const fields = 4;
      const size = 1024;
      const model = new DNN({ numIds: 400, numFields: fields, dim: 4, hidden: [16], initStd: 0.05, seed: 3 });
      const opt = new AdaGrad([{ params: model.parameters(), tables: model.tables() }], { lr: 0.05 });
      const rng = new Rng(11);
      const start = stepArena().pooledBytes;
      let maxPairs = 0;
      for (let s = 0; s < 80; s++) {
        const ids = Int32Array.from({ length: size * fields }, (_, i) => (i % fields) * 100 + rng.int(100));
        // 5–95 % positives: the pair count (and so every pair-length buffer) differs each step.
        const rate = 0.05 + 0.9 * rng.uniform();
        const labels = Float32Array.from({ length: size }, () => (rng.uniform() < rate ? 1 : 0));
        const pos = labels.reduce((a, b) => a + b, 0);
        maxPairs = Math.max(maxPairs, pos * (size - pos));
        trainStep(opt, () => rankNet(model.forward({ size, numFields: fields, ids, labels }), { labels }));
      }
      // A step holds about ten pair-length buffers (pair differences, softplus, their gradients),
      // ≤ 9 MiB here; the old exact-length pools kept one set per distinct pair count (~300 MiB).
      const grown = stepArena().pooledBytes - start;
      assert.ok(grown < 64 * MiB + 2 * 1.25 * 10 * 4 * maxPairs, `the step arena grew by ${grown} bytes (largest step ${maxPairs} pairs)`);
    }));

    it('kernels read and write views at any byte offset', () => withBackend(k, () => {
      const n = 37;
      const rng = new Rng(2);
      const big = Float32Array.from({ length: 3 * n + 10 }, () => rng.uniform() * 4 - 2);
      const x = big.subarray(3, 3 + n);
      const y = new Float32Array(2 * n + 5);
      k.unary('tanh', x, y.subarray(5, 5 + n), n, 0);
      const yFresh = new Float32Array(n);
      k.unary('tanh', x.slice(), yFresh, n, 0);
      assert.deepEqual(y.subarray(5, 5 + n), yFresh);
      assert.ok(y.subarray(0, 5).every((v) => v === 0) && y.subarray(5 + n).every((v) => v === 0));
      // GEMM [4 × 5] · [5 × 3] from offset views of one buffer.
      const A = big.subarray(1, 21), B = big.subarray(40, 55);
      const C = new Float32Array(20);
      k.gemm(false, false, 4, 3, 5, 1, A, B, 0, C.subarray(7, 19));
      const Cf = new Float32Array(12);
      k.gemm(false, false, 4, 3, 5, 1, A.slice(), B.slice(), 0, Cf);
      assert.deepEqual(C.subarray(7, 19), Cf);
    }));
  });
}
