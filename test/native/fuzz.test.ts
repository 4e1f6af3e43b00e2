/**
 * Random arguments of every type and size against every non-GEMM kernel: each call must
 * either succeed or throw an Error naming the kernel — never crash or touch memory outside
 * the given buffers (run under AddressSanitizer with CTRKIT_FUZZ_ITERS=20000 to check the
 * latter byte for byte).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native, rng, skip } from './setup.js';

type Arg = 'f' | 'f?' | 'i' | 'i?' | 'n' | 'r' | 'b' | 'u' | 'o' | 's' | 'off' | 'off?' | 'fs' | 'd';
// Argument kinds in Kernels order: f/i Float32/Int32Array (? nullable), n count, r real,
// b boolean, u unary op, o binary op, s shape, off offsets, fs array of Float32Arrays (some
// not), d Float64Array.
const signatures: Record<string, Arg[]> = {
  unary: ['u', 'f', 'f', 'n', 'r'],
  unaryBackward: ['u', 'f', 'f', 'f', 'f', 'n', 'r'],
  binary: ['o', 'f', 's', 'f', 's', 'f', 's'],
  binaryBackward: ['o', 'f', 's', 'f', 's', 'f', 's', 'f?', 'f?'],
  affine: ['f', 'f', 'n', 'r', 'r'],
  axpy: ['n', 'r', 'f', 'f'],
  axpby: ['n', 'r', 'f', 'r', 'f'],
  fill: ['f', 'n', 'r'],
  reduceSum: ['f', 'n', 'n', 'n', 'f', 'r'],
  reduceSumBackward: ['f', 'n', 'n', 'n', 'f', 'r'],
  copy2d: ['f', 'n', 'n', 'f', 'n', 'n', 'n', 'n', 'b'],
  sumSquares: ['f', 'n'],
  dot: ['f', 'f', 'n'],
  gram: ['fs', 'n', 'n', 'd'],
  combineRuns: ['fs', 'n', 'n', 'd'],
  softmax: ['f', 'n', 'n', 'n', 'f', 'b'],
  softmaxBackward: ['f', 'f', 'n', 'n', 'n', 'f', 'b'],
  segmentSoftmax: ['f', 'n', 'off', 'f', 'b'],
  segmentSoftmaxBackward: ['f', 'f', 'n', 'off', 'f', 'b'],
  segmentSum: ['f', 'n', 'off', 'f', 'b'],
  segmentSumBackward: ['f', 'n', 'off', 'f', 'b'],
  pairDiff: ['f', 'i', 'i', 'f', 'n'],
  pairDiffBackward: ['f', 'i', 'i', 'f', 'n'],
  bceWithLogits: ['f', 'f', 'f?', 'n', 'f'],
  layerNorm: ['f', 'n', 'n', 'f', 'f', 'r', 'f', 'f', 'f'],
  layerNormBackward: ['f', 'f', 'n', 'n', 'f', 'f', 'f', 'f?', 'f?', 'f?'],
  batchNormTrain: ['f', 'n', 'n', 'f', 'f', 'r', 'r', 'f', 'f', 'f', 'f', 'f'],
  batchNormBackward: ['f', 'f', 'n', 'n', 'f', 'f', 'f', 'f?', 'f?', 'f?'],
  dropout: ['f', 'n', 'r', 'r', 'f', 'f'],
  embeddingLookup: ['f', 'n', 'n', 'i', 'n', 'f'],
  embeddingBag: ['f', 'n', 'n', 'i', 'off', 'f?', 'b', 'f'],
  embeddingBackward: ['i', 'n', 'f', 'n', 'n', 'off?', 'f?', 'b', 'i', 'f'],
  sgdStep: ['f', 'f', 'f?', 'n', 'r', 'r', 'r', 'b', 'r', 'b'],
  adagradStep: ['f', 'f', 'f', 'n', 'r', 'r', 'r'],
  adamStep: ['f', 'f', 'f', 'f', 'n', 'r', 'r', 'r', 'r', 'r', 'b', 'n'],
  sparseSgd: ['f', 'n', 'i', 'f', 'n', 'r'],
  sparseAdagrad: ['f', 'n', 'f', 'i', 'f', 'n', 'r', 'r', 'b'],
  sparseAdam: ['f', 'n', 'f', 'f', 'i', 'f', 'n', 'r', 'r', 'r', 'r', 'n'],
};

const unaryOps = ['relu', 'sigmoid', 'tanh', 'softplus', 'smelu', 'exp', 'log', 'neg', 'abs', 'sqrt', 'square', 'bogus'];
const binaryOps = ['add', 'sub', 'mul', 'div', 'bogus'];

test('random arguments never crash: success or an Error naming the kernel', { skip }, (t) => {
  const K = native() as unknown as Record<string, (...a: unknown[]) => unknown>;
  const r = rng(2024);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const offsets = () => {
    const o = [0];
    for (let s = int(0, 4); s > 0; s--) o.push(o[o.length - 1] + int(r() < 0.1 ? -1 : 0, 4));
    return Int32Array.from(o);
  };
  const make = (a: Arg): unknown => {
    if (a.endsWith('?') && r() < 0.3) return null;
    switch (a) {
      case 'f': case 'f?': return new Float32Array(int(0, 40)).map(() => r() * 4 - 1);
      case 'i': case 'i?': return new Int32Array(int(0, 40)).map(() => int(-2, 12));
      case 'n': return r() < 0.05 ? [-1, 2.5, NaN, 2 ** 31, 'x'][int(0, 4)] : int(0, 7);
      case 'r': return r() < 0.05 ? NaN : r() * 2 - 0.5;
      case 'b': return r() < 0.5;
      case 'u': return unaryOps[int(0, unaryOps.length - 1)];
      case 'o': return binaryOps[int(0, binaryOps.length - 1)];
      case 's': return Array.from({ length: int(0, r() < 0.02 ? 9 : 4) }, () => int(0, 3));
      case 'off': case 'off?': return offsets();
      case 'fs': return r() < 0.05 ? make('f') : Array.from({ length: int(0, 4) }, () => make(r() < 0.05 ? 'i' : 'f'));
      case 'd': return r() < 0.05 ? make('f') : new Float64Array(int(0, 20)).map(() => r());
    }
  };
  let ok = 0, threw = 0;
  const iters = Number(process.env.CTRKIT_FUZZ_ITERS ?? 3000);
  for (let iter = 0; iter < iters; iter++) {
    for (const [name, sig] of Object.entries(signatures)) {
      const args = sig.map(make);
      try {
        K[name](...args);
        ok++;
      } catch (e) {
        threw++;
        assert.ok(e instanceof Error, `${name} threw a non-Error`);
        assert.ok(e.message.startsWith(`${name}: `), `${name} error does not name the kernel: ${e.message}`);
      }
    }
    if (iter === 1999 && ok === 0) assert.fail('no call ever succeeded');
  }
  assert.ok(ok > 1000 && threw > 1000, `ok=${ok} threw=${threw}`);
  t.diagnostic(`${ok} calls succeeded, ${threw} threw`);
});
