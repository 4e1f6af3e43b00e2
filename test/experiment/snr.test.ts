/**
 * examples/census-snr.yaml end to end on a slice of census-income: the L0 penalty reaches the
 * training loss and the step log, the gates train, and a resumed run (gate noise keyed by the
 * checkpointed step) is bit-identical to an uninterrupted one.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { loadExperimentConfig } from '../../src/experiment/config.js';
import { runTraining, type TrainRunResult } from '../../src/experiment/trainRun.js';
import { loadModel } from '../../src/io/modelFile.js';
import { SNR } from '../../src/models/snr.js';
import { parseMetricLog } from '../../src/train/metricLog.js';
import { packageRoot } from '../helpers/sharedData.js';

const root = packageRoot();

describe('examples/census-snr.yaml on a census-income slice', () => {
  let dir = '';
  const run = async (name: string, epochs: number, l0: number, opts: { resume?: boolean } = {}): Promise<TrainRunResult> => {
    const text = readFileSync(join(root, 'examples', 'census-snr.yaml'), 'utf8')
      .replace(/^(\s*path:).*$/m, `$1 ${join(dir, 'slice.csv')}`)
      .replace(/^model:.*$/m, `model: { type: snr, dim: 4, subnetworks: 3, widths: [8, 8], tower: [4], l0: ${l0} }`)
      .replace(/^ {2}epochs: 3$/m, `  epochs: ${epochs}\n  logEvery: 1\n  threads: 1`)
      .replace(/^output:.*$/m, `output: ${join(dir, name)}`);
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, text);
    return runTraining(await loadExperimentConfig(file, root), { quiet: true, ...opts });
  };
  const steps = (r: TrainRunResult) => parseMetricLog(readFileSync(r.logFile, 'utf8')).filter((x) => x.event === 'step');

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-snr-'));
    const lines = gunzipSync(readFileSync(join(root, 'data', 'census_income_kdd', 'census-income.test.gz'))).toString('utf8').split('\n');
    writeFileSync(join(dir, 'slice.csv'), lines.slice(0, 3000).join('\n') + '\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the L0 penalty is in each step\'s loss and logged as `regularizer`; none with l0: 0', async () => {
    const r = await run('penalty', 1, 0.05);
    const records = steps(r);
    assert.ok(records.length > 5);
    for (const s of records) {
      const reg = s.regularizer as number;
      // 3×3 + 2×3 connections, each P(z ≠ 0) in (0, 1).
      assert.ok(reg > 0 && reg < 0.05 * 15, JSON.stringify(s));
      const sum = (s.loss_income as number) + (s.loss_marital as number) + reg;
      assert.ok(Math.abs((s.loss as number) - sum) < 1e-6, `loss ${s.loss} vs tasks + regularizer ${sum}`);
    }
    const model = loadModel(r.modelDir).model;
    assert.ok(model instanceof SNR);
    assert.ok(model.gates.logAlpha.data.some((v) => v !== model.cfg.gateInit), 'the gates trained');
    const plain = await run('plain', 1, 0);
    assert.ok(steps(plain).every((s) => s.regularizer === undefined));
  });

  it('a resumed run is bit-identical to an uninterrupted one', async () => {
    const whole = await run('whole', 2, 0.01);
    await run('split', 1, 0.01);
    const resumed = await run('split', 2, 0.01, { resume: true });
    assert.ok(resumed.train.resumed);
    assert.deepEqual(readFileSync(join(resumed.modelDir, 'model.safetensors')), readFileSync(join(whole.modelDir, 'model.safetensors')));
  });
});
