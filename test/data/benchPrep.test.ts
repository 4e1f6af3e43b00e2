import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadBenchDataset, prepSha256, BENCH_DATASETS, type BenchDatasetName } from '../../src/data/prep/index.js';
import { join } from 'node:path';
import { packageRoot, sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';

/** census-income is bundled in data/ (same relative path as in the shared folder); the others come from ../shared/data. */
const BUNDLED = new Set<BenchDatasetName>(['census-income', 'census-marital']);

/** The table "Checking your preprocessing" of shared/bench/README.md, plus its row counts. */
const EXPECTED: Record<BenchDatasetName, { fields: number; ids: number; fit: number; val: number; test: number; sha256: string }> = {
  criteo: { fields: 39, ids: 10644, fit: 7200, val: 800, test: 2000,
    sha256: 'bc13808ecbdef15321953e55d237fd2900965799787578058a2262daf2f16a08' },
  avazu: { fields: 22, ids: 2082, fit: 6479, val: 720, test: 1800,
    sha256: 'c34146c25c038908d0714b0412f9471d922bb997c85338ba6718bf9c9f739027' },
  ipinyou: { fields: 16, ids: 3322, fit: 19276, val: 2142, test: 5355,
    sha256: '03b8160ca17586e88c6c2fd5731383aa2a4aeae2274a4c147607ba0a0e81fd1b' },
  'census-income': { fields: 39, ids: 810, fit: 71828, val: 7981, test: 19953,
    sha256: '37867ba1d163ede9b76c1ab753fd14b53088df851991dbaee4faa3893fd0b9db' },
  'census-marital': { fields: 39, ids: 810, fit: 71828, val: 7981, test: 19953,
    sha256: '62f20daaea7623279819639f9d9681ddff68774a6acda8e6f653eaf01d0f3512' },
};

describe('benchmark preprocessing matches torch_ref.py (README prep_sha256)', () => {
  for (const [name, exp] of Object.entries(EXPECTED) as [BenchDatasetName, (typeof EXPECTED)[BenchDatasetName]][]) {
    const cfg = BENCH_DATASETS[name];
    const files = cfg.kind === 'ipinyou' ? [cfg.file, cfg.featIndex] : [cfg.file];
    const bundled = BUNDLED.has(name);
    it(name, { skip: bundled ? undefined : skipWithoutSharedData(...files) }, async () => {
      const ds = await loadBenchDataset(name, bundled ? join(packageRoot(), 'data') : sharedDataDir());
      assert.equal(ds.numFields, exp.fields, 'fields');
      assert.equal(ds.numIds, exp.ids, 'ids incl. OOV');
      assert.equal(ds.split.nFit, exp.fit, 'fit rows');
      assert.equal(ds.split.nTrain - ds.split.nFit, exp.val, 'validation rows');
      assert.equal(ds.numRows - ds.split.nTrain, exp.test, 'test rows');
      assert.equal(ds.ids.length, ds.numRows * ds.numFields);
      assert.equal(ds.labels.length, ds.numRows);
      // Structural invariants the hash would only catch indirectly.
      let sum = 0;
      for (let j = 0; j < ds.numFields; j++) {
        assert.equal(ds.fieldOffsets[j], sum, `offset of field ${j}`);
        sum += ds.fieldSizes[j]!;
      }
      assert.equal(sum, ds.numIds);
      for (let p = 0; p < ds.ids.length; p++) {
        const j = p % ds.numFields;
        const local = ds.ids[p]! - ds.fieldOffsets[j]!;
        if (local < 0 || local >= ds.fieldSizes[j]!) assert.fail(`id ${ds.ids[p]} at row ${Math.floor(p / ds.numFields)} outside field ${ds.fieldNames[j]}`);
      }
      assert.equal(ds.readerStats[0]!.skipped, 0);
      assert.equal(prepSha256(ds), exp.sha256, 'prep_sha256');
    });
  }
});
