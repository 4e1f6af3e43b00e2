import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { prepSha256 } from '../../src/data/prep/index.js';
import { buildDataset, loadDataConfig, sourcePath, type DataConfig } from '../../src/schema/index.js';
import { packageRoot } from '../helpers/sharedData.js';

/** shared/bench/README.md "Checking your preprocessing": the configs must reproduce torch_ref.py's ids. */
const README_SHA256: Record<string, { ids: number; sha256: string }> = {
  'criteo.yaml': { ids: 10644, sha256: 'bc13808ecbdef15321953e55d237fd2900965799787578058a2262daf2f16a08' },
  'avazu.yaml': { ids: 2082, sha256: 'c34146c25c038908d0714b0412f9471d922bb997c85338ba6718bf9c9f739027' },
  'ipinyou.yaml': { ids: 3322, sha256: '03b8160ca17586e88c6c2fd5731383aa2a4aeae2274a4c147607ba0a0e81fd1b' },
  'census-income.yaml': { ids: 810, sha256: '37867ba1d163ede9b76c1ab753fd14b53088df851991dbaee4faa3893fd0b9db' },
};

const root = packageRoot();
const dir = join(root, 'examples');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

function dataFiles(cfg: DataConfig): string[] {
  const path = sourcePath(cfg.source);
  // A duckdb query names its files itself.
  const out = path !== undefined ? [path]
    : cfg.source.format === 'duckdb' ? [...cfg.source.query.matchAll(/read_\w+\('([^']+)'/g)].map((m) => m[1]!) : [];
  if (cfg.source.format === 'ipinyou') out.push(cfg.source.featIndex);
  if (cfg.split.mode === 'files') {
    if (cfg.split.validation !== undefined) out.push(cfg.split.validation);
    if (cfg.split.test !== undefined) out.push(cfg.split.test);
  }
  return out.map((p) => resolve(root, p));
}

describe('examples/*.yaml', () => {
  it('there is one per bundled dataset', () => {
    for (const f of ['census-income.yaml', 'criteo.yaml', 'avazu.yaml', 'ipinyou.yaml', 'mq2008.yaml', 'aliexpress.yaml', 'movielens.yaml']) {
      assert.ok(files.includes(f), f);
    }
  });
  for (const f of files) {
    it(`${f} parses, and builds when its data is present`, async (t) => {
      const cfg = await loadDataConfig(join(dir, f));
      const missing = dataFiles(cfg).filter((p) => !existsSync(p));
      if (missing.length > 0) {
        t.skip(`data not present: ${missing.join(', ')}`);
        return;
      }
      const { dataset: ds, split, stats } = await buildDataset(cfg, root);
      assert.ok(ds.numRows > 0);
      assert.equal(stats.skippedLines, 0);
      assert.equal(split.test.end, ds.numRows);
      assert.equal(ds.labels.length, cfg.labels.length);
      for (let p = 0; p < ds.ids.length; p++) {
        const j = p % ds.numFields;
        const local = ds.ids[p]! - ds.fieldOffsets[j]!;
        if (local < 0 || local >= ds.fieldSizes[j]!) assert.fail(`id ${ds.ids[p]} outside field ${ds.fieldNames[j]}`);
      }
      if (ds.dense !== undefined) assert.ok(ds.dense.every(Number.isFinite), 'dense values finite');
      const exp = README_SHA256[f];
      if (exp !== undefined) {
        assert.equal(ds.numIds, exp.ids);
        assert.equal(prepSha256({ ...ds, labels: ds.labels[0]! }), exp.sha256, 'prep_sha256 of torch_ref.py');
      }
    });
  }
});
