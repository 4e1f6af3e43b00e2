/**
 * Multi-task runs end to end on a slice of the AdKDD'21 displays: ESMM trained on CTR and CTCVR,
 * CVR judged on clicked rows; the summary, `predict`, `eval` and the saved model agree, per task,
 * with independent computations; data.sampling of the clicks' negatives is undone per task
 * (CTCVR by SPEC §3's r').
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadExperimentConfig } from '../../src/experiment/config.js';
import { runTraining } from '../../src/experiment/trainRun.js';
import { loadScoringModel } from '../../src/experiment/scoring.js';
import { predictHeads } from '../../src/train/predict.js';
import { MultiTaskModel } from '../../src/models/ctrModel.js';
import { ADKDD_FILES, writeAdkddSlice, type AdkddSlice } from '../helpers/adkddSlice.js';
import { writeCensusSlice } from '../helpers/censusSlice.js';
import { parseMetricLog } from '../../src/train/metricLog.js';
import { skipWithoutSharedData } from '../helpers/sharedData.js';
import { pairAuc } from '../helpers/pairAuc.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const skip = skipWithoutSharedData(...ADKDD_FILES);
let dir = '';
before(() => { dir = mkdtempSync(join(tmpdir(), 'ctrkit-mtl-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

const ESMM_TASKS = 'tasks: [{ name: ctr, label: click }, { name: ctcvr, label: sale }, { name: cvr, label: sale, on: click, weight: 0 }]';

function slice(name: string, train = ESMM_TASKS, extra?: (y: string) => string): AdkddSlice {
  const sub = join(dir, name);
  mkdirSync(sub, { recursive: true });
  const s = writeAdkddSlice(sub, { model: '{ type: esmm, dim: 8, bottom: [32], tower: [16] }', train });
  if (extra) {
    const text = readFileSync(s.config, 'utf8');
    writeFileSync(s.config, extra(text));
  }
  return s;
}

function cli(...args: string[]): string {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}


/** predict's CSV as columns by name. */
function readColumns(file: string): Record<string, number[]> {
  const [head, ...rows] = readFileSync(file, 'utf8').trim().split('\n');
  const names = head!.split(',');
  const out: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const r of rows) r.split(',').forEach((v, i) => out[names[i]!]!.push(Number(v)));
  return out;
}

