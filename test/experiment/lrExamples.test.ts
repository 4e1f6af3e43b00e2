/**
 * examples/lr/*.yaml: logistic regression on the examples' data with settings under which it
 * converges (examples/lr/README.md). Each keeps its parent example's data section unchanged, and
 * a trained model's mean prediction matches the observed click rate with a useful test AUC; the
 * parent examples' deep-model settings (Adam 1e-3, 3 epochs) leave LR's intercept far off.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadExperimentConfig } from '../../src/experiment/config.js';
import { runTraining } from '../../src/experiment/trainRun.js';
import { dataSourceFiles } from '../../src/schema/index.js';
import { packageRoot } from '../helpers/sharedData.js';

const root = packageRoot();
const lrDir = join(root, 'examples', 'lr');
const files = readdirSync(lrDir).filter((f) => f.endsWith('.yaml')).sort();

/** What "converged" means here: calibration in the large and a test AUC clearly above chance. */
const EXPECT: Record<string, { minAuc: number; maxRelBias: number }> = {
  'census-income.yaml': { minAuc: 0.935, maxRelBias: 0.15 },
  'ipinyou.yaml': { minAuc: 0.55, maxRelBias: 0.3 },
};

describe('examples/lr/*.yaml', () => {
  let dir = '';
  before(() => { dir = mkdtempSync(join(tmpdir(), 'ctrkit-lr-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('cover the benchmark datasets, each with its parent example\'s data section and model lr', async () => {
    assert.deepEqual(files, ['avazu.yaml', 'census-income.yaml', 'criteo.yaml', 'ipinyou.yaml']);
    for (const f of files) {
      const lr = await loadExperimentConfig(join(lrDir, f), root);
      const parent = await loadExperimentConfig(join(root, 'examples', f), root);
      assert.deepEqual(lr.data, parent.data, f);
      assert.equal(lr.model.type, 'lr', f);
      assert.equal(lr.train.validationMetric, 'logloss', f);
    }
  });

  for (const [f, exp] of Object.entries(EXPECT)) {
    it(`${f}: mean prediction within ${100 * exp.maxRelBias} % of the click rate, test AUC > ${exp.minAuc}`, async (t) => {
      const cfg = await loadExperimentConfig(join(lrDir, f), root);
      const missing = dataSourceFiles(cfg.data, root).filter((p) => !existsSync(p));
      if (missing.length > 0) {
        t.skip(`data not present: ${missing.join(', ')}`);
        return;
      }
      const r = await runTraining(cfg, { quiet: true, output: join(dir, f) });
      const { auc, mean_p: p, mean_y: y } = r.test;
      assert.ok(auc! > exp.minAuc, `test auc ${auc}`);
      assert.ok(Math.abs(p! / y! - 1) < exp.maxRelBias, `mean_p ${p} vs mean_y ${y}`);
    });
  }
});
