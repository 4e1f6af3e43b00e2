/**
 * embeddingBackward on a 50M-row table: only the ids exist (no table is allocated), and the
 * backward must neither allocate nor touch anything proportional to numRows, and be fast.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native, randF32, randI32, rng, skip } from './setup.js';

test('embeddingBackward with numRows = 50,000,000 is correct and never touches table-sized memory', { skip }, (t) => {
  const K = native();
  const numRows = 50_000_000, dim = 1, n = 39 * 4096;  // one LR batch: 4096 samples × 39 fields
  const r = rng(11);
  const ids = randI32(r, n, numRows);
  for (let k = 0; k < 1000; k++) ids[k] = numRows - 1 - (k % 7);  // hot rows near the top of the range
  const dOut = randF32(r, n);
  const uniq = new Int32Array(n), grads = new Float32Array(n);
  const U = K.embeddingBackward(ids, n, dOut, dim, numRows, null, null, false, uniq, grads);

  // Check against a Map-based oracle: ascending unique ids, sums in position order.
  const sums = new Map<number, number>();
  for (let p = 0; p < n; p++) sums.set(ids[p], Math.fround((sums.get(ids[p]) ?? 0) + dOut[p]));
  assert.equal(U, sums.size);
  const keys = [...sums.keys()].sort((a, b) => a - b);
  for (let u = 0; u < U; u++) {
    assert.equal(uniq[u], keys[u]);
    assert.equal(grads[u], sums.get(keys[u]), `row ${keys[u]}`);
  }

  // Structural check instead of a timing one: with 2^31 − 1 rows, any work or allocation
  // proportional to numRows (8 GiB of counters) would fail; the answer must not change.
  const huge = 2147483647;
  const ids2 = Int32Array.from(ids, (v, i) => (i % 2 ? huge - 1 - v : v));
  const uniq2 = new Int32Array(n), grads2 = new Float32Array(n);
  const U2 = K.embeddingBackward(ids2, n, dOut, dim, huge, null, null, false, uniq2, grads2);
  const sums2 = new Map<number, number>();
  for (let i = 0; i < n; i++) sums2.set(ids2[i]!, (sums2.get(ids2[i]!) ?? 0) + dOut[i]!);
  assert.equal(U2, sums2.size);
  for (let u = 1; u < U2; u++) assert.ok(uniq2[u - 1]! < uniq2[u]!, 'ascending');
  let maxId = -1;
  for (const id of sums2.keys()) maxId = Math.max(maxId, id);
  assert.equal(uniq2[U2 - 1], maxId);
});
