/** data.cache: the encoded census dataset, split and fitted schema come back from the binary cache. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { buildDataset, buildDatasetCached, loadDataConfig, type BuildResult, type DataConfig } from '../../src/schema/index.js';
import { packageRoot } from '../helpers/sharedData.js';

const root = packageRoot();
let dir = '';
let cfg: DataConfig;
let plain: BuildResult;
let plainMs = 0;
const quiet = { log: (): void => {} };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ctrkit-schema-cache-'));
  // A private copy of the data, so the test can change it.
  writeFileSync(join(dir, 'census.gz'), readFileSync(join(root, 'data', 'census_income_kdd', 'census-income.test.gz')));
  const example = await loadDataConfig(join(root, 'examples', 'census-income.yaml'));
  cfg = { ...example, source: { ...example.source, path: 'census.gz' } as DataConfig['source'], cache: 'cache' };
  const t0 = performance.now();
  plain = await buildDataset(cfg, dir);
  plainMs = performance.now() - t0;
});
after(() => rmSync(dir, { recursive: true, force: true }));

function same(got: BuildResult, want: BuildResult): void {
  assert.deepEqual(got.dataset, want.dataset);
  assert.deepEqual(got.split, want.split);
  assert.deepEqual(got.fitted.toJSON(), want.fitted.toJSON());
  assert.deepEqual(got.stats, want.stats);
}

describe('data.cache', () => {
  it('builds and writes the cache, then loads the identical Dataset much faster', async () => {
    const first = await buildDatasetCached(cfg, dir, quiet);
    assert.equal(first.cache?.rebuilt, true);
    same(first, plain);
    const t0 = performance.now();
    const second = await buildDatasetCached(cfg, dir, quiet);
    const cachedMs = performance.now() - t0;
    assert.equal(second.cache?.rebuilt, false);
    same(second, plain);
    // Parsing and encoding ~100k text rows vs one read per column: typically 20-50x; 4x leaves room for a busy machine.
    assert.ok(cachedMs * 4 < plainMs, `cached load ${cachedMs.toFixed(0)} ms vs build ${plainMs.toFixed(0)} ms`);
  });

  it('a changed data config rebuilds (workers, sampling and the cache dir itself do not)', async () => {
    await buildDatasetCached(cfg, dir, quiet);
    const same1 = await buildDatasetCached({ ...cfg, workers: 0, sampling: { negativeRate: 0.5, seed: 1 } }, dir, quiet);
    assert.equal(same1.cache?.rebuilt, false);
    const fields = cfg.fields.map((f) => (f.name === 'education' ? { ...f, minCount: 50 } : f));
    const changed = await buildDatasetCached({ ...cfg, fields }, dir, quiet);
    assert.equal(changed.cache?.rebuilt, true);
    assert.match(changed.cache?.reason ?? '', /schema hash/);
    same(changed, await buildDataset({ ...cfg, fields }, dir));
  });

  it('a changed source file rebuilds', async () => {
    await buildDatasetCached(cfg, dir, quiet);
    const file = join(dir, 'census.gz');
    const lines = gunzipSync(readFileSync(file)).toString('utf8').split('\n').filter((l) => l.length > 0);
    writeFileSync(file, gzipSync(lines.slice(0, -1).join('\n') + '\n'));
    const after1 = await buildDatasetCached(cfg, dir, quiet);
    assert.equal(after1.cache?.rebuilt, true);
    assert.equal(after1.dataset.numRows, plain.dataset.numRows - 1);
    const again = await buildDatasetCached(cfg, dir, quiet);
    assert.equal(again.cache?.rebuilt, false);
    same(again, after1);
  });
});
