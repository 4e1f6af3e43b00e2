/**
 * train.biasConstraints end to end on the bundled census-income data: the config wiring, the
 * effect on the constrained slices, λ in the log, the report and the checkpoints, config errors.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadExperimentConfig } from '../../src/experiment/config.js';
import { runTraining, type TrainRunResult } from '../../src/experiment/trainRun.js';
import { rankBuckets } from '../../src/experiment/biasConstraintTerm.js';
import { predictRows } from '../../src/train/predict.js';
import { calibrationBiasBySlice } from '../../src/metrics/index.js';
import { parseMetricLog } from '../../src/train/metricLog.js';
import { packageRoot } from '../helpers/sharedData.js';

const root = packageRoot();
const BC = '{ slices: { by: field, field: education, top: 8 }, lr: 1, alpha: 0.1 }';

/** Per constrained slice, Σ(p − y)/n on the fit rows (where the constraint acts), largest slices first. */
function fitSliceBias(r: TrainRunResult, field: string, top: number): number[] {
  const ds = r.dataset, f = r.split.fit;
  const j = ds.fieldNames.indexOf(field);
  const p = Float64Array.from(predictRows(r.model, ds, f), (v) => 1 / (1 + Math.exp(-v)));
  const keys = Int32Array.from({ length: f.end - f.start }, (_, i) => ds.ids[(f.start + i) * ds.numFields + j]!);
  return calibrationBiasBySlice(p, ds.labels[0]!.subarray(f.start, f.end), keys)
    .sort((a, b) => b.rows - a.rows || (a.slice as number) - (b.slice as number)).slice(0, top).map((s) => s.meanBias!);
}

