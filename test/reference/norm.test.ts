import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceKernels as K } from '../../src/backend/reference/index.js';
import { assertClose, f32 } from '../helpers/close.js';
import { assertGradcheck, toF64 } from '../helpers/gradcheck.js';

test('layerNorm: hand values (eps = 0)', () => {
  // Row 0 [1,3]: μ=2, σ²=1. Row 1 [−2,4]: μ=1, σ²=9 → x̂ = [−1, 1] in both rows.
  const out = new Float32Array(4), mean = new Float32Array(2), rstd = new Float32Array(2);
  K.layerNorm(f32([1, 3, -2, 4]), 2, 2, f32([2, 1]), f32([0.5, -1]), 0, out, mean, rstd);
  assertClose(out, [-1.5, 0, -1.5, 0]);
  assertClose(mean, [2, 1]);
  assertClose(rstd, [1, 1 / 3]);
});

test('layerNorm: eps enters under the square root', () => {
  const out = new Float32Array(3), mean = new Float32Array(1), rstd = new Float32Array(1);
  K.layerNorm(f32([1, 2, 3]), 1, 3, f32([1, 1, 1]), f32([0, 0, 0]), 0.1, out, mean, rstd);
  const rs = 1 / Math.sqrt(2 / 3 + 0.1);
  assertClose(rstd, [rs]);
  assertClose(out, [-rs, 0, rs]);
  // A constant row normalises to beta (no NaN) with eps > 0.
  K.layerNorm(f32([5, 5, 5]), 1, 3, f32([1, 1, 1]), f32([7, 8, 9]), 1e-5, out, mean, rstd);
  assertClose(out, [7, 8, 9]);
});

test('layerNormBackward: dgamma/dbeta by hand and dx by finite differences', () => {
  const x = f32([1, 3, -2, 4]);
  const out = new Float32Array(4), mean = new Float32Array(2), rstd = new Float32Array(2);
  K.layerNorm(x, 2, 2, f32([2, 1]), f32([0.5, -1]), 0, out, mean, rstd);
  const dg = f32([1, 1]), dbt = new Float32Array(2);
  K.layerNormBackward(x, f32([1, 1, 1, 1]), 2, 2, f32([2, 1]), mean, rstd, null, dg, dbt);
  assert.deepEqual(Array.from(dbt), [2, 2]);
  assert.deepEqual(Array.from(dg), [-1, 3]); // 1 + Σ x̂ = 1 + [−2, 2]

  const rows = 3, d = 4, eps = 1e-3;
  const xs = f32([0.3, -1.2, 0.8, 2.0, -0.5, 0.1, 0.4, -0.9, 1.5, 1.1, -0.2, 0.7]);
  const g = f32([1.2, -0.7, 0.5, 2]), b = f32([0.1, 0.2, -0.3, 0]);
  const r = f32([0.5, -1, 0.3, 0.8, -0.2, 0.4, 1, -0.6, 0.9, 0.1, -0.5, 0.2]);
  const o = new Float32Array(12), m = new Float32Array(rows), rs = new Float32Array(rows);
  K.layerNorm(xs, rows, d, g, b, eps, o, m, rs);
  const dx = new Float32Array(12), dgam = new Float32Array(d), dbet = new Float32Array(d);
  K.layerNormBackward(xs, r, rows, d, g, m, rs, dx, dgam, dbet);
  const f = ([xx, gg, bb]: Float64Array[]): number => {
    let L = 0;
    for (let i = 0; i < rows; i++) {
      let mu = 0;
      for (let c = 0; c < d; c++) mu += xx[i * d + c] / d;
      let v = 0;
      for (let c = 0; c < d; c++) v += (xx[i * d + c] - mu) ** 2 / d;
      for (let c = 0; c < d; c++) L += r[i * d + c] * ((xx[i * d + c] - mu) / Math.sqrt(v + eps) * gg[c] + bb[c]);
    }
    return L;
  };
  assertGradcheck(f, [toF64(xs), toF64(g), toF64(b)], [dx, dgam, dbet], { atol: 1e-5, rtol: 1e-4 }, 'layerNorm');
});

