import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CategoricalField, LogBucketField, encodeRows, fileOrderSplit, logBucket, logBucketValue, prepSha256, sliceBatch,
  writePrepText, type LabeledRow,
} from '../../src/data/prep/index.js';

describe('log buckets', () => {
  it('floor(ln(v)^2) above 2; 0, 1, 2, negatives and missing as they are', () => {
    assert.deepEqual(['', '-5', '-0', '0', '1', '2', '3', '+4', '007', '1382', '4301'].map(logBucket),
      ['', '-5', '0', '0', '1', '2', '1', '1', '3', '52', '70']);
    assert.equal(logBucketValue(Number.NaN), '');
    assert.equal(logBucketValue(1382), '52');
    assert.equal(logBucket('-99999999999999999999'), '-99999999999999999999');
    assert.throws(() => logBucket('1.5'), /expected an integer/);
  });
});

describe('file-order split', () => {
  it('integer division as in Python', () => {
    const s = fileOrderSplit(10000);
    assert.deepEqual([s.nFit, s.nTrain, s.n], [7200, 8000, 10000]);
    assert.deepEqual([s.validation, s.test], [{ start: 7200, end: 8000 }, { start: 8000, end: 10000 }]);
    const t = fileOrderSplit(99762);
    assert.deepEqual([t.nFit, t.nTrain], [71828, 79809]);
    assert.deepEqual(fileOrderSplit(7), { n: 7, nTrain: 5, nFit: 4, fit: { start: 0, end: 4 },
      validation: { start: 4, end: 5 }, test: { start: 5, end: 7 } });
  });
});

describe('vocabulary', () => {
  it('min count on fit rows, first-appearance numbering, OOV 0', () => {
    const f = new CategoricalField('c', 2);
    const codes = Int32Array.from(['b', 'a', 'b', 'c', 'a', 'd', 'd', 'c', 'c'].map((t) => f.intern(t)));
    f.fitColumn(codes, 1, 0, 6); // fit rows: b a b c a d -> b:2, a:2, c:1, d:1
    assert.deepEqual(f.vocabulary(), ['b', 'a']);
    assert.equal(f.size, 3);
    assert.deepEqual(Array.from(codes, (c) => f.localId(c)), [1, 2, 1, 0, 2, 0, 0, 0, 0]);
    assert.equal(f.lookup('a'), 2);
    assert.equal(f.lookup('never'), 0);
    assert.throws(() => f.intern('new'), /intern\(\) after fit\(\)/);
  });

  it('log-bucket field: numbers and strings give the same tokens', () => {
    const f = new LogBucketField('I1');
    assert.equal(f.intern(5), f.intern('5'));
    assert.equal(f.intern(Number.NaN), f.intern(''));
    assert.equal(f.intern(4), f.intern(3)); // floor(ln(3)^2) = floor(ln(4)^2) = 1
    assert.notEqual(f.intern(6), f.intern(5));
  });
});

describe('encodeRows', () => {
  it('global offsets, ids [n, F], labels, hash text', async () => {
    const data: [number, string, number][] = [
      [1, 'x', 10], [0, 'y', 10], [0, 'x', 1], [1, 'y', 1], [0, 'z', 3], [1, 'z', 10], [0, 'x', 1], [0, 'q', 1],
      [0, 'x', 1], [1, 'z', 10],
    ];
    const rows: LabeledRow[] = data.map(([label, a, b]) => ({ label, values: [a, b] }));
    const ds = await encodeRows([{ name: 'a' }, { name: 'b', transform: 'log-bucket' }], rows);
    // n=10: nTrain 8, nFit 7. Fit rows a: x y x y z z x -> x:1, y:2, z:3 ("q" only later: OOV);
    // b buckets 10 -> "5", 1 -> "1", 3 -> "1": "5":1, "1":2.
    assert.deepEqual(Array.from(ds.fieldSizes), [4, 3]);
    assert.deepEqual(Array.from(ds.fieldOffsets), [0, 4]);
    assert.equal(ds.numIds, 7);
    assert.deepEqual(Array.from(ds.ids), [1, 5, 2, 5, 1, 6, 2, 6, 3, 6, 3, 5, 1, 6, 0, 6, 1, 6, 3, 5]);
    assert.deepEqual(Array.from(ds.labels), data.map((d) => d[0]));
    let text = '';
    writePrepText(ds, (t) => { text += t; }, 8);
    assert.equal(text.split('\n')[0], '1 1 5');
    assert.equal(text.split('\n').length, 11);
    assert.match(prepSha256(ds), /^[0-9a-f]{64}$/);
    const b = sliceBatch(ds, ds.split.test.start, ds.split.test.end);
    assert.deepEqual([b.size, b.numFields, Array.from(b.ids)], [2, 2, [1, 6, 3, 5]]);
  });
});
