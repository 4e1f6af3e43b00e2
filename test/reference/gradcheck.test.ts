import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertGradcheck, gradcheck, numericGradient } from '../helpers/gradcheck.js';

const f = ([x, w]: Float64Array[]): number => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += w[i] * x[i] * x[i];
  return s;
};

test('gradcheck: numeric gradient of Σ w·x² is 2wx and x²', () => {
  const x = Float64Array.from([1, -2, 3]), w = Float64Array.from([0.5, 1, -1]);
  const [gx, gw] = numericGradient(f, [x, w]);
  for (let i = 0; i < 3; i++) {
    assert.ok(Math.abs(gx[i] - 2 * w[i] * x[i]) < 1e-7);
    assert.ok(Math.abs(gw[i] - x[i] * x[i]) < 1e-7);
  }
  assert.deepEqual(Array.from(x), [1, -2, 3]); // inputs restored
});

test('gradcheck: accepts a correct gradient, rejects a wrong one, skips null', () => {
  const x = Float64Array.from([1, -2, 3]), w = Float64Array.from([0.5, 1, -1]);
  assertGradcheck(f, [x, w], [Float32Array.from([1, -4, -6]), null]);
  const bad = gradcheck(f, [x, w], [[1, -4, -6.01], null]);
  assert.equal(bad.ok, false);
  assert.equal(bad.failures, 1);
  assert.deepEqual(bad.worst && { input: bad.worst.input, index: bad.worst.index }, { input: 0, index: 2 });
  assert.throws(() => assertGradcheck(f, [x, w], [[1, -4, -6.01], null], {}, 'f'), /f: 1 element\(s\) differ .* input 0\[2\]/);
  assert.throws(() => gradcheck(f, [x, w], [[1, 2]]), /2 inputs but 1 analytical gradients/);
});
