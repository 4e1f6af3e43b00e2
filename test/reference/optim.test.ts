import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceKernels as K } from '../../src/backend/reference/index.js';
import { assertClose, f32, i32 } from '../helpers/close.js';

test('sgdStep: plain and with weight decay', () => {
  const p = f32([1, 2]);
  K.sgdStep(p, f32([0.5, -1]), null, 2, 0.1, 0, 0, false, 0, true);
  assertClose(p, [0.95, 2.1]);
  const q = f32([1, 2]);
  K.sgdStep(q, f32([0.5, -1]), null, 2, 0.1, 0, 0, false, 0.1, true); // d = g + 0.1·p = [0.6, −0.8]
  assertClose(q, [0.94, 2.08]);
  assert.throws(() => K.sgdStep(q, f32([0, 0]), null, 2, 0.1, 0.9, 0, false, 0, true), /sgdStep: momentum=0.9 needs a momentum buffer/);
});

test('sgdStep: momentum with dampening (first step initialises the buffer to g, undampened)', () => {
  const p = f32([1, 2]), mom = f32([123, 456]);
  K.sgdStep(p, f32([0.5, -1]), mom, 2, 0.1, 0.9, 0.5, false, 0, true);
  assertClose(mom, [0.5, -1]);
  assertClose(p, [0.95, 2.1]);
  K.sgdStep(p, f32([1, 1]), mom, 2, 0.1, 0.9, 0.5, false, 0, false);
  assertClose(mom, [0.95, -0.4]); // 0.9·buf + 0.5·g
  assertClose(p, [0.855, 2.14]);
});

test('sgdStep: Nesterov', () => {
  const p = f32([1, 2]), mom = new Float32Array(2);
  K.sgdStep(p, f32([0.5, -1]), mom, 2, 0.1, 0.9, 0, true, 0, true);
  assertClose(p, [0.905, 2.19]); // d = g + 0.9·buf = [0.95, −1.9]
  K.sgdStep(p, f32([1, 1]), mom, 2, 0.1, 0.9, 0, true, 0, false);
  assertClose(mom, [1.45, 0.1]);
  assertClose(p, [0.6745, 2.081]); // d = [2.305, 1.09]
  assert.throws(() => K.sgdStep(p, f32([1, 1]), mom, 2, 0.1, 0.9, 0.1, true, 0, false), /Nesterov momentum requires/);
});

test('adagradStep: accumulator, eps outside the sqrt, weight decay', () => {
  const p = f32([1, -1]), acc = f32([0, 1]);
  K.adagradStep(p, f32([2, -0.5]), acc, 2, 0.1, 1e-10, 0);
  assertClose(acc, [4, 1.25]);
  assertClose(p, [0.9, -1 + 0.05 / Math.sqrt(1.25)]);
  const q = f32([1, -1]), acc2 = f32([0, 1]);
  K.adagradStep(q, f32([2, -0.5]), acc2, 2, 0.1, 1e-10, 0.5); // g' = [2.5, −1]
  assertClose(acc2, [6.25, 2]);
  assertClose(q, [0.9, -1 + 0.1 / Math.SQRT2]);
});

test('adamStep: two steps with bias correction (PyTorch formula)', () => {
  const p = f32([1]), m = f32([0]), v = f32([0]);
  K.adamStep(p, f32([0.5]), m, v, 1, 0.01, 0.9, 0.999, 1e-8, 0, false, 1);
  assertClose(m, [0.05]);
  assertClose(v, [0.00025]);
  // lr/bc1 · m/(√v/√bc2 + eps) = 0.1 · 0.05/(0.5 + 1e-8)
  assertClose(p, [1 - 0.005 / (0.5 + 1e-8)], 1e-7, 0);
  K.adamStep(p, f32([-1]), m, v, 1, 0.01, 0.9, 0.999, 1e-8, 0, false, 2);
  assertClose(m, [-0.055]);
  assertClose(v, [0.00124975]);
  const bc1 = 1 - 0.81, bc2 = 1 - 0.998001;
  const p1 = 1 - 0.005 / (0.5 + 1e-8);
  assertClose(p, [p1 - (0.01 / bc1) * -0.055 / (Math.sqrt(0.00124975) / Math.sqrt(bc2) + 1e-8)], 1e-6, 0);
  assert.throws(() => K.adamStep(p, f32([0]), m, v, 1, 0.01, 0.9, 0.999, 1e-8, 0, false, 0), /adamStep: step must be a 1-based integer, got 0/);
});

