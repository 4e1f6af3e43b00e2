import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  BlockShuffledBatches, FileOrderBatches, GroupBatches, RowGatherer, datasetBlocks, wholeBatch, type BatchSource,
} from '../../src/data/batching.js';
import type { Dataset } from '../../src/data/dataset.js';
import { CacheBlockReader, writeCache } from '../../src/data/cache/index.js';
import { Rng } from '../../src/util/random.js';
import { tempDir } from '../helpers/tmpDir.js';

/** Row r has id r (field 0) and label r, so a batch says exactly which rows it holds. */
function rowsDataset(n: number, groupSizes?: number[]): Dataset {
  const ds: Dataset = {
    numRows: n, numFields: 1, fieldNames: ['row'], ids: Int32Array.from({ length: n }, (_, i) => i),
    fieldSizes: Int32Array.from([n]), fieldOffsets: Int32Array.from([0]), numIds: n,
    labels: [Float32Array.from({ length: n }, (_, i) => i)], labelNames: ['row'],
    sequences: [{ name: 's', offsets: Int32Array.from({ length: n + 1 }, (_, i) => i), ids: Int32Array.from({ length: n }, (_, i) => i) }],
  };
  if (groupSizes) {
    const g = [0];
    for (const s of groupSizes) g.push(g[g.length - 1]! + s);
    ds.groupOffsets = Int32Array.from(g);
  }
  return ds;
}

function epochRows(src: BatchSource, seed: number, skip = 0): number[][] {
  // A yielded batch is valid only until the next one: copy while iterating.
  const out: number[][] = [];
  for (const b of src.epoch(new Rng(seed), skip)) out.push(Array.from(b.ids));
  return out;
}

describe('GroupBatches', () => {
  it('never splits a group, packs whole groups up to the batch size, and covers every row once (property)', () => {
    const rng = new Rng(5);
    for (let trial = 0; trial < 60; trial++) {
      const sizes = Array.from({ length: 1 + rng.int(40) }, () => 1 + rng.int(rng.int(4) === 0 ? 30 : 8));
      const n = sizes.reduce((a, b) => a + b, 0);
      const ds = rowsDataset(n, sizes);
      const B = 1 + rng.int(20);
      const groupOf = new Int32Array(n);
      for (let g = 0; g + 1 < ds.groupOffsets!.length; g++) for (let r = ds.groupOffsets![g]!; r < ds.groupOffsets![g + 1]!; r++) groupOf[r] = g;
      const src = new GroupBatches(ds, { start: 0, end: n }, B);
      const seen = new Int32Array(n);
      for (const b of src.epoch(new Rng(trial))) {
        const go = b.groupOffsets!;
        assert.equal(go[0], 0);
        assert.equal(go[go.length - 1], b.size);
        assert.ok(b.size <= B || go.length === 2, 'only a lone oversized group exceeds the batch size');
        for (let q = 0; q + 1 < go.length; q++) {
          const rows = Array.from(b.ids.subarray(go[q]!, go[q + 1]!));
          const g = groupOf[rows[0]!]!;
          assert.deepEqual(rows, Array.from({ length: sizes[g]! }, (_, k) => ds.groupOffsets![g]! + k), 'a whole group, in file order');
        }
        for (const r of b.ids) seen[r]!++;
        assert.deepEqual(Array.from(b.labels), Array.from(b.ids).map((r) => r));
        assert.deepEqual(Array.from(b.sequences![0]!.ids), Array.from(b.ids));
      }
      assert.ok(seen.every((c) => c === 1));
      // skip resumes the same epoch.
      assert.deepEqual(epochRows(src, trial, 1), epochRows(src, trial).slice(1));
    }
  });

  it('shuffles groups per epoch; shuffle: false keeps file order; ranges must fall on group boundaries', () => {
    const ds = rowsDataset(12, [3, 3, 3, 3]);
    const src = new GroupBatches(ds, { start: 0, end: 12 }, 6);
    assert.notDeepEqual(epochRows(src, 1).flat(), epochRows(src, 2).flat());
    const fo = new GroupBatches(ds, { start: 3, end: 12 }, 6, { shuffle: false });
    assert.deepEqual(epochRows(fo, 1), [[3, 4, 5, 6, 7, 8], [9, 10, 11]]);
    assert.throws(() => new GroupBatches(ds, { start: 0, end: 4 }, 6), /inside a group/);
  });
});

describe('FileOrderBatches', () => {
  it('yields rows in file order, the last batch partial, and skips batches', () => {
    const ds = rowsDataset(10);
    const src = new FileOrderBatches(ds, { start: 1, end: 10 }, 4);
    assert.deepEqual(epochRows(src, 1), [[1, 2, 3, 4], [5, 6, 7, 8], [9]]);
    assert.deepEqual(epochRows(src, 2, 1), [[5, 6, 7, 8], [9]]);
    const b = src.epoch(new Rng(0), 1)[Symbol.iterator]().next().value!;
    assert.deepEqual(Array.from(b.sequences![0]!.offsets), [0, 1, 2, 3, 4]);
    assert.deepEqual(Array.from(b.sequences![0]!.ids), [5, 6, 7, 8]);
  });
});

describe('wholeBatch', () => {
  it('is the batch RowGatherer copies out of the whole dataset, sharing its arrays', () => {
    const ds = rowsDataset(9);
    ds.weights = Float32Array.from({ length: 9 }, (_, i) => i / 10);
    ds.dense = Float32Array.from({ length: 18 }, (_, i) => i);
    ds.denseNames = ['a', 'b'];
    const b = wholeBatch(ds);
    assert.deepEqual(b, new RowGatherer(ds).gatherRange(0, 9));
    assert.equal(b.ids, ds.ids);
    assert.equal(b.labels, ds.labels[0]);
    assert.equal(b.dense, ds.dense);
  });
});

describe('BlockShuffledBatches', () => {
  it('visits every row once per epoch, reshuffles per epoch, and reads the same from memory and from a cache', () => {
    const n = 103;
    const ds = rowsDataset(n);
    const opts = { blockRows: 8, windowBlocks: 3 };
    const mem = new BlockShuffledBatches(datasetBlocks(ds), { start: 0, end: n }, 6, opts);
    const a = epochRows(mem, 7);
    assert.deepEqual(a.flat().sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i));
    assert.notDeepEqual(a.flat(), Array.from({ length: n }, (_, i) => i));
    assert.notDeepEqual(a.flat(), epochRows(mem, 8).flat());
    for (let s = 0; s <= a.length; s++) assert.deepEqual(epochRows(mem, 7, s), a.slice(s), `skip ${s}`);
    const dir = join(tempDir('ctrkit-blocks-'), 'c');
    writeCache(dir, ds);
    const reader = new CacheBlockReader(dir);
    try {
      const disk = new BlockShuffledBatches(reader, { start: 0, end: n }, 6, opts);
      const d: { ids: number[]; seq: number[] }[] = [];
      for (const b of disk.epoch(new Rng(7))) d.push({ ids: Array.from(b.ids), seq: Array.from(b.sequences![0]!.ids) });
      assert.deepEqual(d.map((x) => x.ids), a);
      assert.deepEqual(d.map((x) => x.seq), a);
    } finally {
      reader.close();
    }
  });
});
