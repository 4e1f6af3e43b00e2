/** Bad inputs never reach C++ memory: every one throws an Error naming the kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native, skip } from './setup.js';

const f = (n: number) => new Float32Array(n);
const i = (xs: number[]) => Int32Array.from(xs);

test('buffer lengths and sizes are checked', { skip }, () => {
  const K = native();
  assert.throws(() => K.unary('relu', f(3), f(4), 4, 0), /^Error: unary: x has 3 elements, needs 4/);
  assert.throws(() => K.unary('relu', f(4), f(4), -1, 0), /unary: n must be a non-negative integer/);
  assert.throws(() => K.unary('relu', f(4), f(4), 2.5, 0), /unary: n must be a non-negative integer/);
  assert.throws(() => K.unary('gelu' as never, f(4), f(4), 4, 0), /unary: unknown unary op 'gelu'/);
  assert.throws(() => K.unary('smelu', f(4), f(4), 4, -1), /unary: smelu beta must be finite and >= 0/);
  assert.throws(() => K.unaryBackward('exp', f(4), f(4), f(4), f(3), 4, 0), /unaryBackward: dx has 3 elements, needs 4/);
  assert.throws(() => K.axpy(5, 1, f(5), new Float64Array(5) as never), /axpy: y must be a Float32Array/);
  assert.throws(() => K.reduceSum(f(10), 2, 3, 2, f(4), 1), /reduceSum: x has 10 elements, needs 12/);
  assert.throws(() => K.reduceSum(f(10), 2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, f(4), 1), /reduceSum: sizes are too large/);
  assert.throws(() => K.softmaxBackward(f(6), f(6), 1, 2, 3, f(5), false), /softmaxBackward: dx has 5 elements, needs 6/);
  assert.throws(() => K.copy2d(f(10), 0, 4, f(20), 0, 4, 3, 3, false), /copy2d: src has 10 elements, needs 11/);
  assert.throws(() => K.copy2d(f(20), 0, 4, f(10), 2, 4, 3, 3, false), /copy2d: dst has 10 elements, needs 13/);
  assert.throws(() => K.layerNorm(f(6), 2, 3, f(2), f(3), 1e-5, f(6), f(2), f(2)), /layerNorm: gamma has 2 elements, needs 3/);
  assert.throws(() => K.batchNormTrain(f(3), 1, 3, f(3), f(3), 1e-5, 0.1, f(3), f(3), f(3), f(3), f(3)),
    /batchNormTrain: training needs more than 1 row/);
  assert.throws(() => K.dropout(f(4), 4, 1.5, 1, f(4), f(4)), /dropout: p must be in \[0, 1\], got 1.5/);
  assert.throws(() => K.adamStep(f(2), f(2), f(2), f(2), 2, 1e-3, 0.9, 0.999, 1e-8, 0, false, 0), /adamStep: step is 1-based/);
  assert.throws(() => K.sgdStep(f(2), f(2), null, 2, 0.1, 0.9, 0, false, 0, true), /sgdStep: momentum=0.9 needs a momentum buffer \(n=2\)/);
  assert.throws(() => K.sgdStep(f(2), f(2), f(2), 2, 0.1, 0.9, 0.5, true, 0, true), /sgdStep: Nesterov momentum requires/);
});

test('DIN fused attention: sizes, offsets and activation are checked', { skip }, () => {
  const K = native();
  const [d, h] = [2, 3];
  const args = (eb = f(6), off = i([0, 1, 3]), W1 = f(4 * d * h)) => [eb, f(4), off, W1, f(h), f(h), f(1), d, h] as const;
  assert.throws(() => K.targetAttention(...args(), 'relu', 0, f(3)), /^Error: targetAttention: pooled has 3 elements, needs 4/);
  assert.throws(() => K.targetAttention(...args(f(6), i([0, 1, 2])), 'relu', 0, f(4)), /targetAttention: offsets\[2\] = 2, must equal 3/);
  assert.throws(() => K.targetAttention(...args(f(6), i([0, 1, 3]), f(20)), 'relu', 0, f(4)), /targetAttention: W1 has 20 elements, needs 24/);
  assert.throws(() => K.targetAttention(...args(), 'gelu' as never, 0, f(4)), /unknown activation 'gelu'/);
  assert.throws(() => K.targetAttention(...args(), 'smelu', -1, f(4)), /targetAttention: smelu beta must be finite and >= 0/);
  assert.throws(() => K.targetAttentionBackward(...args(), 'relu', 0, f(4), f(5), null, null, null, null, null),
    /targetAttentionBackward: deb has 5 elements, needs 6/);
});

test('broadcast shapes are validated', { skip }, () => {
  const K = native();
  assert.throws(() => K.binary('add', f(6), [2, 3], f(2), [2], f(6), [2, 3]), /binary: shapes \[2,3\] and \[2\] do not broadcast to \[2,3\]/);
  assert.throws(() => K.binary('add', f(6), [2, 3], f(3), [3], f(5), [2, 3]), /binary: out has 5 elements, needs 6/);
  assert.throws(() => K.binary('add', f(1), Array(9).fill(1), f(1), [1], f(1), Array(9).fill(1)), /binary: aShape has 9 dims/);
  assert.throws(() => K.binary('add', f(1), [1.5], f(1), [1], f(1), [1]), /binary: aShape\[0\] must be a non-negative integer/);
  assert.throws(() => K.binary('pow' as never, f(1), [1], f(1), [1], f(1), [1]), /binary: unknown binary op 'pow'/);
  assert.throws(() => K.binaryBackward('mul', f(6), [2, 3], f(3), [3], f(6), [2, 3], null, f(2)),
    /binaryBackward: db has 2 elements, needs 3/);
});

test('offsets are validated', { skip }, () => {
  const K = native();
  assert.throws(() => K.segmentSum(f(8), 2, i([1, 4]), f(2), false), /segmentSum: offsets\[0\] must be 0, got 1/);
  assert.throws(() => K.segmentSum(f(8), 2, i([0, 3, 2, 4]), f(6), false), /segmentSum: offsets must be non-decreasing/);
  assert.throws(() => K.segmentSum(f(8), 2, i([0, 3]), f(2), false), /segmentSum: offsets\[1\] = 3, must equal 4/);
  assert.throws(() => K.segmentSoftmax(f(7), 2, i([0, 3]), f(7), false), /segmentSoftmax: x length 7 is not a multiple of d=2/);
  assert.throws(() => K.segmentSumBackward(f(2), 2, i([0, 5]), f(8), false), /segmentSumBackward: offsets\[1\] = 5, must equal 4/);
  assert.throws(() => K.segmentSum(f(8), 2, new Int32Array(0), f(2), false), /segmentSum: offsets has 0 elements, needs 1/);
  assert.throws(() => K.embeddingBag(f(10), 5, 2, i([0, 1, 2]), i([0, 2]), null, false, f(2)),
    /embeddingBag: offsets\[1\] = 2, must equal 3/);
  assert.throws(() => K.embeddingBackward(i([0, 1, 2]), 3, f(4), 2, 5, i([0, 1, 2]), null, false, i([0, 0, 0]), f(6)),
    /embeddingBackward: offsets\[2\] = 2, must equal 3/);
});

test('ids, rows and pairs outside their range throw naming the value and position', { skip }, () => {
  const K = native();
  assert.throws(() => K.embeddingLookup(f(10), 5, 2, i([0, 4, 5]), 3, f(6)), /embeddingLookup: id 5 at position 2 is outside \[0, 5\)/);
  assert.throws(() => K.embeddingLookup(f(10), 5, 2, i([-1]), 1, f(2)), /embeddingLookup: id -1 at position 0/);
  assert.throws(() => K.embeddingLookup(f(9), 5, 2, i([0]), 1, f(2)), /embeddingLookup: table has 9 elements, needs 10/);
  assert.throws(() => K.embeddingBag(f(10), 5, 2, i([0, 7]), i([0, 2]), null, false, f(2)), /embeddingBag: id 7 at position 1/);
  assert.throws(() => K.embeddingBackward(i([3, 9, 50_000_000]), 3, f(3), 1, 50_000_000, null, null, false, i([0, 0, 0]), f(3)),
    /embeddingBackward: id 50000000 at position 2 is outside \[0, 50000000\)/);
  assert.throws(() => K.embeddingBackward(i([1, 2, 3]), 3, f(3), 1, 5, null, null, false, i([0, 0]), f(3)),
    /embeddingBackward: 3 unique ids but uniqueRows\/rowGrads hold only 2 rows/);
  assert.throws(() => K.sparseSgd(f(10), 2, i([1, 5]), f(4), 2, 0.1), /sparseSgd: row 5 at position 1 is outside \[0, 5\)/);
  assert.throws(() => K.sparseAdagrad(f(10), 2, f(4), i([0]), f(2), 1, 0.1, 1e-10, true), /sparseAdagrad: acc has 4 elements, needs 5/);
  assert.throws(() => K.sparseAdam(f(9), 2, f(10), f(10), i([0]), f(2), 1, 1e-3, 0.9, 0.999, 1e-8, 1),
    /sparseAdam: table length 9 is not a multiple of dim=2/);
  assert.throws(() => K.pairDiff(f(3), i([0, 1]), i([2, 3]), f(2), 2), /pairDiff: pair 1 = \(1, 3\) is outside \[0, 3\)/);
  assert.throws(() => K.pairDiffBackward(f(1), i([-1]), i([0]), f(3), 1), /pairDiffBackward: pair 0/);
});

test('bceWithLogits rejects non-finite inputs and non-positive weight sums', { skip }, () => {
  const K = native();
  const z = Float32Array.from([0.5, NaN, 1]), y = Float32Array.from([1, 0, 1]);
  assert.throws(() => K.bceWithLogits(z, y, null, 3, f(3)), /bceWithLogits: logit z\[1\] = NaN is not finite/);
  assert.throws(() => K.bceWithLogits(f(3), Float32Array.from([0, Infinity, 1]), null, 3, f(3)), /bceWithLogits: label y\[1\] = Infinity is not finite/);
  assert.throws(() => K.bceWithLogits(f(3), y, Float32Array.from([1, 1, -Infinity]), 3, f(3)), /bceWithLogits: weight w\[2\] = -Infinity is not finite/);
  assert.throws(() => K.bceWithLogits(f(3), y, Float32Array.from([1, -1, 0]), 3, f(3)), /bceWithLogits: sum of weights must be > 0, got 0 \(n=3\)/);
  assert.throws(() => K.bceWithLogits(f(0), f(0), null, 0, f(0)), /bceWithLogits: sum of weights must be > 0, got 0 \(n=0\)/);
});

test('dense-layer backward passes: the counts and every array against its [M, K], [K, N], [M, N] or [N] size; gradients may be null', { skip }, () => {
  const K = native();
  const [M, Kd, N] = [2, 3, 4];
  const sizes = { MK: M * Kd, KN: Kd * N, MN: M * N, N };
  /** A binding called with its well-formed arguments, `change` applied (argument index → value). */
  const call = (fn: (...a: never[]) => void, args: unknown[]) => (change: Record<number, unknown> = {}) => () =>
    fn(...(args.map((a, j) => (j in change ? change[j] : a)) as never[]));
  const cases = [
    {
      kernel: 'linearBackward', fn: K.linearBackward.bind(K), nName: 'N', dimsAt: 8, optionalFrom: 5,
      arrays: [['X', 'MK'], ['W', 'KN'], ['Y', 'MN'], ['dY', 'MN'], ['dZ', 'MN'], ['dX', 'MK'], ['dW', 'KN'], ['db', 'N']] as const, rest: ['relu', 0],
    },
    {
      kernel: 'crossBackward', fn: K.crossBackward.bind(K), nName: 'D', dimsAt: 11, optionalFrom: 6,
      arrays: [['A', 'MK'], ['W', 'KN'], ['z', 'MN'], ['x0', 'MN'], ['dOut', 'MN'], ['dZ', 'MN'], ['dA', 'MK'], ['dW', 'KN'], ['db', 'N'], ['dx0', 'MN'], ['dx', 'MN']] as const, rest: [],
    },
  ];
  for (const c of cases) {
    const run = call(c.fn as (...a: never[]) => void, [...c.arrays.map(([, s]) => f(sizes[s])), M, Kd, N, ...c.rest]);
    assert.doesNotThrow(run());
    assert.doesNotThrow(run(Object.fromEntries(c.arrays.map((_, j) => [j, null]).slice(c.optionalFrom))));
    c.arrays.forEach(([name, s], j) => {
      assert.throws(run({ [j]: f(sizes[s] - 1) }), new RegExp(`^Error: ${c.kernel}: ${name} has ${sizes[s] - 1} elements, needs ${sizes[s]}$`));
      if (j < c.optionalFrom) assert.throws(run({ [j]: null }), new RegExp(`^Error: ${c.kernel}: ${name} must be a Float32Array$`));
    });
    ['M', 'K', c.nName].forEach((name, j) => assert.throws(run({ [c.dimsAt + j]: -1 }), new RegExp(`^Error: ${c.kernel}: ${name} must be a non-negative integer`)));
  }
});
