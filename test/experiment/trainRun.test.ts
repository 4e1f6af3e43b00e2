/**
 * End to end on the bundled census-income data: `ctrkit train` through the library and the
 * CLI, then `predict` / `eval` from the saved model directory.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { loadExperimentConfig } from '../../src/experiment/config.js';
import { runTraining, type TrainRunResult } from '../../src/experiment/trainRun.js';
import { scoreFile } from '../../src/experiment/scoring.js';
import { predictRows } from '../../src/train/predict.js';
import { auc } from '../../src/metrics/index.js';
import { configChanges } from '../../src/experiment/resumeGuard.js';
import { loadModel } from '../../src/io/modelFile.js';
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
    assert.equal(lines[0], 'line,score,label');
    // The config says header: false; that is how the file is read, not a detected headerless slice.
    assert.doesNotMatch(p.stderr, /no header line/);
    assert.match(p.stderr, /wrote 99762 rows \(line, score, label\) to .*preds\.csv/);
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

  it('initSeed fixes the initial weights alone: same initSeed, another seed ⇒ same start, another data order', async () => {
    // Adam at lr 1e-30 leaves the table's weights (std 1e-4) at their initial bits, whatever the order.
    const start = async (name: string, train: string): Promise<Float32Array> => {
      // A folder of its own: writeConfig(dir) would overwrite the suite's exp.yaml.
      const d = join(dir, name);
      mkdirSync(d);
      const r = await runTraining(await loadExperimentConfig(writeConfig(d, '{ type: lr, initStd: 0.0001 }', train), root), { quiet: true, output: join(d, 'out') });
      return loadModel(r.modelDir).model.stateDict().get('w')!;
    };
    const tiny = '{ type: adam, lr: 1.0e-30 }';
    const a = await start('init-a', `{ epochs: 1, batchSize: 8192, seed: 3, optimizer: ${tiny} }`);
    const b = await start('init-b', `{ epochs: 1, batchSize: 8192, seed: 5, initSeed: 3, optimizer: ${tiny} }`);
    const c = await start('init-c', `{ epochs: 1, batchSize: 8192, seed: 5, optimizer: ${tiny} }`);
    assert.deepEqual(b, a);
    assert.notDeepEqual(c, a);
  });

  it('bad configs and inputs are one-line errors naming the file and key', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(cfgFile, 'utf8').replace('{ type: lr }', '{ type: xgboost }'));
    const r = spawnSync('node', [cli, 'train', bad], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^ctrkit: .*bad\.yaml: model\.type: expected one of lr, fm, dnn, dcnv2, din/);
    const missing = spawnSync('node', [cli, 'predict', '-m', join(dir, 'nope'), '-i', census], { encoding: 'utf8' });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^ctrkit: .*nope/);
    assert.doesNotMatch(missing.stderr, /internal error/);
  });
});

describe('resume checks the config the checkpoint was written with', () => {
  let dir: string;
  let cfgFile: string;
  const model = '{ type: dnn, dim: 4, hidden: [8], dropout: 0.2 }';
  const train = (extra: string): string => `{ epochs: 1, batchSize: 8192, seed: 3, optimizer: { type: adam, lr: 0.01 }${extra} }`;
  /** The config with its train section replaced, and the data cached (a free key) so reruns skip parsing. */
  const write = (trainSection: string, modelSection = model): void => {
    writeConfig(dir, modelSection, trainSection);
    const text = readFileSync(cfgFile, 'utf8').replace(/^ {2}onBadLine: error$/m, `  onBadLine: error\n  cache: ${join(dir, 'cache')}`);
    writeFileSync(cfgFile, text);
  };
  const runWith = async (opts: { resume?: boolean; forceResume?: boolean; threads?: number } = {}): Promise<TrainRunResult> =>
    runTraining(await loadExperimentConfig(cfgFile, root), { quiet: true, ...opts });
  const savedConfig = (): { train: { optimizer: { lr: number } } } =>
    (JSON.parse(readFileSync(join(dir, 'out', 'checkpoints', 'last', 'trainer.json'), 'utf8')) as { config: { train: { optimizer: { lr: number } } } }).config;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-resume-cfg-'));
    cfgFile = join(dir, 'exp.yaml');
    write(train(''));
    await runWith();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('names every changed key (dotted path, old → new) and refuses', async () => {
    write(train(', logEvery: 7').replace('lr: 0.01', 'lr: 0.02').replace('8192', '4096'), model.replace('[8]', '[8, 4]'));
    await assert.rejects(runWith({ resume: true }), (e: Error) => {
      assert.equal(e.name, 'ResumeConfigError');
      assert.match(e.message, /checkpoints\/last was written with another config \(/);
      assert.match(e.message, /model\.hidden: \[8\] → \[8,4\]/);
      assert.match(e.message, /train\.batchSize: 8192 → 4096/);
      assert.match(e.message, /train\.optimizer\.lr: 0\.01 → 0\.02/);
      assert.doesNotMatch(e.message, /logEvery/);
      assert.match(e.message, /--force-resume/);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
  });

  it('allows keys that cannot change the result, and more epochs', async () => {
    write(train(', logEvery: 7, checkpointEvery: 3, calibration: platt').replace('epochs: 1', 'epochs: 2'));
    const r = await runWith({ resume: true, threads: 1 });
    assert.ok(r.train.resumed);
    assert.equal(r.train.epochsRun, 2);
    // Fewer epochs than the checkpoint has completed would not be the run the config describes.
    write(train(''));
    await assert.rejects(runWith({ resume: true }), /train\.epochs: 2 → 1/);
  });

  it('--force-resume continues under the edited config, which later checkpoints record', async () => {
    write(train('').replace('epochs: 1', 'epochs: 3').replace('lr: 0.01', 'lr: 0.02'));
    await assert.rejects(runWith({ resume: true }), /train\.optimizer\.lr: 0\.01 → 0\.02/);
    const r = await runWith({ forceResume: true });
    assert.ok(r.train.resumed);
    assert.equal(r.train.epochsRun, 3);
    assert.equal(savedConfig().train.optimizer.lr, 0.02);
    const again = await runWith({ resume: true });
    assert.ok(again.train.resumed);
  });

  it('a checkpoint without a recorded config needs --force-resume', async () => {
    const file = join(dir, 'out', 'checkpoints', 'last', 'trainer.json');
    const state = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    delete state.config;
    writeFileSync(file, JSON.stringify(state));
    await assert.rejects(runWith({ resume: true }), /records no config \(written by an older ctrkit\)/);
    write(train('').replace('epochs: 1', 'epochs: 4').replace('lr: 0.01', 'lr: 0.02'));
    const r = await runWith({ forceResume: true });
    assert.ok(r.train.resumed);
    assert.equal(savedConfig().train.optimizer.lr, 0.02);
  });

  it('the CLI refuses with a one-line error (exit 1) and --force-resume goes on', () => {
    write(train('').replace('epochs: 1', 'epochs: 5').replace('lr: 0.01', 'lr: 0.02').replace('seed: 3', 'seed: 4'));
    const r = spawnSync('node', [cli, 'train', cfgFile, '--resume', '-q'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^ctrkit: .*checkpoints\/last was written with another config \(train\.seed: 3 → 4\): .*--force-resume/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    const f = spawnSync('node', [cli, 'train', cfgFile, '--force-resume', '-q'], { encoding: 'utf8' });
    assert.equal(f.status, 0, f.stderr);
    // --seed overrides are what is compared: the checkpoint now records seed 4.
    const s = spawnSync('node', [cli, 'train', cfgFile, '--resume', '-q', '--seed', '3'], { encoding: 'utf8' });
    assert.equal(s.status, 1);
    assert.match(s.stderr, /train\.seed: 4 → 3/);
  });
});

describe('configChanges', () => {
  it('walks objects and arrays of objects by dotted path, compares other arrays whole', () => {
    const a = { data: { fields: [{ name: 'a', kind: 'numeric' }, { name: 'b' }] }, model: { hidden: [400], dim: 16 } };
    const b = { data: { fields: [{ name: 'a', kind: 'categorical' }, { name: 'b' }, { name: 'c' }] }, model: { hidden: [400, 400] } };
    assert.deepEqual(configChanges(a, b), [
      { path: 'data.fields.0.kind', before: 'numeric', after: 'categorical' },
      { path: 'data.fields.2', before: undefined, after: { name: 'c' } },
      { path: 'model.hidden', before: [400], after: [400, 400] },
      { path: 'model.dim', before: 16, after: undefined },
    ]);
    assert.deepEqual(configChanges(a, structuredClone(a)), []);
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
