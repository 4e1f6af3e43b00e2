import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../../src/data/dataset.js';
import {
  CacheBlockReader, CacheCorruptError, hashSchema, loadOrBuildCache, openCache, readManifest, writeCache, writeCacheChunks,
} from '../../src/data/cache/index.js';
import { selectRows } from '../../src/data/sampling/index.js';
import { tempDir } from '../helpers/tmpDir.js';

function tmp(): string {
  return tempDir('ctrkit-cache-');
}

/** A small dataset with every optional column, including NaN payloads that only a bit-exact copy keeps. */
function fullDataset(): Dataset {
  const n = 7;
  const F = 3;
  const ids = Int32Array.from({ length: n * F }, (_, i) => (i * 7) % 12);
  const f32 = (vals: number[]): Float32Array => Float32Array.from(vals);
  const weights = f32([1, 0.5, 2, 3, 1e-30, 7, 1]);
  new Uint32Array(weights.buffer)[6] = 0x7fc01234; // a NaN with a payload
  return {
    numRows: n, numFields: F, fieldNames: ['a', 'b', 'c'], ids,
    fieldSizes: Int32Array.from([4, 4, 4]), fieldOffsets: Int32Array.from([0, 4, 8]), numIds: 12,
    labels: [f32([1, 0, 0, 1, 0, 0, 1]), f32([0, 0, 0, 1, 0, 0, 0])], labelNames: ['click', 'pay'],
    weights,
    dense: f32(Array.from({ length: n * 2 }, (_, i) => i / 3)), denseNames: ['x', 'y'],
    sequences: [
      { name: 'hist', offsets: Int32Array.from([0, 2, 2, 5, 6, 6, 8, 9]), ids: Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]) },
      { name: 'empty', offsets: new Int32Array(n + 1), ids: new Int32Array(0) },
    ],
    groupOffsets: Int32Array.from([0, 3, 4, 7]),
    keepProb: f32([1, 0.5, 0.25, 1, 1, 0.5, 1]),
    negativeSampleRate: 0.25,
    privileged: ['y'],
  };
}

