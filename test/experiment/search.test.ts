/**
 * `train.search` end to end on a census-income slice: a search interrupted mid-epoch and resumed
 * from its checkpoint ends bit-identically with the uninterrupted one (chosen model, controller
 * trajectory); the run saves the chosen candidate as an ordinary dcnv2 model and writes a
 * chosen.yaml that loads as a config of that model; random search spends the same budget; and
 * configs the search cannot serve are refused with the key named.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadExperimentConfig } from '../../src/experiment/config.js';
import { runTraining, type TrainRunResult } from '../../src/experiment/trainRun.js';
import { loadModel } from '../../src/io/modelFile.js';
import { dcnv2Flops } from '../../src/models/flops.js';
import { writeCensusSlice } from '../helpers/censusSlice.js';
import { packageRoot } from '../helpers/sharedData.js';

const root = packageRoot();
const model = '{ type: dcnv2, dim: 8, hidden: [16, 16], crossLayers: 2 }';
const train = (search: string): string =>
  `{ epochs: 2, batchSize: 256, seed: 5, logEvery: 2, optimizer: { type: adam, lr: 0.003 }, search: ${search} }`;
const SEARCH = '{ dims: [4, 8], hidden: [8, 16], target: 0.9, rewardRows: 250, warmup: 2 }';

interface SearchReport {
  method: string;
  chosen: { model: { dim: number; hidden: number[] }; flops: number; choice: number[] };
  baseline: { flops: number };
  probabilities: number[][];
  trajectory: { step: number; reward: number; baseline: number; parts: { accuracy: number; cost: number }; architecture: { dim: number; hidden: number[] } }[];
}

/** An AbortSignal that turns aborted at its n-th read: the trainer reads it once per epoch start and once after every step. */
function abortAtRead(n: number): AbortSignal {
  let reads = 0;
  return { get aborted() { return ++reads >= n; } } as unknown as AbortSignal;
}