test('adamStep: L2 weight decay (Adam) vs decoupled (AdamW)', () => {
  const p = f32([1]), m = f32([0]), v = f32([0]);
  K.adamStep(p, f32([0.5]), m, v, 1, 0.01, 0.9, 0.999, 1e-8, 0.1, false, 1); // g' = 0.6
  assertClose(m, [0.06]);
  assertClose(p, [1 - 0.006 / (0.6 + 1e-8)], 1e-7, 0);
  const q = f32([1]), m2 = f32([0]), v2 = f32([0]);
  K.adamStep(q, f32([0.5]), m2, v2, 1, 0.01, 0.9, 0.999, 1e-8, 0.1, true, 1); // p·(1 − lr·wd) first
  assertClose(m2, [0.05]);
  assertClose(q, [0.999 - 0.005 / (0.5 + 1e-8)], 1e-7, 0);
});

test('sparseSgd touches only the given rows', () => {
  const t = f32([1, 1, 1, 1, 1, 1]);
  K.sparseSgd(t, 2, i32([2, 0]), f32([1, 2, 3, 4]), 2, 0.5);
  assert.deepEqual(Array.from(t), [-0.5, -1, 1, 1, 0.5, 0]);
  assert.throws(() => K.sparseSgd(t, 2, i32([3]), f32([1, 2]), 1, 0.5), /sparseSgd: row 3 at position 0 is outside \[0, 3\)/);
});

test('sparseAdagrad: element-wise and row-wise', () => {
  const t = f32([1, 1, 1, 1]), acc = new Float32Array(4);
  K.sparseAdagrad(t, 2, acc, i32([1]), f32([3, 4]), 1, 1, 0, false);
  assert.deepEqual(Array.from(acc), [0, 0, 9, 16]);
  assert.deepEqual(Array.from(t), [1, 1, 0, 0]);

  const t2 = f32([1, 1, 1, 1]), racc = f32([5, 0]);
  K.sparseAdagrad(t2, 2, racc, i32([1]), f32([3, 4]), 1, 1, 0, true);
  assert.deepEqual(Array.from(racc), [5, 12.5]); // mean(9, 16)
  assertClose(t2, [1, 1, 1 - 3 / Math.sqrt(12.5), 1 - 4 / Math.sqrt(12.5)]);
  assert.throws(() => K.sparseAdagrad(t2, 2, f32([0]), i32([1]), f32([3, 4]), 1, 1, 0, true), /sparseAdagrad: acc has 1 elements, needs 2/);
});

test('sparseAdam follows torch.optim.SparseAdam (eps added to √v unscaled)', () => {
  const t = f32([1, 1]), m = new Float32Array(2), v = new Float32Array(2);
  const eps = 1e-3;
  K.sparseAdam(t, 1, m, v, i32([0]), f32([0.5]), 1, 0.01, 0.9, 0.999, eps, 1);
  assertClose(m, [0.05, 0]);
  assertClose(v, [0.00025, 0]);
  const stepSize = 0.01 * Math.sqrt(0.001) / 0.1;
  assertClose(t, [1 - stepSize * 0.05 / (Math.sqrt(0.00025) + eps), 1], 1e-7, 0);
  // Second step on row 1 only: its moments start from zero but the bias correction uses step 2.
  K.sparseAdam(t, 1, m, v, i32([1]), f32([-1]), 1, 0.01, 0.9, 0.999, eps, 2);
  assertClose(m, [0.05, -0.1]);
  const ss2 = 0.01 * Math.sqrt(1 - 0.998001) / 0.19;
  assertClose(t.subarray(1), [1 + ss2 * 0.1 / (Math.sqrt(0.001) + eps)], 1e-7, 0);
});
