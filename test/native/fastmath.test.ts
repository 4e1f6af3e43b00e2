/**
 * The native exp / sigmoid / tanh are vectorised polynomial approximations (native/fastmath.h):
 * check them against float64 Math over a dense sweep and the special values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native, skip } from './setup.js';

const FLT_MIN = 1.1754943508222875e-38;

function sweep(lo: number, hi: number, n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}

/** Max error in units of float32 spacing at the true value (|truth| ≥ FLT_MIN), else absolute. */
function check(op: 'exp' | 'sigmoid' | 'tanh', x: Float32Array, truth: (v: number) => number, maxUlp: number): void {
  const out = new Float32Array(x.length);
  native().unary(op, x, out, x.length, 0);
  for (let i = 0; i < x.length; i++) {
    const t = truth(x[i]), got = out[i];
    if (Number.isNaN(t)) { assert.ok(Number.isNaN(got), `${op}(${x[i]}) = ${got}, expected NaN`); continue; }
    if (!Number.isFinite(t) || Math.fround(t) === Infinity) { assert.equal(got, Math.fround(t), `${op}(${x[i]})`); continue; }
    const at = Math.abs(t);
    if (at < FLT_MIN) { assert.ok(Math.abs(got - t) <= FLT_MIN, `${op}(${x[i]}) = ${got}, expected ${t}`); continue; }
    const ulp = 2 ** (Math.floor(Math.log2(at)) - 23);
    assert.ok(Math.abs(got - t) <= maxUlp * ulp, `${op}(${x[i]}) = ${got}, expected ${t} (${(Math.abs(got - t) / ulp).toFixed(2)} ulp)`);
  }
}

const specials = Float32Array.from([0, -0, 1e-30, -1e-30, 1e-8, -1e-8, 0.625, -0.625, 88.7, 88.72, 89, -87.3, -87.4, -104,
  1e30, -1e30, Infinity, -Infinity, NaN]);

test('exp: ≤ 2 ulp on [-87, 88.7], exact overflow / underflow / NaN handling', { skip }, () => {
  check('exp', sweep(-87, 88.7, 200001), Math.exp, 2);
  check('exp', sweep(-1e-3, 1e-3, 20001), Math.exp, 2);
  check('exp', specials, Math.exp, 2);
});

test('sigmoid: ≤ 3 ulp everywhere', { skip }, () => {
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  check('sigmoid', sweep(-90, 90, 200001), sig, 3);
  check('sigmoid', specials, sig, 3);
});

test('tanh: ≤ 3 ulp everywhere, including tiny |x|', { skip }, () => {
  check('tanh', sweep(-12, 12, 200001), Math.tanh, 3);
  check('tanh', sweep(-1e-3, 1e-3, 20001), Math.tanh, 3);
  check('tanh', specials, Math.tanh, 3);
});