describe('multi-task: ESMM on AdKDD\'21 displays', { skip }, () => {
  it('summary, predict and eval agree per task; CVR is judged on clicked rows; pCTCVR = pCTR·pCVR', () => {
    const s = slice('esmm');
    const summary = JSON.parse(cli('train', s.config, '-q')) as { test: Record<string, Record<string, number>>; validation: Record<string, unknown>; model: string };
    assert.deepEqual(Object.keys(summary.test).sort(), ['ctcvr', 'ctr', 'cvr']);
    assert.equal(typeof summary.validation.auc, 'number', 'the combined validation metric that picked the epoch');
    const vt = summary.validation as Record<string, Record<string, number>>;
    assert.ok(Math.abs((summary.validation.auc as number) - (vt.ctr!.auc! + vt.ctcvr!.auc!) / 2) < 1e-12, 'validation auc is the mean over the trained tasks');
    const out = join(dir, 'esmm', 'preds.csv');
    cli('predict', '-m', summary.model, '-i', s.test, '-o', out, '--logits');
    const c = readColumns(out);
    assert.deepEqual(Object.keys(c), ['line', 'score_ctr', 'score_ctcvr', 'score_cvr', 'label_ctr', 'label_ctcvr', 'label_cvr', 'logit_ctr', 'logit_ctcvr', 'logit_cvr']);
    for (let i = 0; i < c.line!.length; i++) {
      const prod = c.score_ctr![i]! * c.score_cvr![i]!;
      assert.ok(Math.abs(c.score_ctcvr![i]! - prod) <= 1e-5 * prod + 1e-9, `row ${i}: pCTCVR ${c.score_ctcvr![i]} vs pCTR·pCVR ${prod}`);
    }
    assert.ok(Math.abs(summary.test.ctr!.auc! - pairAuc(c.score_ctr!, c.label_ctr!)) < 1e-9, 'CTR AUC over every test row');
    assert.ok(Math.abs(summary.test.ctcvr!.auc! - pairAuc(c.score_ctcvr!, c.label_ctcvr!)) < 1e-9, 'CTCVR AUC over every test row');
    const clicked = c.label_ctr!.map((v) => v === 1);
    const cvrAuc = pairAuc(c.score_cvr!.filter((_, i) => clicked[i]), c.label_cvr!.filter((_, i) => clicked[i]));
    assert.ok(Math.abs(summary.test.cvr!.auc! - cvrAuc) < 1e-9, `CVR AUC over clicked rows: ${summary.test.cvr!.auc} vs ${cvrAuc}`);
    const ev = JSON.parse(cli('eval', '-m', summary.model, '-i', s.test)) as Record<string, Record<string, number>>;
    for (const t of ['ctr', 'ctcvr', 'cvr']) {
      for (const m of ['auc', 'logloss', 'ece']) assert.ok(Math.abs(ev[t]![m]! - summary.test[t]![m]!) < 1e-12, `eval ${t}.${m}`);
    }
    assert.equal(ev.cvr!.rows, clicked.filter(Boolean).length);
    // ctrkit metrics on predict's file, CVR judged on clicked rows as in training.
    const mt = JSON.parse(cli('metrics', '-i', out, '--on', 'cvr=label_ctr')) as Record<string, Record<string, number>>;
    for (const t of ['ctr', 'ctcvr', 'cvr']) {
      for (const m of ['auc', 'logloss']) assert.ok(Math.abs(mt[t]![m]! - summary.test[t]![m]!) < 1e-9, `metrics ${t}.${m}: ${mt[t]![m]} vs ${summary.test[t]![m]}`);
    }
    assert.equal(mt.cvr!.rows, clicked.filter(Boolean).length);
    const bad = spawnSync(process.execPath, [MAIN, 'metrics', '-i', out, '--on', 'cvt=label_ctr'], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--on cvt=label_ctr: no task 'cvt' in the file \(score_<task> columns: ctr, ctcvr, cvr\)/);
  });

  it('a task with one class in validation is named, not passed off as a number', () => {
    const sub = join(dir, 'oneclass');
    mkdirSync(sub, { recursive: true });
    const s = writeAdkddSlice(sub, {
      model: '{ type: esmm, dim: 4, bottom: [8], tower: [4] }',
      train: 'tasks: [{ name: ctr, label: click }, { name: cvr, label: sale, on: click }]\nvalidationTasks: { ctr: 1, cvr: 1 }',
      rows: { fit: 2000, validation: 500, test: 500 },
      editRows: (rows) => { rows.validation = rows.validation.map((r) => r.replace(/,1$/, ',0')); },
    });
    const r = spawnSync(process.execPath, [MAIN, 'train', s.config, '-q'], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /train\.validationMetric: 'auc' has no value on the validation rows: task cvr: label sale has 0 positives and \d+ negatives on its \d+ validation rows \(where click is 1\)/);
    assert.doesNotMatch(r.stderr, /NaN|internal error/);
  });

  it('two tasks read one head: a shared-bottom\'s sale head judged on every display and on clicked ones', () => {
    const sub = join(dir, 'head');
    mkdirSync(sub, { recursive: true });
    const s = writeAdkddSlice(sub, {
      model: '{ type: shared-bottom, dim: 4, bottom: [16], tower: [8] }',
      train: 'tasks: [{ name: click }, { name: sale }, { name: cvr, head: sale, label: sale, on: click, weight: 0 }]\nvalidationTasks: { click: 1, sale: 1 }',
    });
    const summary = JSON.parse(cli('train', s.config, '-q')) as { test: Record<string, Record<string, number>>; model: string };
    const manifest = JSON.parse(readFileSync(join(summary.model, 'manifest.json'), 'utf8')) as { dims: { tasks: string[] }; tasks: { name: string; head?: string }[] };
    assert.deepEqual(manifest.dims.tasks, ['click', 'sale'], 'two heads, not three');
    assert.equal(manifest.tasks[2]!.head, 'sale');
    const out = join(sub, 'preds.csv');
    cli('predict', '-m', summary.model, '-i', s.test, '-o', out);
    const c = readColumns(out);
    assert.deepEqual(c.score_cvr, c.score_sale, 'the cvr task scores with the sale head');
    const clicked = c.label_click!.map((v) => v === 1);
    const cvrAuc = pairAuc(c.score_sale!.filter((_, i) => clicked[i]), c.label_sale!.filter((_, i) => clicked[i]));
    assert.ok(Math.abs(summary.test.cvr!.auc! - cvrAuc) < 1e-9, `${summary.test.cvr!.auc} vs ${cvrAuc}`);
    assert.ok(Math.abs(summary.test.sale!.auc! - pairAuc(c.score_sale!, c.label_sale!)) < 1e-9);
  });

  it('the saved model gives bit-identical per-task logits', async () => {
    const s = slice('saved');
    const r = await runTraining(await loadExperimentConfig(s.config), { quiet: true });
    assert.ok(r.model instanceof MultiTaskModel);
    const rows = r.split.test;
    const inMemory = predictHeads(r.model, r.dataset, rows);
    const loaded = loadScoringModel(r.modelDir);
    const again = predictHeads(loaded.model, r.dataset, rows);
    for (const h of ['ctr', 'cvr', 'ctcvr']) {
      assert.ok(Buffer.from(inMemory.get(h)!.buffer).equals(Buffer.from(again.get(h)!.buffer)), `head ${h}`);
    }
  });

  it('data.sampling of the clicks\' negatives: CTR corrected by r, CVR not at all, CTCVR by r\'', async () => {
    const s = slice('sampled', ESMM_TASKS, (y) => y.replace(/^(\s*labels:.*)$/m, '$1\n  sampling: { negativeRate: 0.5, seed: 7 }'));
    const r = await runTraining(await loadExperimentConfig(s.config), { quiet: true });
    const fit = r.split.fit;
    const click = r.dataset.labels[0]!.subarray(fit.start, fit.end);
    const sale = r.dataset.labels[1]!.subarray(fit.start, fit.end);
    let x1 = 0, x2 = 0;
    for (let i = 0; i < click.length; i++) {
      if (click[i] === 0) x1++;
      else if (sale[i] === 0) x2++;
    }
    const expected = (x1 + x2) / (x1 / 0.5 + x2);
    const manifest = JSON.parse(readFileSync(join(r.modelDir, 'manifest.json'), 'utf8')) as { sampling: { negativeSampleRate: number }; tasks: { name: string; sampling?: { negativeSampleRate: number } | null }[] };
    assert.equal(manifest.sampling.negativeSampleRate, 0.5);
    const byName = Object.fromEntries(manifest.tasks.map((t) => [t.name, t]));
    assert.equal(byName.ctr!.sampling, undefined, 'the run\'s record (r) applies to CTR');
    assert.equal(byName.cvr!.sampling, null, 'no correction for CVR on clicks');
    assert.ok(Math.abs(byName.ctcvr!.sampling!.negativeSampleRate - expected) < 1e-12, `r' ${byName.ctcvr!.sampling!.negativeSampleRate} vs ${expected}`);
    const out = join(dir, 'sampled', 'preds.csv');
    cli('predict', '-m', r.modelDir, '-i', s.test, '-o', out, '--logits');
    const c = readColumns(out);
    const corrected = (z: number, rate: number): number => {
      const p = 1 / (1 + Math.exp(-z));
      return (p * rate) / (p * rate + (1 - p));
    };
    for (let i = 0; i < 50; i++) {
      assert.ok(Math.abs(c.score_ctr![i]! - corrected(c.logit_ctr![i]!, 0.5)) < 1e-6);
      assert.ok(Math.abs(c.score_cvr![i]! - 1 / (1 + Math.exp(-c.logit_cvr![i]!))) < 1e-6);
      assert.ok(Math.abs(c.score_ctcvr![i]! - corrected(c.logit_ctcvr![i]!, expected)) < 1e-6);
    }
  });
});

