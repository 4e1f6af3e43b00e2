import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceKernels as K } from '../../src/backend/reference/index.js';
import { f32 } from '../helpers/close.js';

const x12 = f32([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

test('reduceSum over the middle axis, with scale; and over everything', () => {
  const out = new Float32Array(4);
  K.reduceSum(x12, 2, 3, 2, out, 0.5); // [[9,12],[27,30]] · 0.5
  assert.deepEqual(Array.from(out), [4.5, 6, 13.5, 15]);
  const all = new Float32Array(1);
  K.reduceSum(x12, 1, 12, 1, all, 1);
  assert.equal(all[0], 78);
  const mean = new Float32Array(3);
  K.reduceSum(x12, 3, 4, 1, mean, 0.25); // row means of a [3,4] matrix
  assert.deepEqual(Array.from(mean), [2.5, 6.5, 10.5]);
});

test('reduceSum: float64 accumulation keeps small terms next to a large one', () => {
  const x = new Float32Array(1 + 1000).fill(1);
  x[0] = 2 ** 24; // float32 accumulation would stop at 2^24 (x + 1 rounds back down)
  const out = new Float32Array(1);
  K.reduceSum(x, 1, x.length, 1, out, 1);
  assert.equal(out[0], 2 ** 24 + 1000);
});

test('reduceSumBackward broadcasts and accumulates', () => {
  const dx = new Float32Array(12).fill(1);
  K.reduceSumBackward(f32([1, 2, 3, 4]), 2, 3, 2, dx, 2);
  assert.deepEqual(Array.from(dx), [3, 5, 3, 5, 3, 5, 7, 9, 7, 9, 7, 9]);
});

test('copy2d: copy a sub-block, then accumulate it; bounds are checked', () => {
  const src = Float32Array.from({ length: 12 }, (_, i) => i); // [3,4]
  const dst = new Float32Array(6); // [2,3]
  K.copy2d(src, 5, 4, dst, 1, 3, 2, 2, false); // src rows 1..2, cols 1..2 → dst cols 1..2
  assert.deepEqual(Array.from(dst), [0, 5, 6, 0, 9, 10]);
  K.copy2d(src, 5, 4, dst, 1, 3, 2, 2, true);
  assert.deepEqual(Array.from(dst), [0, 10, 12, 0, 18, 20]);
  assert.throws(() => K.copy2d(src, 9, 4, dst, 0, 3, 2, 2, false), /copy2d: src block .* ends at 15 > src length 12/);
  assert.throws(() => K.copy2d(src, 0, 4, dst, 2, 3, 2, 2, false), /copy2d: dst block .* ends at 7 > dst length 6/);
  K.copy2d(src, 100, 4, dst, 100, 3, 0, 2, false); // empty copy never reads
});

test('dot in float64, with length checks', () => {
  assert.equal(K.dot(f32([1, 2, 3, -4, 100]), f32([2, -1, 0.5, 1, 7]), 4), 2 - 2 + 1.5 - 4);
  const t = Math.fround(0.1);
  assert.equal(K.dot(f32([0.1]), f32([0.1]), 1), t * t); // not rounded to float32
  assert.equal(K.dot(new Float32Array(0), new Float32Array(0), 0), 0);
  assert.throws(() => K.dot(f32([1, 2]), f32([1]), 2), /dot: y/);
});

test('gram accumulates every pairwise dot product into a symmetric m × m matrix per run', () => {
  const xs = [f32([1, 2, 3, 9, 1]), f32([-1, 0.5, 2, 9, 1]), f32([0, 4, -1, 9, 1])];
  const d = (a: number, b: number, s: number, len: number): number => K.dot(xs[a]!.subarray(s), xs[b]!.subarray(s), len);
  const whole = new Float64Array(9).fill(1);
  K.gram(xs, 3, 3, whole);
  for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) assert.equal(whole[a * 3 + b], 1 + d(a, b, 0, 3), `[${a}, ${b}]`);
  const runs = new Float64Array(3 * 9);
  K.gram(xs, 5, 2, runs); // runs [0, 2), [2, 4), [4, 5)
  for (let r = 0; r < 3; r++) {
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) assert.equal(runs[r * 9 + a * 3 + b], d(a, b, r * 2, Math.min(2, 5 - r * 2)), `run ${r} [${a}, ${b}]`);
  }
  K.gram([], 5, 1, new Float64Array(0));
  assert.throws(() => K.gram([f32([1, 2]), f32([1])], 2, 2, new Float64Array(4)), /gram: xs\[1\]/);
  assert.throws(() => K.gram(xs, 3, 3, new Float64Array(8)), /gram: out has 8 elements, needs 9/);
  assert.throws(() => K.gram(xs, 3, 0, new Float64Array(9)), /gram: run must be at least 1/);
});

test('combineRuns writes each run\'s combination over the first vector, in float64', () => {
  const x0 = f32([1, 2, 3, 4, 5]), x1 = f32([10, 20, 30, 40, 50]), x2 = f32([0.5, 0, 0, 0, 0]);
  K.combineRuns([x0, x1, x2], 4, 2, Float64Array.from([1, 1, 2, -1, 0, 0.5]));
  // runs [0, 2) with (1, 1, 2) and [2, 4) with (-1, 0, 0.5); element 4 untouched
  assert.deepEqual(Array.from(x0), [12, 22, -3, -4, 5]);
  const t = f32([0.1]);
  K.combineRuns([t, f32([0.2])], 1, 1, Float64Array.from([1 / 3, 1 / 3]));
  assert.equal(t[0], Math.fround((1 / 3) * Math.fround(0.1) + (1 / 3) * Math.fround(0.2))); // rounded once
  assert.throws(() => K.combineRuns([x0, x1], 4, 2, new Float64Array(3)), /combineRuns: coef has 3 elements, needs 4/);
});

test('sumSquares in float64', () => {
  assert.equal(K.sumSquares(f32([1, 2, 3, -4, 100]), 4), 30);
  const t = Math.fround(0.1);
  assert.equal(K.sumSquares(f32([0.1]), 1), t * t); // not rounded to float32
  assert.equal(K.sumSquares(new Float32Array(0), 0), 0);
});
