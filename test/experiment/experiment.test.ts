/**
 * `ctrkit experiment` end to end on the bundled census-income data: LR, 1 epoch, 2 cells ×
 * 2 seeds in parallel child processes; the report; resuming; independence of parallelism.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadGridConfig } from '../../src/experiment/grid.js';
import { runExperiment, type ExperimentResult } from '../../src/experiment/runner.js';
import { buildReport, writeReport } from '../../src/experiment/report.js';
import type { RunSummary } from '../../src/experiment/runSummary.js';
import { packageRoot } from '../helpers/sharedData.js';

const root = packageRoot();
const cli = join(root, 'dist', 'src', 'cli', 'main.js');

function gridFile(dir: string, name: string, parallel: number): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `base: examples/census-income.yaml
set:
  model: { type: lr }
  train: { epochs: 1, batchSize: 2048, seed: 1, optimizer: { type: adam, lr: 0.01 }, probes: true, logEvery: 5 }
grid:
  train.loss: [ { type: bce }, { type: combined-pair, alpha: 0.5 } ]
  seeds: [ 1, 2 ]
output: ${join(dir, name)}
parallel: ${parallel}
`);
  return file;
}

const files = ['report.md', 'report.html', 'charts/grad_neg_logit.svg', 'charts/reliability-loss=bce.svg', 'charts/reliability-loss=combined-pair_alpha0.5.svg'];

describe('ctrkit experiment on census-income', () => {
  let dir: string;
  let first: ExperimentResult;
  let lines: string[];
  let out: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-exp-'));
    const grid = await loadGridConfig(gridFile(dir, 'par', 2), root);
    out = grid.output;
    lines = [];
    first = await runExperiment(grid, { progress: (l) => lines.push(l) });
    writeReport(out, await buildReport(grid, first.cells, first.summaries, { warn: (m) => { throw new Error(`chart warning: ${m}`); } }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every cell × seed, stores a summary per run and writes the report', () => {
    assert.equal(first.ran, 4);
    assert.deepEqual(first.failed, []);
    assert.equal(lines.length, 4, 'a progress line per finished run');
    assert.match(lines.join('\n'), /\[4\/4\] loss=\S+ seed \d: auc 0\.\d{4}, logloss 0\.\d{4}, ece 0\.\d{4}/);
    for (const cell of ['loss=bce', 'loss=combined-pair_alpha0.5']) {
      for (const seed of [1, 2]) {
        const s = JSON.parse(readFileSync(join(out, 'runs', cell, `seed${seed}.json`), 'utf8')) as RunSummary;
        assert.equal(s.cell, cell);
        assert.equal(s.seed, seed);
        assert.ok(s.test.auc! > 0.85);
        assert.ok(s.reliability && s.reliability.bins.length === 10);
        assert.ok(s.probes && s.probes.values.grad_neg_logit!.length === s.probes.steps.length && s.probes.steps.length > 0);
        assert.ok(existsSync(join(out, 'runs', cell, `seed${seed}`, 'model', 'manifest.json')));
        assert.ok(s.cost && s.cost.denseParams > 0 && s.cost.trainRowsPerSec! > 0 && s.cost.threads === 1, JSON.stringify(s.cost));
      }
    }
    for (const f of files) assert.ok(existsSync(join(out, f)), f);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    assert.match(md, /\| loss=bce \| 2 \| 0\.\d{4} ± 0\.\d{4} \| 0\.\d{4} ± 0\.\d{4} \| 0\.\d{4} ± 0\.\d{4} \|/);
    assert.match(md, /\| loss=combined-pair_alpha0\.5 \| [+-]0\.\d{4} \[-?0\.\d{4}, -?0\.\d{4}\]/);
    assert.match(md, /## Cost\n/);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.equal((html.match(/<svg /g) ?? []).length, 3, 'gradient chart and two reliability diagrams inline');
    assert.match(html, /class="mark-line role-mark/, 'Vega line marks');
    assert.doesNotMatch(html, /<script|<link|https?:\/\/(?!www\.w3\.org)/, 'self-contained');
  });

  it('a second invocation (the CLI) runs nothing and writes the same report', () => {
    const before = files.map((f) => readFileSync(join(out, f), 'utf8'));
    const r = spawnSync('node', [cli, 'experiment', gridFile(dir, 'par', 2)], { encoding: 'utf8', cwd: root });
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { ran: number; skipped: number };
    assert.equal(summary.ran, 0);
    assert.equal(summary.skipped, 4);
    assert.match(r.stderr, /4 of 4 runs finished earlier; 0 to run/);
    assert.deepEqual(files.map((f) => readFileSync(join(out, f), 'utf8')), before);
  });

  it('a changed config re-runs only the runs it changes', async () => {
    const file = gridFile(dir, 'par', 2);
    writeFileSync(file, readFileSync(file, 'utf8').replace('seeds: [ 1, 2 ]', 'seeds: [ 1, 2, 3 ]'));
    const r = await runExperiment(await loadGridConfig(file, root), { progress: null });
    assert.equal(r.ran, 2);
    assert.equal(r.skipped, 4);
    assert.equal(r.summaries.length, 6);
  });

  it('results do not depend on parallelism', async () => {
    const serialLines: string[] = [];
    const serial = await runExperiment(await loadGridConfig(gridFile(dir, 'serial', 1), root), { progress: (l) => serialLines.push(l) });
    // Seed-major: each seed runs every cell before the next seed, so load drift hits all cells alike.
    assert.deepEqual(serialLines.map((l) => / (\S+) seed (\d):/.exec(l)!.slice(1).join(' ')),
      ['loss=bce 1', 'loss=combined-pair_alpha0.5 1', 'loss=bce 2', 'loss=combined-pair_alpha0.5 2']);
    const key = (s: RunSummary): string => `${s.cell}/${s.seed}`;
    const par = new Map(first.summaries.map((s) => [key(s), s]));
    assert.equal(serial.summaries.length, 4);
    for (const s of serial.summaries) {
      assert.deepEqual(s.test, par.get(key(s))!.test, key(s));
      assert.deepEqual(s.probes, par.get(key(s))!.probes, key(s));
    }
  });

  it('a bad grid key is a one-line CLI error naming it', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'base: examples/census-income.yaml\ngrid:\n  trian.loss: [ { type: bce } ]\noutput: x\n');
    const r = spawnSync('node', [cli, 'experiment', bad], { encoding: 'utf8', cwd: root });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^ctrkit: .*grid key 'trian.loss': 'trian' is not a section/);
  });

  it('after: the teacher grid runs first and each student reads its own seed\'s teacher; a cycle is refused', () => {
    const small = 'model: { type: lr }\n  train: { epochs: 1, batchSize: 2048, seed: 1, optimizer: { type: adam, lr: 0.01 } }';
    writeFileSync(join(dir, 'teach.yaml'), `base: examples/census-income.yaml\nset:\n  ${small}\nseeds: [ 1, 2 ]\noutput: ${join(dir, 'teach')}\n`);
    const student = join(dir, 'student.yaml');
    writeFileSync(student, `base: examples/census-income.yaml
set:
  ${small}
  train.distill: { type: pointwise, teacher: { model: "${join(dir, 'teach')}/runs/base/seed\${seed}/model" } }
seeds: [ 1, 2 ]
after: [ ${join(dir, 'teach.yaml')} ]
output: ${join(dir, 'student')}
`);
    const r = spawnSync('node', [cli, 'experiment', '--quiet', student], { encoding: 'utf8', cwd: root });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { output: string }).output), [join(dir, 'teach'), join(dir, 'student')]);
    for (const seed of [1, 2]) {
      const m = JSON.parse(readFileSync(join(dir, 'student', 'runs', 'base', `seed${seed}`, 'model', 'manifest.json'), 'utf8')) as { distillation: { teacher: { path: string } } };
      assert.equal(m.distillation.teacher.path, join(dir, 'teach', 'runs', 'base', `seed${seed}`, 'model'));
    }
    writeFileSync(join(dir, 'loop.yaml'), `base: examples/census-income.yaml\noutput: ${join(dir, 'loop')}\nafter: [ ${join(dir, 'loop2.yaml')} ]\n`);
    writeFileSync(join(dir, 'loop2.yaml'), `base: examples/census-income.yaml\noutput: ${join(dir, 'loop2')}\nafter: [ ${join(dir, 'loop.yaml')} ]\n`);
    const c = spawnSync('node', [cli, 'experiment', join(dir, 'loop.yaml')], { encoding: 'utf8', cwd: root });
    assert.equal(c.status, 1);
    assert.match(c.stderr, /runs after itself/);
    assert.ok(!existsSync(join(dir, 'loop2', 'runs')), 'nothing ran');
  });
});