describe('multi-task: census-income MMoE (income, never married)', () => {
  const MARITAL = (y: string): string => y.replace(/^(\s*- \{ name: income, .*)$/m, '$1\n    - { name: marital, column: marital_stat, type: binary, positive: { equals: Never married } }');
  const write = (name: string, epochs: number, multitask: string): string => {
    const sub = join(dir, name);
    mkdirSync(sub, { recursive: true });
    return writeCensusSlice(sub, {
      model: '{ type: mmoe, dim: 4, experts: 3, expert: [16], tower: [8], dropout: 0.1 }',
      train: `{ epochs: ${epochs}, batchSize: 128, seed: 2, optimizer: { type: adam, lr: 0.01 }, tasks: [{ name: income }, { name: marital, weight: 0.5 }], multitask: ${multitask} }`,
      rows: { fit: 1500, validation: 500, test: 500 },
      edit: MARITAL,
    }).config;
  };

  for (const [name, multitask] of [['dwa', '{ type: dwa }'], ['gradvac', '{ type: gradvac, split: chunk, chunkSize: 64 }'], ['gradnorm', '{ type: gradnorm }']] as const) {
    it(`${name}: a resumed run is bit-identical to an uninterrupted one (the method's state is checkpointed)`, async () => {
      const whole = await runTraining(await loadExperimentConfig(write(`${name}-whole`, 3, multitask)), { quiet: true });
      const splitCfg = write(`${name}-split`, 1, multitask);
      await runTraining(await loadExperimentConfig(splitCfg), { quiet: true });
      writeFileSync(splitCfg, readFileSync(splitCfg, 'utf8').replace('epochs: 1,', 'epochs: 3,'));
      const resumed = await runTraining(await loadExperimentConfig(splitCfg), { quiet: true, resume: true });
      assert.ok(resumed.train.resumed);
      assert.deepEqual(readFileSync(join(resumed.modelDir, 'model.safetensors')), readFileSync(join(whole.modelDir, 'model.safetensors')));
      const epochs = (r: typeof whole): Record<string, unknown>[] => parseMetricLog(readFileSync(r.logFile, 'utf8')).filter((x) => x.event === 'epoch');
      const last = epochs(whole).at(-1)!;
      assert.deepEqual(Object.entries(epochs(resumed).at(-1)!).filter(([k]) => k.startsWith('weight_') || k === 'loss'), Object.entries(last).filter(([k]) => k.startsWith('weight_') || k === 'loss'));
      const steps = parseMetricLog(readFileSync(whole.logFile, 'utf8')).filter((x) => x.event === 'step');
      assert.ok(steps.every((x) => typeof x.loss_income === 'number' && typeof x.loss_marital === 'number'), 'every step record has each task\'s loss');
    });
  }
});
