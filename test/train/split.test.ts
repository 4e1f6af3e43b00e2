import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Dataset } from '../../src/data/dataset.js';
import { ShuffledBatches } from '../../src/data/batching.js';
import { Rng } from '../../src/tensor/random.js';
import { LR } from '../../src/models/lr.js';
import { predictLogits } from '../../src/train/epoch.js';
import { IndexedBatches, predictRows, validationSplit } from '../../src/train/split.js';

function dataset(n: number): Dataset {
  const ids = Int32Array.from({ length: n * 2 }, (_, i) => (i % 2) * 5 + ((i * 7) % 5));
  return {
    numRows: n, numFields: 2, fieldNames: ['a', 'b'], ids, fieldSizes: Int32Array.of(5, 5), fieldOffsets: Int32Array.of(0, 5),
    numIds: 10, labels: [Float32Array.from({ length: n }, (_, r) => r % 2)], labelNames: ['y'],
  };
}

describe('validation split', () => {
  it('ordered holds out the last rows in file order', () => {
    const s = validationSplit(10, { fraction: 0.3, mode: 'ordered' });
    assert.deepEqual([...s.train], [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual([...s.validation], [7, 8, 9]);
  });

  it('random is a seeded partition, sorted, and differs by seed', () => {
    const a = validationSplit(100, { fraction: 0.2, mode: 'random', seed: 1 });
    const b = validationSplit(100, { fraction: 0.2, mode: 'random', seed: 1 });
    const c = validationSplit(100, { fraction: 0.2, mode: 'random', seed: 2 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.validation, c.validation);
    assert.equal(a.validation.length, 20);
    assert.deepEqual([...a.train, ...a.validation].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
    assert.deepEqual([...a.validation], [...a.validation].sort((x, y) => x - y));
    assert.throws(() => validationSplit(10, { fraction: 1, mode: 'random' }), /fraction/);
  });

  it('IndexedBatches over a contiguous range batches exactly like ShuffledBatches, and skips', () => {
    const ds = dataset(37);
    const rows = Int32Array.from({ length: 30 }, (_, i) => i + 5);
    const collect = (it: Iterable<{ ids: Int32Array }>): number[][] => [...it].map((b) => [...b.ids]);
    const x = collect(new IndexedBatches(ds, rows, 8).epoch(new Rng(3)));
    const y = collect(new ShuffledBatches(ds, { start: 5, end: 35 }, 8).epoch(new Rng(3)));
    assert.deepEqual(x, y);
    assert.equal(x.length, 4);
    assert.deepEqual(collect(new IndexedBatches(ds, rows, 8).epoch(new Rng(3), 2)), x.slice(2));
  });

  it('predictRows equals predictLogits on the same rows', () => {
    const ds = dataset(20);
    const model = new LR({ numIds: 10, initStd: 0.5, seed: 2 });
    const rows = Int32Array.from({ length: 8 }, (_, i) => i + 10);
    const src = { ids: ds.ids, labels: ds.labels[0]!, numFields: 2 };
    assert.deepEqual(predictRows(model, ds, rows, 3), predictLogits(model, src, 10, 18));
  });
});
