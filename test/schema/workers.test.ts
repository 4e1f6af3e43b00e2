/** data.workers: the worker-thread parsers give the single-thread datasets for every thread count. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { prepSha256 } from '../../src/data/prep/index.js';
import { buildDataset, loadDataConfig, type DataConfig } from '../../src/schema/index.js';
import { packageRoot, sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';
import { dataConfig, tempFiles } from './helpers.js';

const root = packageRoot();
const CRITEO = 'criteo_kaggle_dac_head10k/criteo_kaggle_train_head10k.txt.gz';
/** torch_ref.py's ids of the Criteo sample (shared/bench/README.md), computed by a single-threaded Python reader. */
const CRITEO_SHA256 = 'bc13808ecbdef15321953e55d237fd2900965799787578058a2262daf2f16a08';

describe('data.workers', () => {
  it('criteo sample: workers 0, 1, 2 (small chunks, many in flight) build the same Dataset as torch_ref', { skip: skipWithoutSharedData(CRITEO) }, async () => {
    const base = await loadDataConfig(join(root, 'examples', 'criteo.yaml'));
    const cfg: DataConfig = { ...base, source: { format: 'criteo', path: join(sharedDataDir(), CRITEO) } };
    const builds = [];
    for (const workers of [0, 1, 2]) builds.push(await buildDataset({ ...cfg, workers }, root, { chunkSize: 64 * 1024 }));
    for (const b of builds) assert.equal(prepSha256({ ...b.dataset, labels: b.dataset.labels[0]! }), CRITEO_SHA256);
    for (const b of builds.slice(1)) {
      assert.deepEqual(b.dataset, builds[0]!.dataset);
      assert.deepEqual(b.split, builds[0]!.split);
      assert.deepEqual(b.fitted.toJSON(), builds[0]!.fitted.toJSON());
      assert.deepEqual(b.stats, builds[0]!.stats);
    }
  });

  it('csv with bad lines under skip: same rows, counters and examples for 0 and 2 workers', async () => {
    const lines = ['y,a,b'];
    for (let i = 0; i < 3000; i++) {
      if (i % 397 === 5) lines.push('1,onlytwo');
      else if (i % 211 === 7) lines.push(`1,x${i % 13},notanumber`);
      else lines.push(`${i % 3 === 0 ? 1 : 0},"v ${i % 17}",${i % 50}`);
    }
    const dir = tempFiles({ 'd.csv.gz': lines.join('\n') });
    const cfg = (workers: number): DataConfig => dataConfig({
      source: { format: 'csv', path: 'd.csv.gz' },
      labels: [{ name: 'y' }],
      fields: [{ name: 'a', kind: 'categorical' }, { name: 'b', kind: 'numeric', transform: 'log-bucket' }],
      onBadLine: 'skip',
      workers,
    });
    const one = await buildDataset(cfg(0), dir, { chunkSize: 2048 });
    const two = await buildDataset(cfg(2), dir, { chunkSize: 2048 });
    assert.ok(one.stats.skippedLines > 10);
    assert.deepEqual(two.dataset, one.dataset);
    assert.deepEqual(two.stats, one.stats);
  });
});
