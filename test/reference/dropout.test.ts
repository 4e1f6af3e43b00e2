import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceKernels as K } from '../../src/backend/reference/index.js';
import { dropoutUniform } from '../../src/backend/kernels.js';
import { f32 } from '../helpers/close.js';

test('dropout: keep iff uniform(seed, i) >= p, mask = 1/(1−p) or 0, out = x ⊙ mask', () => {
  const n = 2000, p = 0.3, seed = 42;
  const x = Float32Array.from({ length: n }, (_, i) => i - 1000);
  const mask = new Float32Array(n), out = new Float32Array(n);
  K.dropout(x, n, p, seed, mask, out);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const keep = dropoutUniform(seed, i) >= p;
    assert.equal(mask[i], keep ? Math.fround(1 / 0.7) : 0, `mask[${i}]`);
    assert.equal(out[i], Math.fround(x[i] * mask[i]), `out[${i}]`);
    if (keep) kept++;
  }
  assert.ok(kept > 0.65 * n && kept < 0.75 * n, `kept ${kept} of ${n}`);
  const mask2 = new Float32Array(n);
  K.dropout(x, n, p, seed + 1, mask2, new Float32Array(n));
  assert.notDeepEqual(Array.from(mask2), Array.from(mask));
});

test('dropout: p = 0 keeps everything, p = 1 drops everything without NaN', () => {
  const x = f32([1, -2, 3, Infinity]);
  const mask = new Float32Array(4), out = new Float32Array(4);
  K.dropout(x, 4, 0, 7, mask, out);
  assert.deepEqual(Array.from(mask), [1, 1, 1, 1]);
  assert.deepEqual(Array.from(out), [1, -2, 3, Infinity]);
  K.dropout(x.subarray(0, 3), 3, 1, 7, mask, out);
  assert.deepEqual(Array.from(mask.subarray(0, 3)), [0, 0, 0]);
  assert.deepEqual(Array.from(out.subarray(0, 3)), [0, -0, 0]);
  assert.throws(() => K.dropout(x, 4, 1.5, 7, mask, out), /dropout: p must be in \[0, 1\], got 1.5/);
});