test('batchNormTrain: batch statistics, output and running stats (PyTorch momentum)', () => {
  // Column 0 [1,3,5]: μ=3, biased σ²=8/3, unbiased 4. Column 1 [10,10,16]: μ=12, biased 8, unbiased 12.
  const x = f32([1, 10, 3, 10, 5, 16]);
  const out = new Float32Array(6), mean = new Float32Array(2), rstd = new Float32Array(2);
  const rm = f32([0, 0]), rv = f32([1, 1]);
  K.batchNormTrain(x, 3, 2, f32([1, 2]), f32([0, 1]), 0, 0.1, rm, rv, out, mean, rstd);
  assertClose(mean, [3, 12]);
  assertClose(rstd, [0.61237243570, 0.35355339059]);
  assertClose(out, [-1.2247448714, -0.41421356237, 0, -0.41421356237, 1.2247448714, 3.82842712475]);
  assertClose(rm, [0.3, 1.2]); // 0.9·0 + 0.1·μ
  assertClose(rv, [1.3, 2.1]); // 0.9·1 + 0.1·unbiased
  assert.throws(() => K.batchNormTrain(f32([1, 2]), 1, 2, f32([1, 1]), f32([0, 0]), 1e-5, 0.1, rm, rv,
    new Float32Array(2), mean, rstd), /batchNormTrain: training needs more than 1 row per column, got rows=1/);
});

test('batchNormBackward: dgamma/dbeta by hand and dx by finite differences', () => {
  const x = f32([1, 10, 3, 10, 5, 16]);
  const gamma = f32([1, 2]);
  const out = new Float32Array(6), mean = new Float32Array(2), rstd = new Float32Array(2);
  K.batchNormTrain(x, 3, 2, gamma, f32([0, 1]), 0, 0.1, f32([0, 0]), f32([1, 1]), out, mean, rstd);
  const dg = new Float32Array(2), db = new Float32Array(2);
  K.batchNormBackward(x, f32([1, 0, 0, 0, 0, 1]), 3, 2, gamma, mean, rstd, null, dg, db);
  assertClose(db, [1, 1]);
  assertClose(dg, [-1.2247448714, 1.41421356237]); // x̂[0,0], x̂[2,1]

  const rows = 4, d = 3, eps = 1e-3;
  const xs = f32([0.3, -1.2, 0.8, 2.0, -0.5, 0.1, 0.4, -0.9, 1.5, 1.1, -0.2, 0.7]);
  const g = f32([1.2, -0.7, 0.5]), b = f32([0.1, 0.2, -0.3]);
  const r = f32([0.5, -1, 0.3, 0.8, -0.2, 0.4, 1, -0.6, 0.9, 0.1, -0.5, 0.2]);
  const o = new Float32Array(12), m = new Float32Array(d), rs = new Float32Array(d);
  K.batchNormTrain(xs, rows, d, g, b, eps, 0.1, new Float32Array(d), new Float32Array(d), o, m, rs);
  const dx = new Float32Array(12), dgam = new Float32Array(d), dbet = new Float32Array(d);
  K.batchNormBackward(xs, r, rows, d, g, m, rs, dx, dgam, dbet);
  const f = ([xx, gg, bb]: Float64Array[]): number => {
    let L = 0;
    for (let c = 0; c < d; c++) {
      let mu = 0;
      for (let i = 0; i < rows; i++) mu += xx[i * d + c] / rows;
      let v = 0;
      for (let i = 0; i < rows; i++) v += (xx[i * d + c] - mu) ** 2 / rows;
      for (let i = 0; i < rows; i++) L += r[i * d + c] * ((xx[i * d + c] - mu) / Math.sqrt(v + eps) * gg[c] + bb[c]);
    }
    return L;
  };
  assertGradcheck(f, [toF64(xs), toF64(g), toF64(b)], [dx, dgam, dbet], { atol: 1e-5, rtol: 1e-4 }, 'batchNorm');
});