describe('efficiency search (train.search)', () => {
  let dir: string;
  let layout: { numFields: number; denseDim: number };
  let searched: TrainRunResult;
  const run = async (name: string, search: string, opts: { resume?: boolean; signal?: AbortSignal } = {}): Promise<TrainRunResult> => {
    mkdirSync(join(dir, name), { recursive: true });
    const slice = writeCensusSlice(join(dir, name), { model, train: train(search), rows: { fit: 1500, validation: 500, test: 500 } });
    return runTraining(await loadExperimentConfig(slice.config, root), { quiet: true, threads: 1, ...opts });
  };
  const read = (name: string, file: string): Buffer => readFileSync(join(dir, name, 'out', file));
  const report = (name: string): SearchReport => JSON.parse(read(name, 'search.json').toString('utf8')) as SearchReport;

  before(() => { dir = mkdtempSync(join(tmpdir(), 'ctrkit-search-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('resumed mid-epoch, the search ends bit-identically with the uninterrupted one', async () => {
    const straight = searched = await run('straight', SEARCH);
    layout = { numFields: straight.dataset.numFields, denseDim: straight.dataset.denseNames?.length ?? 0 };
    const cut = await run('resumed', SEARCH, { signal: abortAtRead(5) });
    assert.equal(cut.train.interrupted, true);
    assert.equal(cut.train.globalStep, 4);
    const resumed = await run('resumed', SEARCH, { resume: true });
    assert.equal(resumed.train.resumed, true);
    assert.equal(resumed.train.globalStep, straight.train.globalStep);
    assert.deepEqual(report('resumed'), report('straight'));
    assert.ok(read('resumed', 'model/model.safetensors').equals(read('straight', 'model/model.safetensors')), 'chosen model weights differ');
    assert.deepEqual(resumed.test, straight.test);
  });

  it('saves the chosen candidate as an ordinary dcnv2 model and chosen.yaml as a config of it', async () => {
    const r = report('straight');
    // 12 training steps, a controller step after each one past the 2 warm-up steps.
    assert.equal(r.trajectory.length, 10);
    assert.ok(r.trajectory.every((t) => t.parts.cost === dcnv2FlopsOf(t.architecture, layout)));
    assert.equal(r.baseline.flops, dcnv2FlopsOf({ dim: 8, hidden: [16, 16] }, layout));
    const saved = loadModel(join(dir, 'straight', 'out', 'model'));
    assert.equal(saved.model.kind, 'dcnv2');
    const m = saved.manifest.model as { dim: number; hidden: number[] };
    assert.deepEqual({ dim: m.dim, hidden: m.hidden }, { dim: r.chosen.model.dim, hidden: r.chosen.model.hidden });
    const chosen = await loadExperimentConfig(join(dir, 'straight', 'out', 'chosen.yaml'), root);
    assert.equal(chosen.train.search, undefined);
    assert.deepEqual(chosen.model, saved.manifest.model);
    assert.equal(chosen.output, join(dir, 'straight', 'out', 'retrain'));
    // The report charts the trajectory: P(candidate) per epoch, the controller steps' reward.
    const rep = JSON.parse(read('straight', 'report.json').toString('utf8')) as { training: { title: string; series: { name: string; y: (number | null)[] }[] }[] };
    const probs = rep.training.find((x) => x.title === 'Search: controller probabilities')!;
    assert.deepEqual(probs.series.map((x) => x.name), ['dim_4', 'dim_8', 'hidden0_8', 'hidden0_16', 'hidden1_8', 'hidden1_16']);
    assert.deepEqual(probs.series.map((x) => x.y[x.y.length - 1]), r.probabilities.flat());
    assert.ok(rep.training.find((x) => x.title === 'Search: controller steps')!.series.some((x) => x.name === 'reward'));
  });

  it('retrain: true trains chosen.yaml from scratch after the search, and the run returns that model', async () => {
    const r = await run('retrain', SEARCH.replace('}', ', retrain: true }'));
    assert.deepEqual(report('retrain'), report('straight'), 'the search itself is the same');
    assert.equal(r.output, join(dir, 'retrain', 'out', 'retrain'));
    assert.equal(r.logFile, join(dir, 'retrain', 'out', 'retrain', 'log.jsonl'));
    // The same as training chosen.yaml by hand (same seed): bit-identical weights and metrics.
    const byHand = await runTraining(await loadExperimentConfig(join(dir, 'straight', 'out', 'chosen.yaml'), root), { quiet: true, threads: 1 });
    assert.ok(read('retrain', 'retrain/model/model.safetensors').equals(readFileSync(join(byHand.modelDir, 'model.safetensors'))), 'retrained weights differ from a from-scratch run of chosen.yaml');
    assert.deepEqual(r.test, byHand.test);
    // Not the search's own model (the chosen candidate with the super-network's weights).
    assert.notDeepEqual(r.test, searched.test);
  });

  it('random search: the same budget, uniform probabilities, the best mean advantage R − R̄ chosen', async () => {
    await run('random', SEARCH.replace('{ ', '{ method: random, '));
    const r = report('random');
    assert.equal(r.method, 'random');
    assert.equal(r.trajectory.length, report('straight').trajectory.length);
    assert.deepEqual(r.probabilities, [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]);
    const means = new Map<string, { sum: number; n: number }>();
    for (const t of r.trajectory) {
      const k = JSON.stringify(t.architecture);
      const m = means.get(k) ?? { sum: 0, n: 0 };
      means.set(k, { sum: m.sum + t.reward - t.baseline, n: m.n + 1 });
    }
    const best = Math.max(...[...means.values()].map((m) => m.sum / m.n));
    const mine = means.get(JSON.stringify({ dim: r.chosen.model.dim, hidden: r.chosen.model.hidden }))!;
    assert.equal(mine.sum / mine.n, best);
  });

  it('cost: time measures each candidate once, the baseline included', async () => {
    await run('time', '{ dims: [4, 8], target: 0.9, rewardRows: 250, cost: time, timingSteps: 2 }');
    const r = report('time') as SearchReport & { cost: string; baseline: { cost: number } };
    assert.equal(r.cost, 'time');
    assert.ok(r.baseline.cost > 0);
    const seen = new Map<number, number>();
    for (const t of r.trajectory) {
      assert.ok(t.parts.cost > 0);
      if (seen.has(t.architecture.dim)) assert.equal(t.parts.cost, seen.get(t.architecture.dim));
      seen.set(t.architecture.dim, t.parts.cost);
    }
    // The baseline is the dim-8 candidate: the same measurement.
    if (seen.has(8)) assert.equal(seen.get(8), r.baseline.cost);
  });

  it('refuses what it cannot search, naming the key', async () => {
    mkdirSync(join(dir, 'bad'), { recursive: true });
    const slice = writeCensusSlice(join(dir, 'bad'), { model, train: train(SEARCH), rows: { fit: 10, validation: 10, test: 10 } });
    const text = readFileSync(slice.config, 'utf8');
    const bad = async (m: string, s: string): Promise<void> => {
      writeFileSync(slice.config, text.replace(/^model:.*$/m, `model: ${m}`).replace(/^train:.*$/m, `train: ${train(s)}`));
      await loadExperimentConfig(slice.config, root);
    };
    await assert.rejects(bad('{ type: dnn, dim: 8, hidden: [16] }', SEARCH), /train\.search: searches a dcnv2 super-network; model\.type is 'dnn'/);
    await assert.rejects(bad(model, '{ dims: [8], target: 0.9 }'), /train\.search: nothing to search/);
    await assert.rejects(bad(model, `${SEARCH}, online: { hashBuckets: 1024 }`), /train\.search: not supported with train\.online/);
    await assert.rejects(bad(model, `${SEARCH}, distill: { type: pointwise, teacher: { model: { type: lr } } }`), /train\.search: not supported with train\.distill/);
    await assert.rejects(bad(model, '{ dims: [4, 8], target: 0.9, gamma: 0.5 }'), /train\.search\.gamma: /);
    await assert.rejects(bad(model, '{ dims: [4, 8], target: 0.9, hiden: [8] }'), /train\.search: .*hiden/);
  });
});

function dcnv2FlopsOf(a: { dim: number; hidden: number[] }, layout: { numFields: number; denseDim: number }): number {
  return dcnv2Flops({ ...layout, dim: a.dim, hidden: a.hidden, crossLayers: 2, structure: 'parallel' });
}