describe('train.biasConstraints on census-income', () => {
  let dir: string;
  const write = (name: string, train: string): string => {
    const text = readFileSync(join(root, 'examples', 'census-income.yaml'), 'utf8')
      .replace(/^model:.*$/m, 'model: { type: lr }')
      .replace(/^train:.*$/m, `train: ${train}`)
      .replace(/^output:.*$/m, `output: ${join(dir, name)}`)
      .replace(/^ {2}onBadLine: error$/m, `  onBadLine: error\n  cache: ${join(dir, 'cache')}`);
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, text);
    return file;
  };
  const train = (epochs: number, extra: string): string => `{ epochs: ${epochs}, batchSize: 1024, seed: 3, optimizer: { type: adam, lr: 0.01 }${extra} }`;
  const run = async (name: string, epochs: number, extra: string, opts: { resume?: boolean } = {}): Promise<TrainRunResult> =>
    runTraining(await loadExperimentConfig(write(name, train(epochs, extra)), root), { quiet: true, ...opts });
  let plain: TrainRunResult;
  let constrained: TrainRunResult;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-biascons-'));
    plain = await run('plain', 2, '');
    constrained = await run('constrained', 2, `, biasConstraints: ${BC}`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('shrinks the calibration bias of the constrained slices versus the unconstrained run', () => {
    const before = fitSliceBias(plain, 'education', 8), after = fitSliceBias(constrained, 'education', 8);
    const worst = (b: number[]): number => Math.max(...b.map(Math.abs));
    const mean = (b: number[]): number => b.reduce((a, v) => a + Math.abs(v), 0) / b.length;
    assert.ok(worst(after) < 0.6 * worst(before), `worst slice |bias| ${worst(before)} → ${worst(after)}`);
    assert.ok(mean(after) < mean(before), `mean slice |bias| ${mean(before)} → ${mean(after)}`);
    // A calibration term, not a different model: the ranking stays close.
    assert.ok(Math.abs(constrained.test.auc! - plain.test.auc!) < 0.01);
  });

  it('logs λ per epoch and reports the per-slice bias of the constraint\'s slices', () => {
    const epochs = parseMetricLog(readFileSync(constrained.logFile, 'utf8')).filter((r) => r.event === 'epoch');
    assert.equal(epochs.length, 2);
    for (const e of epochs) {
      const lambda = Array.from({ length: 8 }, (_, k) => e[`bias_lambda_${k}`]);
      assert.ok(lambda.every((l) => typeof l === 'number' && Number.isFinite(l)), JSON.stringify(e));
      assert.ok(lambda.some((l) => l !== 0));
    }
    assert.equal(parseMetricLog(readFileSync(plain.logFile, 'utf8')).find((r) => r.event === 'epoch')!.bias_lambda_0, undefined);
    const report = JSON.parse(readFileSync(join(constrained.output, 'report.json'), 'utf8')) as { tasks: { sections: { kind: string; by?: string; title: string; slices?: { slice: string; rows: number }[] }[] }[] };
    const s = report.tasks[0]!.sections.find((x) => x.kind === 'sliceBias' && x.title.includes('bias constraint'));
    assert.ok(s, 'the report has the constraint\'s slices');
    assert.equal(s.by, 'education');
    assert.equal(s.slices!.length, 9);
    assert.match(s.slices![0]!.slice, /^High school graduate \(λ -?\d/);
    assert.equal(s.slices![8]!.slice, '(no slice)');
    assert.equal(s.slices!.reduce((a, x) => a + x.rows, 0), constrained.rows.test);
  });

  it('a resumed run is bit-identical to an uninterrupted one (λ is checkpointed)', async () => {
    const pctr = ', biasConstraints: { slices: { by: pctr, buckets: 5 }, lr: 1, alpha: 0.1, rampStart: 20, rampSteps: 30 }';
    const whole = await run('whole', 2, pctr);
    await run('split', 1, pctr);
    const resumed = await run('split', 2, pctr, { resume: true });
    assert.ok(resumed.train.resumed);
    const last = (r: TrainRunResult): unknown => parseMetricLog(readFileSync(r.logFile, 'utf8')).filter((x) => x.event === 'epoch').at(-1)!.bias_lambda_0;
    assert.equal(last(resumed), last(whole));
    assert.deepEqual(readFileSync(join(resumed.modelDir, 'model.safetensors')), readFileSync(join(whole.modelDir, 'model.safetensors')));
  });

  it('config errors name the key', async () => {
    const bad = async (bc: string, re: RegExp): Promise<void> => {
      await assert.rejects(async () => loadExperimentConfig(write('bad', train(1, `, biasConstraints: ${bc}`)), root), re);
    };
    await bad('{ slices: { by: field, field: educaton }, lr: 1 }', /bad\.yaml: train\.biasConstraints\.slices\.field: no categorical field "educaton" in data\.fields \(categorical fields: class_worker, /);
    await bad('{ slices: { by: field, field: age }, lr: 1 }', /train\.biasConstraints\.slices\.field: no categorical field "age"/);
    await bad('{ slices: { by: pctr, buckets: 10 }, lr: 1, lamda: 2 }', /bad\.yaml: train\.biasConstraints: .*lamda/);
    await bad('{ slices: { by: position }, lr: 1 }', /train\.biasConstraints\.slices.*'pctr' or 'field'/);
    await bad('{ slices: { by: pctr, buckets: 1 }, lr: 1 }', /train\.biasConstraints\.slices\.buckets/);
    await bad('{ slices: { by: pctr }, lr: 0 }', /train\.biasConstraints\.lr/);
    await bad('{ slices: { by: pctr }, lr: 1, alpha: -1 }', /train\.biasConstraints\.alpha/);
  });
});

describe('rankBuckets', () => {
  it('splits by rank into equal-count buckets, ties by row order', () => {
    assert.deepEqual(Array.from(rankBuckets([0.5, -1, 2, 0.5, 3, -2], 3)), [1, 0, 2, 1, 2, 0]);
    assert.deepEqual(Array.from(rankBuckets([1, 1, 1, 1], 2)), [0, 0, 1, 1]);
  });
});
