import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { openCache } from '../../src/data/cache/index.js';
import { parseCriteoLine } from '../../src/data/readers/index.js';
import { SyntheticCriteo, writeSyntheticCache, writeSyntheticCriteoText, zipfProbabilities } from '../../src/data/synthetic.js';
import { tempDir } from '../helpers/tmpDir.js';

const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

describe('synthetic Criteo', () => {
  it('is deterministic by seed and independent of the chunk size', () => {
    const a = new SyntheticCriteo({ numRows: 3000, seed: 11 }).dataset();
    const b = new SyntheticCriteo({ numRows: 3000, seed: 11, chunkRows: 777 }).dataset();
    const c = new SyntheticCriteo({ numRows: 3000, seed: 12 }).dataset();
    const h = (d: typeof a): string => sha(new Uint8Array(d.ids.buffer)) + sha(new Uint8Array(d.labels[0]!.buffer));
    assert.equal(h(a), h(b));
    assert.notEqual(h(a), h(c));
    assert.equal(a.numFields, 39);
    for (let j = 0; j < 39; j++) {
      for (let r = 0; r < 3000; r++) {
        const id = a.ids[r * 39 + j]!;
        assert.ok(id >= a.fieldOffsets[j]! && id < a.fieldOffsets[j]! + a.fieldSizes[j]!);
      }
    }
    const ctr = a.labels[0]!.reduce((x, y) => x + y, 0) / 3000;
    assert.ok(ctr > 0.1 && ctr < 0.45, `ctr ${ctr}`);
  });

  it('head id frequency matches Zipf theory', () => {
    const V = 1000;
    const s = 1.2;
    const g = new SyntheticCriteo({ numRows: 20000, numFields: 4, vocabSizes: V, zipfExponent: s, seed: 3 });
    const ds = g.dataset();
    const p = zipfProbabilities(V, s);
    for (let j = 0; j < 4; j++) {
      const counts = [0, 0, 0];
      for (let r = 0; r < ds.numRows; r++) {
        const k = ds.ids[r * 4 + j]! - ds.fieldOffsets[j]!;
        if (k < 3) counts[k]!++;
      }
      for (let k = 0; k < 3; k++) {
        const f = counts[k]! / ds.numRows;
        // 4 binomial standard deviations.
        assert.ok(Math.abs(f - p[k]!) < 4 * Math.sqrt(p[k]! * (1 - p[k]!) / ds.numRows), `field ${j} rank ${k + 1}: ${f} vs ${p[k]}`);
      }
    }
  });

  it('writes identical TSV (plain and gzip) and cache bytes for the same seed; the text parses as Criteo', async () => {
    const dir = tempDir('ctrkit-syn-');
    const o = { numRows: 2500, seed: 5, chunkRows: 1000 };
    await writeSyntheticCriteoText(join(dir, 'a.tsv'), o);
    await writeSyntheticCriteoText(join(dir, 'b.tsv'), { ...o, chunkRows: 64 });
    await writeSyntheticCriteoText(join(dir, 'a.tsv.gz'), o, true);
    await writeSyntheticCriteoText(join(dir, 'b.tsv.gz'), o, true);
    const text = readFileSync(join(dir, 'a.tsv'));
    assert.equal(sha(text), sha(readFileSync(join(dir, 'b.tsv'))));
    assert.equal(sha(readFileSync(join(dir, 'a.tsv.gz'))), sha(readFileSync(join(dir, 'b.tsv.gz'))));
    assert.equal(sha(gunzipSync(readFileSync(join(dir, 'a.tsv.gz')))), sha(text));
    const lines = text.toString('utf8').trimEnd().split('\n');
    assert.equal(lines.length, 2500);
    const ds = new SyntheticCriteo(o).dataset();
    lines.forEach((l, i) => assert.equal(parseCriteoLine(l, 'a.tsv', i + 1).label, ds.labels[0]![i]));
    await writeSyntheticCache(join(dir, 'c1'), o);
    await writeSyntheticCache(join(dir, 'c2'), { ...o, chunkRows: 300 });
    for (const f of ['ids.i32', 'label-0.f32']) assert.equal(sha(readFileSync(join(dir, 'c1', f))), sha(readFileSync(join(dir, 'c2', f))));
    const r = openCache(join(dir, 'c1'));
    assert.equal(r.status, 'fresh');
    if (r.status === 'fresh') assert.deepEqual(Array.from(r.dataset.ids), Array.from(ds.ids));
  });
});
