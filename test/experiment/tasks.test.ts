/**
 * train.tasks with a one-output model: the task path trains exactly what the plain path trains
 * for the same single task, and a task restricted to clicked rows (naive CVR) is trained and
 * evaluated on those rows only — checked against an independent AUC over `ctrkit predict`'s
 * output. A conversion without a click is an error naming the file and row, or dropped with a count.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadExperimentConfig } from '../../src/experiment/config.js';
import { runTraining } from '../../src/experiment/trainRun.js';
import { writeCensusSlice } from '../helpers/censusSlice.js';
import { ADKDD_FILES, writeAdkddSlice } from '../helpers/adkddSlice.js';
import { skipWithoutSharedData } from '../helpers/sharedData.js';
import { pairAuc } from '../helpers/pairAuc.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
let dir = '';
before(() => { dir = mkdtempSync(join(tmpdir(), 'ctrkit-tasks-')); });
after(() => rmSync(dir, { recursive: true, force: true }));


describe('train.tasks with a one-output model', () => {
  it('one task named in train.tasks trains the bits the plain config trains', async () => {
    const runs: Buffer[] = [];
    for (const [name, tasks] of [['plain', ''], ['tasks', ', tasks: [{ name: income }]']] as const) {
      const sub = join(dir, name);
      spawnSync('mkdir', ['-p', sub]);
      const s = writeCensusSlice(sub, {
        model: '{ type: dnn, dim: 4, hidden: [16], dropout: 0.1 }',
        train: `{ epochs: 2, batchSize: 128, seed: 3, optimizer: { type: adam, lr: 0.01 }${tasks} }`,
        rows: { fit: 1500, validation: 500, test: 500 },
      });
      const r = await runTraining(await loadExperimentConfig(s.config), { quiet: true, threads: 1 });
      runs.push(readFileSync(join(r.modelDir, 'model.safetensors')));
      if (name === 'tasks') assert.deepEqual(JSON.parse(readFileSync(join(r.modelDir, 'manifest.json'), 'utf8')).tasks, [{ name: 'income', label: 'income' }]);
    }
    assert.ok(runs[0]!.equals(runs[1]!), 'the task path changed the trained weights');
  });

  const skip = skipWithoutSharedData(...ADKDD_FILES);
  it('naive CVR: trained and evaluated on clicked rows only (AdKDD\'21 slice)', { skip }, () => {
    const sub = join(dir, 'cvr');
    spawnSync('mkdir', ['-p', sub]);
    const s = writeAdkddSlice(sub, { model: '{ type: dnn, dim: 8, hidden: [32] }', train: 'tasks: [{ name: cvr, label: sale, on: click }]' });
    const t = spawnSync(process.execPath, [MAIN, 'train', s.config, '-q'], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
    const summary = JSON.parse(t.stdout) as { test: Record<string, number>; model: string };
    const out = join(sub, 'preds.csv');
    const p = spawnSync(process.execPath, [MAIN, 'predict', '-m', summary.model, '-i', s.test, '-o', out], { encoding: 'utf8' });
    assert.equal(p.status, 0, p.stderr);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'line,score,label');
    assert.equal(lines.length - 1, s.rows.test.length, 'predict scores every row, clicked or not');
    const clicked = s.rows.test.map((r) => r.split(',').at(-2) === '1');
    const scored = lines.slice(1).map((l) => l.split(',').map(Number));
    const probs = scored.filter((_, i) => clicked[i]).map((r) => r[1]!);
    const sales = scored.filter((_, i) => clicked[i]).map((r) => r[2]!);
    assert.ok(sales.includes(1) && sales.includes(0), 'the slice has clicked rows of both classes');
    assert.ok(Math.abs(summary.test.auc! - pairAuc(probs, sales)) < 1e-9, `summary AUC ${summary.test.auc} vs ${pairAuc(probs, sales)} over ${probs.length} clicked rows`);
    const e = spawnSync(process.execPath, [MAIN, 'eval', '-m', summary.model, '-i', s.test], { encoding: 'utf8' });
    assert.equal(e.status, 0, e.stderr);
    const ev = JSON.parse(e.stdout) as { rows: number; auc: number };
    assert.ok(Math.abs(ev.auc - summary.test.auc!) < 1e-12, 'eval agrees with training on the clicked test rows');
  });

  it('a sale without a click: an error naming the file and row, or dropped with a count', { skip }, () => {
    const sub = join(dir, 'bad');
    spawnSync('mkdir', ['-p', sub]);
    const s = writeAdkddSlice(sub, {
      model: '{ type: dnn, dim: 4, hidden: [8] }', train: 'tasks: [{ name: cvr, label: sale, on: click }]',
      rows: { fit: 3000, validation: 1000, test: 1000 },
      editRows: (rows) => {
        const i = rows.validation.findIndex((r) => r.endsWith(',0,0'));
        rows.validation[i] = rows.validation[i]!.replace(/,0,0$/, ',0,1');
      },
    });
    const bad = s.rows.validation.findIndex((r) => r.endsWith(',0,1')) + 1;
    const t = spawnSync(process.execPath, [MAIN, 'train', s.config, '-q'], { encoding: 'utf8' });
    assert.equal(t.status, 1, t.stderr);
    assert.match(t.stderr, new RegExp(`validation\\.csv: data row ${bad} \\(validation file, header excluded\\): task cvr: label sale is 1 where label click is 0 \\(1 such rows\\)`));
    assert.doesNotMatch(t.stderr, /internal error|\n\s+at /);
    const k = spawnSync(process.execPath, [MAIN, 'train', s.config, '--on-bad-line', 'skip'], { encoding: 'utf8' });
    assert.equal(k.status, 0, k.stderr);
    assert.match(k.stderr, /task cvr: 1 rows have sale positive without click; they are dropped/);
  });
});
