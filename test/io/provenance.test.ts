import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctrkitVersion, dataHash, sha256File } from '../../src/io/provenance.js';

describe('provenance', () => {
  it('dataHash depends on contents and order, not on paths', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctrkit-prov-'));
    try {
      const big = Buffer.alloc(3 * (1 << 20) + 17, 7); // spans several read chunks
      writeFileSync(join(dir, 'a.csv'), big);
      writeFileSync(join(dir, 'b.csv'), 'x,y\n1,2\n');
      writeFileSync(join(dir, 'a-copy.csv'), big);
      const h = dataHash([join(dir, 'a.csv'), join(dir, 'b.csv')]);
      assert.match(h, /^sha256:[0-9a-f]{64}$/);
      assert.equal(dataHash([join(dir, 'a-copy.csv'), join(dir, 'b.csv')]), h);
      assert.notEqual(dataHash([join(dir, 'b.csv'), join(dir, 'a.csv')]), h);
      writeFileSync(join(dir, 'b.csv'), 'x,y\n1,3\n');
      assert.notEqual(dataHash([join(dir, 'a.csv'), join(dir, 'b.csv')]), h);
      assert.equal(sha256File(join(dir, 'a.csv')), createHash('sha256').update(big).digest('hex'));

      mkdirSync(join(dir, 'parts', 'p=1'), { recursive: true });
      writeFileSync(join(dir, 'parts', 'p=1', 'x.parquet'), 'one');
      const d1 = dataHash([join(dir, 'parts')]);
      writeFileSync(join(dir, 'parts', 'y.parquet'), 'two');
      assert.notEqual(dataHash([join(dir, 'parts')]), d1);
      assert.throws(() => dataHash([join(dir, 'missing.csv')]), /missing\.csv does not exist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ctrkitVersion reads package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(ctrkitVersion(), pkg.version);
  });
});
