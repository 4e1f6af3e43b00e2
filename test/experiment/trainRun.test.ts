/**
 * End to end on the bundled census-income data: `ctrkit train` through the library and the
 * CLI, then `predict` / `eval` from the saved model directory.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { loadExperimentConfig } from '../../src/experiment/config.js';
import { runTraining, type TrainRunResult } from '../../src/experiment/trainRun.js';
import { scoreFile } from '../../src/experiment/scoring.js';
import { predictRows } from '../../src/train/predict.js';
import { auc } from '../../src/metrics/index.js';
import { packageRoot } from '../helpers/sharedData.js';

const root = packageRoot();
const census = join(root, 'data', 'census_income_kdd', 'census-income.test.gz');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');

/** The bundled census example with a small, fast model section. */
function writeConfig(dir: string, model: string, train: string): string {
  const text = readFileSync(join(root, 'examples', 'census-income.yaml'), 'utf8')
    .replace(/^model:.*$/m, `model: ${model}`)
    .replace(/^train:.*$/m, `train: ${train}`)
    .replace(/^output:.*$/m, `output: ${join(dir, 'out')}`);
  const file = join(dir, 'exp.yaml');
  writeFileSync(file, text);
  return file;
}

describe('ctrkit train / predict / eval on census-income', () => {
  let dir: string;
  let run: TrainRunResult;
  let cfgFile: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-train-'));
    cfgFile = writeConfig(dir, '{ type: lr }',
      '{ epochs: 2, batchSize: 512, seed: 3, optimizer: { type: adam, lr: 0.01 }, validationMetric: auc, calibration: platt }');
    run = await runTraining(await loadExperimentConfig(cfgFile, root), { quiet: true });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('trains, evaluates the test rows and writes the model directory', () => {
    assert.equal(run.rows.fit, 71828);
    assert.equal(run.rows.test, 19953);
    assert.ok(run.test.auc! > 0.9, `test auc ${run.test.auc}`);
    assert.ok(run.test.logloss! < 0.2, `test logloss ${run.test.logloss}`);
    assert.ok(run.testCalibrated && run.testCalibrated.auc !== null);
    for (const f of ['model/manifest.json', 'model/model.safetensors', 'log.jsonl', 'checkpoints/last/trainer.json']) {
      assert.ok(existsSync(join(run.output, f)), f);
    }
    const manifest = JSON.parse(readFileSync(join(run.modelDir, 'manifest.json'), 'utf8')) as { metrics: Record<string, number>; provenance: { seed: number } };
    assert.equal(manifest.metrics.test_auc, run.test.auc);
    assert.equal(manifest.provenance.seed, 3);
  });

  it('the loaded model predicts exactly what the in-memory model predicted', async () => {
    const s = await scoreFile(run.modelDir, census, { labels: true });
    const inMemory = predictRows(run.model, run.dataset, { start: 0, end: run.dataset.numRows });
    // file-order split: the dataset's rows are the file's rows in order
    assert.deepEqual(s.logits, inMemory);
    const t = run.split.test;
    assert.equal(auc(s.probs.subarray(t.start, t.end), s.dataset.labels[0]!.subarray(t.start, t.end)), run.testCalibrated!.auc);
  });

  it('the CLI predicts a CSV that ctrkit metrics and ctrkit eval agree on', () => {
    const preds = join(dir, 'preds.csv');
    const p = spawnSync('node', [cli, 'predict', '-m', run.modelDir, '-i', census, '-o', preds], { encoding: 'utf8' });
    assert.equal(p.status, 0, p.stderr);
    const lines = readFileSync(preds, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'score,label');
    assert.equal(lines.length, 99762 + 1);
    const m = spawnSync('node', [cli, 'metrics', '--input', preds], { encoding: 'utf8' });
    const e = spawnSync('node', [cli, 'eval', '-m', run.modelDir, '-i', census], { encoding: 'utf8' });
    assert.equal(m.status, 0, m.stderr);
    assert.equal(e.status, 0, e.stderr);
    const mj = JSON.parse(m.stdout) as { auc: number; logloss: number };
    const ej = JSON.parse(e.stdout) as { auc: number; logloss: number; calibrated: boolean };
    assert.equal(ej.calibrated, true);
    assert.ok(Math.abs(mj.auc - ej.auc) < 1e-12);
    assert.ok(Math.abs(mj.logloss - ej.logloss) < 1e-9);
  });

  it('same seed and config give a bit-identical model file', async () => {
    const again = await runTraining(await loadExperimentConfig(cfgFile, root), { quiet: true, output: join(dir, 'again') });
    assert.deepEqual(readFileSync(join(again.modelDir, 'model.safetensors')), readFileSync(join(run.modelDir, 'model.safetensors')));
  });

  it('bad configs and inputs are one-line errors naming the file and key', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(cfgFile, 'utf8').replace('{ type: lr }', '{ type: xgboost }'));
    const r = spawnSync('node', [cli, 'train', bad], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^ctrkit: .*bad\.yaml: model\.type: expected one of lr, fm, dnn, dcnv2/);
    const missing = spawnSync('node', [cli, 'predict', '-m', join(dir, 'nope'), '-i', census], { encoding: 'utf8' });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^ctrkit: .*nope/);
    assert.doesNotMatch(missing.stderr, /internal error/);
  });
});

describe("Google's DCN-v2 through ctrkit train", () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'ctrkit-dcn-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('trains with ramp, ReZero, low-rank layers and SmeLU; the saved model predicts what the trained one did; a ramp longer than training is pointed out', async () => {
    const model = '{ type: dcnv2, dim: 4, hidden: [16], rank: 4, activation: smelu, smeluBeta: 0.5, crossLayers: 2, crossRank: 4, crossRamp: 1000, rezero: true }';
    const file = writeConfig(dir, model, '{ epochs: 1, batchSize: 4096, seed: 3, optimizer: { type: adam, lr: 0.01 } }');
    const lines: string[] = [];
    const stream = Object.assign(new PassThrough(), { isTTY: false });
    stream.on('data', (d: Buffer) => lines.push(d.toString()));
    const r = await runTraining(await loadExperimentConfig(file, root), { stream });
    assert.match(lines.join(''), /model\.crossRamp \(1000 steps\) is longer than training \(about 18 steps\)/);
    assert.ok(r.test.auc! > 0.8, `test auc ${r.test.auc}`);
    const s = await scoreFile(r.modelDir, census, { labels: true });
    assert.deepEqual(s.logits, predictRows(r.model, r.dataset, { start: 0, end: r.dataset.numRows }));
  });
});
