/**
 * Pre-packed weights for inference (Kernels.packWeights, src/nn/packedWeights.ts): the fused
 * dense and cross layers give the same bits with W pre-packed (A then read in place, its partial
 * last panel packed) as packing both per call, with 1 and 2 threads, under several blockings (one or many K and N blocks); a pack made under another
 * blocking is ignored rather than misread; and a Linear in eval mode rebuilds its pack when its
 * weights change (optimiser step, loadStateDict), so scores always use the current weights, but
 * only on their second use at one version, so weights that change between eval forwards (online
 * training) are never packed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNativeKernels, type GemmBlocking } from '../../src/backend/native.js';
import type { Activation } from '../../src/backend/kernels.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/random.js';
import { endStep, noGrad } from '../../src/autograd/tape.js';
import { Linear } from '../../src/nn/linear.js';
import { weightPacks } from '../../src/nn/packedWeights.js';
import { CrossNet } from '../../src/nn/crossNet.js';
import { SGD } from '../../src/optim/sgd.js';
import { withBackend } from '../helpers/backends.js';
import { bitsEqual, native, randF32, rng, skip } from './setup.js';

function withSetup<T>(b: Partial<GemmBlocking> | null, threads: number, fn: () => T): T {
  const a = loadNativeKernels().addon!;
  const before = native().getThreads();
  a.setGemmBlocking!(b);
  native().setThreads(threads);
  try {
    return fn();
  } finally {
    native().setThreads(before);
    a.setGemmBlocking!(null);
  }
}

const SHAPES = [
  { M: 100, K: 624, N: 400 },
  { M: 37, K: 1100, N: 90 }, // two K blocks at kc 1024, a narrow last panel
  { M: 7, K: 33, N: 17 },
  { M: 5, K: 70, N: 130 }, // fewer rows than one register tile: only a partial A panel
];
const BLOCKINGS: (Partial<GemmBlocking> | null)[] = [null, { kc: 200, packA: 200 * 40, packB: 200 * 40 }, { kc: 64, mc: 6 }];

test('linearForward / crossForward: a pre-packed W gives the same bits as packing per call, 1 and 2 threads', { skip }, () => {
  const k = native();
  for (const b of BLOCKINGS)
    for (const [si, { M, K, N }] of SHAPES.entries())
      for (const threads of [1, 2])
        withSetup(b, threads, () => {
          const r = rng(100 + si);
          const X = randF32(r, M * K), W = randF32(r, K * N), bias = randF32(r, N);
          const packed = k.packWeights!(W, K, N);
          const label = `${JSON.stringify(b)} ${M}x${K}x${N} ${threads} threads`;
          for (const act of ['none', 'relu', 'sigmoid', 'smelu'] as Activation[]) {
            const plain = new Float32Array(M * N), pre = new Float32Array(M * N);
            k.linearForward(X, W, bias, plain, M, K, N, act, 0.5);
            k.linearForward(X, W, bias, pre, M, K, N, act, 0.5, packed);
            assert.ok(bitsEqual(pre, plain), `${label} ${act}: bits differ`);
          }
          if (K !== N) return;
          const x0 = randF32(r, M * N), x = randF32(r, M * N);
          const outs = [0, 1].map((usePack) => {
            const out = new Float32Array(M * N), z = new Float32Array(M * N);
            k.crossForward(X, W, bias, x0, x, out, z, M, K, N, usePack ? packed : null);
            return [out, z];
          });
          assert.ok(bitsEqual(outs[0]![0]!, outs[1]![0]!) && bitsEqual(outs[0]![1]!, outs[1]![1]!), `${label} cross: bits differ`);
        });
  // Square shapes for the cross layer.
  for (const threads of [1, 2])
    withSetup(null, threads, () => {
      const M = 100, D = 624, r = rng(7);
      const A = randF32(r, M * D), W = randF32(r, D * D), bias = randF32(r, D), x0 = randF32(r, M * D), x = randF32(r, M * D);
      const packed = k.packWeights!(W, D, D);
      const plain = new Float32Array(M * D), pre = new Float32Array(M * D);
      k.crossForward(A, W, bias, x0, x, plain, null, M, D, D);
      k.crossForward(A, W, bias, x0, x, pre, null, M, D, D, packed);
      assert.ok(bitsEqual(pre, plain), `cross 100x624x624 ${threads} threads: bits differ`);
    });
});

test('a pack is tied to the blocking and shape it was made for: a stale one is ignored, not misread', { skip }, () => {
  const k = native(), { M, K, N } = SHAPES[1]!, r = rng(5);
  const X = randF32(r, M * K), W = randF32(r, K * N);
  const packed = k.packWeights!(W, K, N);
  // Another blocking (other K blocks, other panel order): the stale pack must not be read.
  withSetup({ kc: 200, packB: 200 * 32 }, 1, () => {
    const plain = new Float32Array(M * N), pre = new Float32Array(M * N);
    k.linearForward(X, W, null, plain, M, K, N, 'none', 0);
    k.linearForward(X, W, null, pre, M, K, N, 'none', 0, packed);
    assert.ok(bitsEqual(pre, plain), 'stale pack was used');
  });
  // Another weight of the same size but another shape (N x K): its pack is ignored too.
  const Wt = randF32(r, K * N), other = k.packWeights!(Wt, N, K);
  const plain = new Float32Array(M * N), pre = new Float32Array(M * N);
  k.linearForward(X, W, null, plain, M, K, N, 'none', 0);
  k.linearForward(X, W, null, pre, M, K, N, 'none', 0, other);
  assert.ok(bitsEqual(pre, plain), 'a pack of another shape was used');
  assert.throws(() => k.linearForward(X, W, null, pre, M, K, N, 'none', 0, new Int32Array(4) as unknown as Float32Array), /packedW must be a Float32Array/);
});

test('a Linear packs its weights in eval mode only, on their second use, and repacks after an optimiser step or loadStateDict', { skip }, () => withBackend(native(), () => {
  const rngm = new Rng(3);
  const layer = new Linear({ inDim: 300, outDim: 200, activation: 'relu' }, rngm);
  const packs = layer[weightPacks];
  const x = new Tensor(Float32Array.from({ length: 50 * 300 }, () => rngm.uniform() * 2 - 1), [50, 300]);
  const score = () => noGrad(() => {
    const y = Float32Array.from(layer.forward(x).data);
    endStep();
    return y;
  });
  const trained = score(); // training mode: packed per call
  assert.equal(packs.floats(), 0);
  layer.eval();
  const first = score();
  assert.equal(packs.floats(), 0, 'the first eval forward at a version packed W');
  const before = score();
  assert.ok(packs.floats() > 300 * 200, 'the second eval forward did not pack W');
  assert.equal(packs.made, 1);
  score();
  assert.equal(packs.made, 1, 'a third forward packed again');
  assert.ok(bitsEqual(before, trained) && bitsEqual(first, trained), 'packed and per-call-packed forwards differ');

  // An optimiser step while the layer stays in eval mode: the next scores use the new weights.
  layer.W!.grad.fill(0.01);
  new SGD([{ params: layer.parameters() }], { lr: 1 }).step();
  const afterStep = score();
  assert.equal(packs.floats(), 0, 'the pack of the old weights was kept');
  assert.ok(!bitsEqual(afterStep, before), 'scored with the weights before the step');
  assert.ok(bitsEqual(score(), afterStep), 'after a step: the new pack scores differently');
  assert.equal(packs.made as number, 2, 'no pack of the new weights');
  layer.train();
  assert.equal(packs.floats(), 0, 'training mode keeps the pack');
  const expectStep = score();
  assert.ok(bitsEqual(afterStep, expectStep), 'after a step: packed and unpacked forwards differ');

  // loadStateDict in eval mode, the pack made first.
  layer.eval();
  score();
  score();
  const state = new Map([...layer.stateDict()].map(([n, a]) => [n, a.map((v) => v * 0.5)]));
  layer.loadStateDict(state);
  const afterLoad = [score(), score()];
  layer.train();
  const expectLoad = score();
  assert.ok(afterLoad.every((y) => bitsEqual(y, expectLoad)), 'after loadStateDict: scored with stale packed weights');
}));

test('weights that change between eval forwards (online training: score a batch, then train on it) are never packed', { skip }, () => withBackend(native(), () => {
  const rngm = new Rng(4);
  const layer = new Linear({ inDim: 120, outDim: 64 }, rngm);
  const x = new Tensor(Float32Array.from({ length: 30 * 120 }, () => rngm.uniform() * 2 - 1), [30, 120]);
  const opt = new SGD([{ params: layer.parameters() }], { lr: 0.1 });
  for (const toggle of [true, false])
    for (let batch = 0; batch < 4; batch++) {
      layer.eval();
      noGrad(() => layer.forward(x));
      endStep();
      assert.equal(layer[weightPacks].floats(), 0, `batch ${batch}: a pack for one forward`);
      if (toggle) layer.train();
      layer.W!.grad.fill(0.01);
      opt.step();
    }
  assert.equal(layer[weightPacks].made, 0);
}));

test('a cross network in eval mode (packed, fused epilogue) scores as in training mode, bit for bit', { skip }, () => withBackend(native(), () => {
  const rngm = new Rng(9);
  for (const rank of [undefined, 32]) {
    const net = new CrossNet({ dim: 96, layers: 3, rank }, rngm);
    const x0 = new Tensor(Float32Array.from({ length: 40 * 96 }, () => rngm.uniform() * 2 - 1), [40, 96]);
    const run = () => noGrad(() => {
      const y = Float32Array.from(net.forward(x0).data);
      endStep();
      return y;
    });
    const trained = run();
    net.eval();
    const first = run(), packed = run();
    assert.ok(net.layers.every((l) => l[weightPacks].floats() > 0), 'cross layers were not packed');
    assert.ok(bitsEqual(first, trained) && bitsEqual(packed, trained), `rank ${rank}: packed cross differs`);
  }
}));
