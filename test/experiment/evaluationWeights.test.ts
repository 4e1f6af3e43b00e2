/** β_pos reaches the evaluation metrics: positives count with weight β_pos, as in training. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluationWeights, metricsFor } from '../../src/experiment/evaluate.js';
import type { Dataset } from '../../src/data/dataset.js';
import { logLoss } from '../../src/metrics/index.js';
import { assertNear } from '../helpers/close.js';
import { writeCensusSlice, type CensusSlice } from '../helpers/censusSlice.js';
import { packageRoot } from '../helpers/sharedData.js';

const ds = { labels: [Float32Array.of(1, 0, 0, 1, 0)], numRows: 5 } as unknown as Dataset;
const p = [0.6, 0.2, 0.3, 0.4, 0.1];

describe('evaluation weights', () => {
  it('scale positives by β_pos and leave unweighted rows alone at β_pos 1', () => {
    assert.deepEqual([...evaluationWeights(ds, { start: 1, end: 5 }, 0.25)!], [1, 1, 0.25, 1]);
    assert.equal(evaluationWeights(ds, { start: 0, end: 5 }), undefined);
  });

  it('metricsFor weights LogLoss by β_pos', () => {
    const m = metricsFor(p, ds, { start: 0, end: 5 }, { positiveWeight: 0.1 });
    const w = [0.1, 1, 1, 0.1, 1];
    assertNear(m.logloss!, logLoss(p, [1, 0, 0, 1, 0], w), 1e-12);
    // by hand: −Σ w log(·) / Σ w
    const hand = -(0.1 * Math.log(0.6) + Math.log(0.8) + Math.log(0.7) + 0.1 * Math.log(0.4) + Math.log(0.9)) / 3.2;
    assertNear(m.logloss!, hand, 1e-6);
    assert.notEqual(m.logloss, metricsFor(p, ds, { start: 0, end: 5 }).logloss);
  });
});

/**
 * `ctrkit eval` on the test file computes the metrics `ctrkit train` printed for the test rows:
 * the β_pos that weighted training's metrics is stored in the manifest and applied by eval.
 */
describe('ctrkit eval agrees with ctrkit train (β_pos ≠ 1)', () => {
  const cli = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
  let dir = '';
  let slice: CensusSlice;
  let trained: { model: string; test: Record<string, number | null> };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-evalw-'));
    slice = writeCensusSlice(dir, {
      model: '{ type: lr }',
      train: '{ epochs: 2, batchSize: 256, seed: 1, optimizer: { type: adam, lr: 0.01 }, loss: { type: bce, betaPos: 0.3 } }',
    });
    const r = spawnSync('node', [cli, 'train', slice.config, '-q'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    trained = JSON.parse(r.stdout) as typeof trained;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const evalTest = (modelDir: string): Record<string, number | null> => {
    const r = spawnSync('node', [cli, 'eval', '-m', modelDir, '-i', slice.test], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, number | null>;
  };

  it('the manifest records β_pos and eval reproduces every test metric of the summary', () => {
    const manifest = JSON.parse(readFileSync(join(trained.model, 'manifest.json'), 'utf8')) as { evaluation?: { positiveWeight: number } };
    assert.deepEqual(manifest.evaluation, { positiveWeight: 0.3 });
    const e = evalTest(trained.model);
    assert.equal(e.rows, 2000);
    const keys = ['auc', 'logloss', 'ece', 'ece_freq', 'mean_p', 'mean_y'];
    for (const k of keys) {
      assert.equal(typeof trained.test[k], 'number', `train summary test.${k}`);
      assertNear(e[k]!, trained.test[k]!, 1e-12, 0, k);
    }
  });

  it('a manifest without the record (older ctrkit) still loads and evaluates unweighted', () => {
    const old = join(dir, 'old-model');
    cpSync(trained.model, old, { recursive: true });
    const path = join(old, 'manifest.json');
    const m = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    delete m.evaluation;
    writeFileSync(path, JSON.stringify(m));
    const e = evalTest(old);
    assert.notEqual(e.logloss, trained.test.logloss, 'β_pos changes LogLoss, so the weighted and unweighted runs differ');
    const rows = readFileSync(slice.test, 'utf8').trim().split('\n');
    assertNear(e.mean_y!, rows.filter((l) => l.includes('50000+')).length / rows.length, 1e-12, 0, 'unweighted observed rate');
  });
});