function bytes(a: Int32Array | Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function assertSameDataset(a: Dataset, b: Dataset): void {
  assert.equal(a.numRows, b.numRows);
  assert.equal(a.numFields, b.numFields);
  assert.deepEqual(a.fieldNames, b.fieldNames);
  assert.deepEqual(bytes(a.ids), bytes(b.ids));
  assert.deepEqual(bytes(a.fieldSizes), bytes(b.fieldSizes));
  assert.deepEqual(bytes(a.fieldOffsets), bytes(b.fieldOffsets));
  assert.equal(a.numIds, b.numIds);
  assert.deepEqual(a.labelNames, b.labelNames);
  assert.equal(a.labels.length, b.labels.length);
  a.labels.forEach((l, i) => assert.deepEqual(bytes(l), bytes(b.labels[i]!)));
  for (const k of ['weights', 'dense', 'keepProb', 'groupOffsets'] as const) {
    const x = a[k];
    const y = b[k];
    assert.equal(x === undefined, y === undefined, k);
    if (x && y) assert.deepEqual(bytes(x), bytes(y), k);
  }
  assert.deepEqual(a.denseNames, b.denseNames);
  assert.deepEqual(a.privileged, b.privileged);
  assert.equal(a.negativeSampleRate ?? 1, b.negativeSampleRate ?? 1);
  assert.equal(a.sequences?.length, b.sequences?.length);
  a.sequences?.forEach((s, i) => {
    const t = b.sequences![i]!;
    assert.equal(s.name, t.name);
    assert.deepEqual(bytes(s.offsets), bytes(t.offsets));
    assert.deepEqual(bytes(s.ids), bytes(t.ids));
  });
}

describe('columnar cache', () => {
  it('round-trips every column kind bit-exactly, with the manifest describing them', () => {
    const dir = join(tmp(), 'c');
    const ds = fullDataset();
    writeCache(dir, ds, { schema: { fields: ['a', 'b', 'c'] } });
    const r = openCache(dir, { schemaHash: hashSchema({ fields: ['a', 'b', 'c'] }) }, { verify: true });
    assert.equal(r.status, 'fresh');
    if (r.status !== 'fresh') return;
    assertSameDataset(ds, r.dataset);
    const m = r.manifest;
    assert.equal(m.formatVersion, 1);
    assert.match(m.createdBy, /^ctrkit \d/);
    assert.equal(m.negativeSampleRate, 0.25);
    assert.deepEqual(m.schema, { fields: ['a', 'b', 'c'] });
    const ids = m.columns.find((c) => c.role.kind === 'ids')!;
    assert.deepEqual([ids.dtype, ids.shape, ids.byteOffset, ids.byteLength], ['int32', [7, 3], 0, 84]);
    // Loaded columns are views of one buffer per column, not copies of a larger one.
    assert.equal(r.dataset.ids.byteOffset, 0);
    assert.equal(r.dataset.ids.buffer.byteLength, 84);
  });

  it('appending chunks gives the same cache as writing the whole dataset (groups and sequences rebased)', async () => {
    const ds = fullDataset();
    const a = join(tmp(), 'a');
    const first = selectRows(ds, Int32Array.from([0, 1, 2]));
    const second = selectRows(ds, Int32Array.from([3, 4, 5, 6]));
    second.groupOffsets = Int32Array.from([0, 1, 4]);
    await writeCacheChunks(a, [first, second]);
    const r = openCache(a);
    assert.equal(r.status, 'fresh');
    if (r.status === 'fresh') assertSameDataset(ds, r.dataset);
  });

  it('is stale when the schema hash differs, and loadOrBuildCache rebuilds it (saying so)', async () => {
    const dir = join(tmp(), 'c');
    const ds = fullDataset();
    const logs: string[] = [];
    let builds = 0;
    const build = (): Dataset => {
      builds++;
      return ds;
    };
    const first = await loadOrBuildCache(dir, { schema: { v: 1 }, schemaHash: hashSchema({ v: 1 }) }, build, { log: (l) => logs.push(l) });
    assert.equal(first.rebuilt, true);
    const again = await loadOrBuildCache(dir, { schemaHash: hashSchema({ v: 1 }) }, build, { log: (l) => logs.push(l) });
    assert.equal(again.rebuilt, false);
    assert.equal(builds, 1);
    const st = openCache(dir, { schemaHash: hashSchema({ v: 2 }) });
    assert.equal(st.status, 'stale');
    // A schema without its hash is compared through its hash.
    const rebuilt = await loadOrBuildCache(dir, { schema: { v: 2 } }, build, { log: (l) => logs.push(l) });
    assert.equal(rebuilt.rebuilt, true);
    assert.equal(builds, 2);
    assert.match(logs.at(-1)!, /rebuilding .*schema hash/);
    assert.deepEqual(readManifest(dir)!.schema, { v: 2 });
    assertSameDataset(ds, rebuilt.dataset);
  });

  it('detects a source file modified under an existing cache, even with the same size and mtime', async () => {
    const root = tmp();
    const src = join(root, 'train.txt');
    const dir = join(root, 'cache');
    writeFileSync(src, 'abc\n');
    const logs: string[] = [];
    let builds = 0;
    const build = (): Dataset => {
      builds++;
      return fullDataset();
    };
    const key = { schemaHash: hashSchema(null), sources: [src] };
    await loadOrBuildCache(dir, key, build, { log: (l) => logs.push(l) });
    assert.equal((await loadOrBuildCache(dir, key, build, { log: (l) => logs.push(l) })).rebuilt, false);
    // touch: new mtime, same content → re-hashed, still fresh.
    utimesSync(src, new Date(), new Date(Date.now() + 5000));
    assert.equal((await loadOrBuildCache(dir, key, build, { log: (l) => logs.push(l) })).rebuilt, false);
    // Modified content: rebuilt.
    writeFileSync(src, 'abd\n');
    assert.equal(openCache(dir, key).status, 'stale');
    const r = await loadOrBuildCache(dir, key, build, { log: (l) => logs.push(l) });
    assert.equal(r.rebuilt, true);
    assert.match(r.reason!, /changed content/);
    // Same size and mtime restored: only a re-hash can tell.
    const m = readManifest(dir)!;
    const mtime = new Date(Number(BigInt(m.sources[0]!.mtimeNs) / 1000000n));
    writeFileSync(src, 'xyz\n');
    utimesSync(src, mtime, mtime);
    const fp = readManifest(dir)!.sources[0]!;
    // Simulate a rewrite that kept size and mtime (cp -p, or within the timestamp resolution).
    fp.mtimeNs = statSync(src, { bigint: true }).mtimeNs.toString();
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...readManifest(dir)!, sources: [fp] }));
    assert.equal(openCache(dir, key).status, 'fresh', 'size and mtime alone cannot see it');
    assert.equal(openCache(dir, key, { rehashSources: true }).status, 'stale');
    writeFileSync(src, 'longer content\n');
    assert.match((openCache(dir, key) as { reason: string }).reason, /changed size/);
    assert.equal(builds, 2);
  });

  it('a build that throws leaves no cache and no temporary directory; an existing cache survives a failed rebuild', async () => {
    const root = tmp();
    const dir = join(root, 'c');
    const fail = (): Dataset => {
      throw new Error('boom');
    };
    await assert.rejects(loadOrBuildCache(dir, { schemaHash: 'x' }, fail, { log: () => {} }), /boom/);
    assert.deepEqual(readdirSync(root), []);
    // A producer that fails midway through its chunks.
    async function* chunks(): AsyncGenerator<Dataset> {
      yield fullDataset();
      throw new Error('disk full');
    }
    await assert.rejects(writeCacheChunks(dir, chunks()), /disk full/);
    assert.deepEqual(readdirSync(root), []);
    writeCache(dir, fullDataset(), { schemaHash: 'x' });
    await assert.rejects(loadOrBuildCache(dir, { schemaHash: 'y' }, fail, { log: () => {} }), /boom/);
    assert.deepEqual(readdirSync(root), ['c']);
    const r = openCache(dir, { schemaHash: 'x' });
    assert.equal(r.status, 'fresh');
    if (r.status === 'fresh') assertSameDataset(fullDataset(), r.dataset);
  });

  it('a truncated or damaged column file is an error naming the file', async () => {
    const dir = join(tmp(), 'c');
    writeCache(dir, fullDataset());
    const file = join(dir, 'label-1.f32');
    truncateSync(file, 10);
    assert.throws(() => openCache(dir), (e: unknown) => e instanceof CacheCorruptError && e.file === file && /truncated: 10 bytes/.test(e.message));
    assert.throws(() => new CacheBlockReader(dir), (e: unknown) => e instanceof CacheCorruptError && e.file === file);
    // loadOrBuildCache repairs it, and says why.
    const logs: string[] = [];
    const r = await loadOrBuildCache(dir, {}, fullDataset, { log: (l) => logs.push(l) });
    assert.equal(r.rebuilt, true);
    assert.match(logs[0]!, /label-1\.f32: truncated/);
    // Flipped bytes of the same length: caught by verify (CRC-32).
    writeCache(dir, fullDataset());
    const ids = join(dir, 'ids.i32');
    writeFileSync(ids, Buffer.alloc(84, 1));
    assert.equal(openCache(dir).status, 'fresh');
    assert.throws(() => openCache(dir, {}, { verify: true }), (e: unknown) => e instanceof CacheCorruptError && e.file === ids && /CRC/.test(e.message));
    rmSync(join(dir, 'keep-prob.f32'));
    assert.throws(() => openCache(dir), /keep-prob\.f32: cannot open/);
  });

  it('the block reader serves row ranges equal to the in-memory rows', () => {
    const dir = join(tmp(), 'c');
    const ds = fullDataset();
    writeCache(dir, ds);
    const br = new CacheBlockReader(dir);
    try {
      const { ds: w, rows } = br.readRanges([{ start: 5, end: 7 }, { start: 0, end: 2 }, { start: 3, end: 4 }]);
      const want = [5, 6, 0, 1, 3];
      assert.deepEqual(Array.from(rows), [0, 1, 2, 3, 4]);
      const sub = selectRows(ds, Int32Array.from([0, 1, 3, 5, 6]));
      // selectRows wants ascending rows, so compare row by row against the ascending selection's permutation.
      const pos = want.map((r) => [0, 1, 3, 5, 6].indexOf(r));
      for (let k = 0; k < 5; k++) {
        const p = pos[k]!;
        assert.deepEqual(Array.from(w.ids.subarray(k * 3, k * 3 + 3)), Array.from(sub.ids.subarray(p * 3, p * 3 + 3)));
        assert.equal(w.labels[1]![k], sub.labels[1]![p]);
        assert.equal(w.keepProb![k], sub.keepProb![p]);
        const s = w.sequences![0]!;
        const t = sub.sequences![0]!;
        assert.deepEqual(Array.from(s.ids.subarray(s.offsets[k]!, s.offsets[k + 1]!)), Array.from(t.ids.subarray(t.offsets[p]!, t.offsets[p + 1]!)));
      }
    } finally {
      br.close();
    }
  });
});
