import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceKernels as K } from '../../src/backend/reference/index.js';
import { sortedPositions } from '../../src/backend/reference/embedding.js';
import { assertClose, f32, i32 } from '../helpers/close.js';

const table = f32([0, 1, 10, 11, 20, 21, 30, 31]); // 4 rows × 2

test('embeddingLookup gathers rows', () => {
  const out = new Float32Array(6);
  K.embeddingLookup(table, 4, 2, i32([2, 0, 2]), 3, out);
  assert.deepEqual(Array.from(out), [20, 21, 0, 1, 20, 21]);
});

test('embeddingLookup: out-of-range ids name the id and position', () => {
  const big = new Float32Array(1000);
  const ids = i32([1, 2, 3, 4, 5, 6, 7, 123456]);
  assert.throws(() => K.embeddingLookup(big, 1000, 1, ids, 8, new Float32Array(8)),
    { message: 'embeddingLookup: id 123456 at position 7 is outside [0, 1000)' });
  assert.throws(() => K.embeddingLookup(big, 1000, 1, i32([-1]), 1, new Float32Array(1)),
    { message: 'embeddingLookup: id -1 at position 0 is outside [0, 1000)' });
  assert.throws(() => K.embeddingLookup(big, 1000, 1, i32([1000]), 1, new Float32Array(1)), /id 1000 at position 0/);
});

const bagIds = i32([1, 3, 0, 2, 2]);
const bagOffs = i32([0, 2, 2, 5]); // bags {1,3}, {}, {0,2,2}

test('embeddingBag: sum, mean (empty bag → 0) and per-id weights', () => {
  const out = f32([9, 9, 9, 9, 9, 9]);
  K.embeddingBag(table, 4, 2, bagIds, bagOffs, null, false, out);
  assert.deepEqual(Array.from(out), [40, 42, 0, 0, 40, 43]);
  K.embeddingBag(table, 4, 2, bagIds, bagOffs, null, true, out);
  assertClose(out, [20, 21, 0, 0, 40 / 3, 43 / 3]);
  K.embeddingBag(table, 4, 2, bagIds, bagOffs, f32([1, 0.5, 2, 1, -1]), false, out);
  assert.deepEqual(Array.from(out), [25, 26.5, 0, 0, 0, 2]);
  assert.throws(() => K.embeddingBag(table, 4, 2, i32([1, 4]), i32([0, 2]), null, false, new Float32Array(2)),
    { message: 'embeddingBag: id 4 at position 1 is outside [0, 4)' });
  assert.throws(() => K.embeddingBag(table, 4, 2, bagIds, i32([0, 2, 4]), null, false, out),
    /embeddingBag: offsets\[2\] must equal the number of ids 5, got 4/);
});

test('embeddingBackward (lookup): unique ids ascending, gradients summed', () => {
  const uniq = new Int32Array(4), grads = f32([9, 9, 9, 9, 9, 9, 9, 9]);
  const U = K.embeddingBackward(i32([3, 1, 3, 0]), 4, f32([1, 2, 3, 4, 5, 6, 7, 8]), 2, 4, null, null, false, uniq, grads);
  assert.equal(U, 3);
  assert.deepEqual(Array.from(uniq.subarray(0, U)), [0, 1, 3]);
  assert.deepEqual(Array.from(grads.subarray(0, U * 2)), [7, 8, 3, 4, 6, 8]);
});

test('embeddingBackward (bag): mean and weighted sum', () => {
  const uniq = new Int32Array(5), grads = new Float32Array(10);
  const dOut = f32([2, 4, 100, 100, 3, 6]);
  let U = K.embeddingBackward(bagIds, 5, dOut, 2, 4, bagOffs, null, true, uniq, grads);
  assert.equal(U, 4);
  assert.deepEqual(Array.from(uniq.subarray(0, U)), [0, 1, 2, 3]);
  // bag 0 (size 2): ids 1, 3 get dOut/2 = [1,2]; bag 2 (size 3): id 0 gets [1,2], id 2 twice → [2,4].
  assertClose(grads.subarray(0, 8), [1, 2, 1, 2, 2, 4, 1, 2]);
  U = K.embeddingBackward(bagIds, 5, dOut, 2, 4, bagOffs, f32([1, 0.5, 2, 1, -1]), false, uniq, grads);
  assert.equal(U, 4);
  assert.deepEqual(Array.from(grads.subarray(0, 8)), [6, 12, 2, 4, 0, 0, 1, 2]);
});

test('embeddingBackward: huge numRows needs no table-sized memory; ids validated; capacity checked', () => {
  const numRows = 50_000_000;
  const uniq = new Int32Array(3), grads = new Float32Array(3);
  const U = K.embeddingBackward(i32([49_999_999, 7, 49_999_999]), 3, f32([1, 2, 4]), 1, numRows, null, null, false, uniq, grads);
  assert.equal(U, 2);
  assert.deepEqual(Array.from(uniq.subarray(0, 2)), [7, 49_999_999]);
  assert.deepEqual(Array.from(grads.subarray(0, 2)), [2, 5]);
  assert.throws(() => K.embeddingBackward(i32([0, 5]), 2, f32([1, 1]), 1, 5, null, null, false, uniq, grads),
    { message: 'embeddingBackward: id 5 at position 1 is outside [0, 5)' });
  assert.throws(() => K.embeddingBackward(i32([0, 1, 2]), 3, f32([1, 1, 1]), 1, 5, null, null, false, new Int32Array(2), grads),
    /embeddingBackward: uniqueRows has 2 elements, needs 3/);
});

test('embeddingBackward: summation runs in position order and many duplicates collapse', () => {
  const n = 10000;
  const ids = Int32Array.from({ length: n }, (_, i) => (i * 7919) % 13);
  const dOut = Float32Array.from({ length: n }, (_, i) => i);
  const uniq = new Int32Array(n), grads = new Float32Array(n);
  const U = K.embeddingBackward(ids, n, dOut, 1, 13, null, null, false, uniq, grads);
  assert.equal(U, 13);
  const want = new Array<number>(13).fill(0);
  for (let i = 0; i < n; i++) want[ids[i]] += i;
  assert.deepEqual(Array.from(uniq.subarray(0, U)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.deepEqual(Array.from(grads.subarray(0, U)), want.map(Math.fround));
});

test('embeddingBackward ordering: packed-key sort and comparator fallback agree on (id, position) order', () => {
  const ids = i32([5, 2, 5, 0, 2, 2, 9, 0]);
  const want = [3, 7, 1, 4, 5, 0, 2, 6]; // id 0 at 3,7; id 2 at 1,4,5; id 5 at 0,2; id 9 at 6
  assert.deepEqual(Array.from(sortedPositions(ids, 8, 10, true)), want);
  assert.deepEqual(Array.from(sortedPositions(ids, 8, 10, false)), want);
  const n = 5000;
  const big = Int32Array.from({ length: n }, (_, i) => ((i * 2654435761) >>> 0) % 2_000_000_000);
  assert.deepEqual(Array.from(sortedPositions(big, n, 2 ** 31 - 1, true)), Array.from(sortedPositions(big, n, 2 ** 31 - 1, false)));
});
