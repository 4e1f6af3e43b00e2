import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceKernels as K } from '../../src/backend/reference/index.js';
import { assertClose, assertNear, f32 } from '../helpers/close.js';

// z = [0, 2, −1], y = [1, 0, 1]: per-sample −[y log σ + (1−y) log(1−σ)] =
// [ln 2, softplus(2), softplus(−1) + 1] = [0.69314718056, 2.12692801104, 1.31326168752].
const z = f32([0, 2, -1]);
const y = f32([1, 0, 1]);

test('bceWithLogits: unweighted mean and gradient', () => {
  const dz = f32([9, 9, 9]);
  const loss = K.bceWithLogits(z, y, null, 3, dz);
  assertNear(loss, (0.69314718056 + 2.12692801104 + 1.31326168752) / 3, 1e-9, 1e-9);
  // dz = (σ(z) − y)/n, overwritten.
  assertClose(dz, [-0.5 / 3, 0.88079707798 / 3, (0.26894142137 - 1) / 3]);
});

test('bceWithLogits: sample weights', () => {
  const dz = new Float32Array(3);
  const loss = K.bceWithLogits(z, y, f32([2, 1, 1]), 3, dz);
  assertNear(loss, (2 * 0.69314718056 + 2.12692801104 + 1.31326168752) / 4, 1e-9, 1e-9);
  assertClose(dz, [-0.25, 0.88079707798 / 4, -0.73105857863 / 4]);
  // A zero weight removes a sample entirely.
  const loss0 = K.bceWithLogits(z, y, f32([1, 0, 0]), 3, dz);
  assertNear(loss0, Math.LN2, 1e-9, 1e-9);
  assertClose(dz, [-0.5, 0, 0]);
});

test('bceWithLogits: extreme logits give finite loss and gradient', () => {
  const dz = new Float32Array(4);
  // Correct confident predictions cost ~e^−100; wrong ones cost 100 each → mean 200/4.
  const loss = K.bceWithLogits(f32([100, -100, 100, -100]), f32([1, 0, 0, 1]), null, 4, dz);
  assert.ok(Number.isFinite(loss));
  assertNear(loss, 50, 1e-9, 1e-12);
  assert.ok(dz.every(Number.isFinite));
  assertClose(dz, [0, 0, 0.25, -0.25], 1e-30, 0);
  const l2 = K.bceWithLogits(f32([1e30, -1e30]), f32([0, 1]), null, 2, new Float32Array(2));
  assertNear(l2, 1e30, 0, 1e-6);
});

test('bceWithLogits: soft labels', () => {
  const dz = new Float32Array(1);
  // y = 0.5 at z = 0: softplus(0) − 0 = ln 2, gradient σ(0) − 0.5 = 0.
  assertNear(K.bceWithLogits(f32([0]), f32([0.5]), null, 1, dz), Math.LN2, 1e-12, 1e-12);
  assert.equal(dz[0], 0);
});

test('bceWithLogits: non-finite inputs and non-positive weight sums throw', () => {
  const dz = new Float32Array(3);
  assert.throws(() => K.bceWithLogits(f32([0, NaN, 1]), y, null, 3, dz), /bceWithLogits: logit z\[1\] = NaN is not finite/);
  assert.throws(() => K.bceWithLogits(z, f32([0, 1, Infinity]), null, 3, dz), /bceWithLogits: label y\[2\] = Infinity is not finite/);
  assert.throws(() => K.bceWithLogits(z, y, f32([1, 1, NaN]), 3, dz), /bceWithLogits: weight w\[2\] = NaN is not finite/);
  assert.throws(() => K.bceWithLogits(z, y, f32([0, 0, 0]), 3, dz), /bceWithLogits: sum of weights must be > 0, got 0/);
  assert.throws(() => K.bceWithLogits(z, y, f32([1, -2, 0.5]), 3, dz), /sum of weights must be > 0, got -0.5/);
  assert.throws(() => K.bceWithLogits(z, y, null, 0, dz), /sum of weights must be > 0/);
});
