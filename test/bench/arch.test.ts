/**
 * `npm run bench -- arch` (bench/arch.ts): its arguments, how searched architectures are loaded
 * (chosen.yaml files, model sections, inline YAML; duplicates counted, grid runs named by cell and
 * seeds), a grid file as the base, and a tiny run on a census slice: every architecture timed in
 * every phase and round, ratios against the baseline, FLOPs and dense weights of the models built.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cellTable, describeSources, loadArchitectures, loadBase, markdownTable, measureArchitectures, parseArchArgs, phaseSummary,
} from '../../bench/arch.js';
import { dcnv2Flops } from '../../src/models/flops.js';
import { parseModelConfig } from '../../src/models/registry.js';
import { writeCensusSlice } from '../helpers/censusSlice.js';

const BASE = '{ type: dcnv2, dim: 8, hidden: [32, 32], crossLayers: 2 }';

describe('bench arch: arguments', () => {
  it('reads the base, the models and the options, with defaults', () => {
    const a = parseArchArgs(['base.yaml', 'a/chosen.yaml', '--threads', '2', '--rounds=3', 'b.yaml', '--infer-batch', '100', '--markdown']);
    assert.equal(a.base, 'base.yaml');
    assert.deepEqual(a.models, ['a/chosen.yaml', 'b.yaml']);
    assert.deepEqual(a.threads, [2]);
    assert.equal(a.rounds, 3);
    assert.deepEqual(a.inferBatches, [100]);
    assert.equal(a.markdown, true);
    assert.equal(a.json, false);
    const d = parseArchArgs(['base.yaml']);
    assert.deepEqual([d.threads, d.rounds, d.windowSec, d.inferBatches, d.pool], [[1, 2], 9, 0.2, [4096, 100], 16]);
  });

  it('refuses a missing base, an unknown option and bad numbers, naming them', () => {
    assert.throws(() => parseArchArgs(['--threads', '1']), /give the base config/);
    assert.throws(() => parseArchArgs(['base.yaml', '--thread', '1']), /unknown option --thread/);
    assert.throws(() => parseArchArgs(['base.yaml', '--threads', '1,0']), /--threads takes positive integers.*'1,0'/);
    assert.throws(() => parseArchArgs(['base.yaml', '--rounds', '2,3']), /--rounds takes one positive integer/);
    assert.throws(() => parseArchArgs(['base.yaml', '--window-sec', 'x']), /--window-sec takes a positive number/);
  });

  it('names grid runs by cell and seeds, other sources as given', () => {
    assert.equal(describeSources(['runs/g/runs/search=r-85/seed3/chosen.yaml', 'baseline', 'runs/g/runs/search=r-85/seed1/chosen.yaml', 'runs/g/runs/search=x-90/seed2/chosen.yaml']),
      'baseline; search=r-85 seeds 1,3; search=x-90 seed 2');
  });
});

describe('bench arch: loading and a tiny run', () => {
  let dir: string;
  let config: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-bench-arch-'));
    config = writeCensusSlice(dir, { model: BASE, train: '{ epochs: 1, batchSize: 64, seed: 3, optimizer: { type: adam, lr: 0.001 } }', rows: { fit: 600, validation: 200, test: 200 } }).config;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const chosen = (cell: string, seed: number, model: string): string => {
    const d = join(dir, 'runs', cell, `seed${seed}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'chosen.yaml'), `# chosen\ndata: { source: { format: csv, path: x.csv } }\nmodel: ${model}\ntrain: { epochs: 1 }\noutput: out\n`);
    return join(d, 'chosen.yaml');
  };

  it('counts identical sections once, merges the baseline\'s own, reads bare sections and inline YAML', async () => {
    const small = '{ type: dcnv2, dim: 8, hidden: [16, 32], crossLayers: 2 }';
    const bare = join(dir, 'bare.yaml');
    writeFileSync(bare, '{ type: dcnv2, dim: 4, hidden: [32, 32], crossLayers: 2 }\n');
    const archs = await loadArchitectures(parseModelConfig({ type: 'dcnv2', dim: 8, hidden: [32, 32], crossLayers: 2 }), [
      chosen('search=a', 1, small), chosen('search=a', 2, BASE), chosen('search=b', 1, small), bare, '{ type: dcnv2, dim: 8, hidden: [16, 32], crossLayers: 2 }',
    ]);
    assert.equal(archs.length, 3);
    assert.deepEqual(archs.map((a) => a.sources.length), [2, 3, 1]);
    assert.deepEqual(archs[1]!.model.type === 'dcnv2' && archs[1]!.model.hidden, [16, 32]);
    assert.equal(describeSources(archs[1]!.sources), 'inline; search=a seed 1; search=b seed 1');
    assert.equal(archs[2]!.model.type === 'dcnv2' && archs[2]!.model.dim, 4);
    await assert.rejects(loadArchitectures(archs[0]!.model, ['{ type: dcnv2, dims: 8 }']), /inline model: model.dims/);
  });

  it('takes an experiment grid\'s base with its set overrides as the base config', async () => {
    const grid = join(dir, 'grid.yaml');
    writeFileSync(grid, `base: ${config}\nset:\n  model: { type: dcnv2, dim: 4, hidden: [8], crossLayers: 1 }\ngrid:\n  train.seed: { one: 1 }\noutput: ${join(dir, 'g')}\n`);
    const cfg = await loadBase(grid);
    assert.deepEqual(cfg.model.type === 'dcnv2' && [cfg.model.dim, cfg.model.hidden], [4, [8]]);
    assert.equal((await loadBase(config)).model.type, 'dcnv2');
  });

  it('times every architecture in every phase and round; ratios are to the baseline within a round', async () => {
    const cfg = await loadBase(config);
    const archs = await loadArchitectures(cfg.model, [chosen('search=c', 1, '{ type: dcnv2, dim: 8, hidden: [8, 32], crossLayers: 2 }')]);
    const m = await measureArchitectures(cfg, archs, { threads: [1, 2], rounds: 3, windowSec: 0.01, inferBatches: [50], pool: 2 });
    assert.deepEqual(m.phases.map((p) => [p.threads, p.phase, p.batch]), [[1, 'train', 64], [1, 'infer', 50], [2, 'train', 64], [2, 'infer', 50]]);
    for (const p of m.phases) {
      assert.equal(p.rates.length, 2);
      for (const r of p.rates) {
        assert.equal(r.length, 3);
        for (const w of r) assert.ok(Number.isFinite(w.wall) && w.wall > 0 && w.cpu > 0);
      }
      const s = phaseSummary(p, 1);
      assert.deepEqual([phaseSummary(p, 0).ratio.min, phaseSummary(p, 0).ratio.max], [1, 1]);
      assert.ok(s.ratio.min <= s.ratio.median && s.ratio.median <= s.ratio.max);
      assert.equal(s.ratio.median, [0, 1, 2].map((r) => p.rates[1]![r]!.wall / p.rates[0]![r]!.wall).sort((a, b) => a - b)[1]);
    }
    const F = m.dataset.fields;
    const D = m.dataset.denseDim;
    const flops = (hidden: number[]): number => dcnv2Flops({ numFields: F, denseDim: D, dim: 8, hidden, crossLayers: 2, structure: 'parallel' });
    assert.deepEqual(m.archs.map((a) => a.flops), [flops([32, 32]), flops([8, 32])]);
    // Dense weights of the parallel DCN-v2: cross 2·(d² + d), MLP, head (d + last) + 1, d = F·8 + D.
    const d = F * 8 + D;
    assert.equal(m.archs[1]!.denseWeights, 2 * (d * d + d) + (d * 8 + 8) + (8 * 32 + 32) + (d + 32 + 1));
    const table = markdownTable(m);
    assert.match(table, /\| dcnv2 dim 8, 8-32 \| search=c seed 1 \| [\d,]+ \(0\.\d\d\) \|/);
    assert.equal(table.split('\n').length, 4);
    // By cell: one run; its FLOPs ratio, and the 1-thread training column is that run's CPU ratio.
    const ratio = (flops([8, 32]) / flops([32, 32])).toFixed(2);
    const cpu = phaseSummary(m.phases[0]!, 1).cpuRatio.median.toFixed(2);
    const cells = cellTable(m).split('\n');
    assert.equal(cells.length, 3);
    assert.ok(cells[2]!.startsWith(`| search=c | 1 | ${ratio} [${ratio}–${ratio}] | ${cpu} [${cpu}–${cpu}] |`), cells[2]);
  });
});
