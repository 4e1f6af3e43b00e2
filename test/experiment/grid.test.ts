/** Grid expansion, dotted overrides and cell names of `ctrkit experiment` configs. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyOverrides, cellConfig, cellRawConfig, expandGrid, GridConfigError, loadGridConfig, setDotted, substituteSeed, valueSlug } from '../../src/experiment/grid.js';
import { packageRoot } from '../helpers/sharedData.js';

const root = packageRoot();

describe('experiment grid', () => {
  it('expands the cartesian product, first axis outermost, baseline first', () => {
    const cells = expandGrid([
      { key: 'train.loss', values: [{ type: 'bce' }, { type: 'combined-pair', alpha: 0.5 }] },
      { key: 'train.loss.betaPos', values: [0.1, 1] },
    ]);
    assert.deepEqual(cells.map((c) => c.name), [
      'loss=bce,betaPos=0.1', 'loss=bce,betaPos=1', 'loss=combined-pair_alpha0.5,betaPos=0.1', 'loss=combined-pair_alpha0.5,betaPos=1',
    ]);
    assert.deepEqual(cells[2]!.overrides, [['train.loss', { type: 'combined-pair', alpha: 0.5 }], ['train.loss.betaPos', 0.1]]);
    assert.deepEqual(expandGrid([]), [{ name: 'base', overrides: [] }]);
  });

  it('labels axes by their full key when last segments collide, and refuses duplicate names', () => {
    const cells = expandGrid([{ key: 'model.dim', values: [8] }, { key: 'train.dim', values: [4] }]);
    assert.equal(cells[0]!.name, 'model.dim=8,train.dim=4');
    assert.throws(() => expandGrid([{ key: 'train.seed', values: ['a b', 'a/b'] }]), /both named 'seed=a-b'/);
  });

  it('renders values as directory-safe slugs', () => {
    assert.equal(valueSlug({ type: 'focal', gamma: 2, betaPos: 0.3 }), 'focal_gamma2_betaPos0.3');
    assert.equal(valueSlug([16, 8]), '16+8');
    assert.equal(valueSlug({ curriculum: { rampSteps: 10 } }), 'curriculumrampSteps10');
  });

  it('dotted overrides edit a copy: mappings by name, lists by index, later keys win', () => {
    const base = { train: { epochs: 3, loss: { type: 'bce' } }, data: { labels: [{ name: 'y', type: 'graded' }] } };
    const out = applyOverrides(base, [
      ['train.loss', { type: 'combined-pair' }], ['train.loss.betaPos', 0.1], ['data.labels.0.type', 'binary'], ['train.optimizer.lr', 0.1],
    ]) as typeof base & { train: { optimizer: { lr: number } } };
    assert.deepEqual(out.train.loss, { type: 'combined-pair', betaPos: 0.1 });
    assert.equal(out.data.labels[0]!.type, 'binary');
    assert.equal(out.train.optimizer.lr, 0.1, 'missing mappings are created');
    assert.deepEqual(base.train.loss, { type: 'bce' }, 'the base is not modified');
  });

  it('a null value removes its key (a cell without a section of the base)', () => {
    const base = { train: { epochs: 3, search: { target: 0.9 } } };
    const out = setDotted(base, 'train.search', null) as { train: Record<string, unknown> };
    assert.deepEqual(out.train, { epochs: 3 });
    assert.deepEqual(base.train.search, { target: 0.9 }, 'the base is not modified');
    assert.deepEqual(setDotted(base, 'train.missing', null), base, 'removing an absent key is a no-op');
  });

  it('a bad key is an error naming it', () => {
    const base = { train: { epochs: 3 }, data: { labels: [{}] } };
    assert.throws(() => setDotted(base, 'trian.epochs', 1), (e: Error) => e instanceof GridConfigError && /'trian.epochs'.*'trian' is not a section/.test(e.message));
    assert.throws(() => setDotted(base, 'train.epochs.max', 1), /'train.epochs.max': 'train.epochs' is 3, not a mapping/);
    assert.throws(() => setDotted(base, 'data.labels.4.type', 1), /'data.labels.4.type': 'data.labels' is a list of 1; '4' is not an index/);
    assert.throws(() => setDotted(base, 'train..x', 1), /empty path segment/);
  });

  it('every cell is validated at load time; an unknown setting names the cell and key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctrkit-grid-'));
    try {
      const file = join(dir, 'g.yaml');
      writeFileSync(file, `base: examples/census-income.yaml
grid:
  train.loss: [ { type: bce }, { type: combined-pair, alpha: 0.3 } ]
  train.loss.betaPos: [ 0.5 ]
  seeds: [ 3, 4 ]
output: ${join(dir, 'out')}
`);
      const g = await loadGridConfig(file, root);
      assert.deepEqual(g.seeds, [3, 4]);
      assert.equal(g.parallel, 1);
      assert.deepEqual(g.metrics, ['auc', 'logloss', 'ece']);
      const cells = expandGrid(g.axes);
      assert.deepEqual(cellConfig(g, cells[1]!).train.loss, { type: 'combined-pair', alpha: 0.3, betaPos: 0.5 });

      writeFileSync(file, `base: examples/census-income.yaml\ngrid:\n  train.loss.gama: [ 2 ]\noutput: out\n`);
      await assert.rejects(loadGridConfig(file, root), (e: Error) => /cell gama=2.*train\.loss.*gama/s.test(e.message));
      writeFileSync(file, `base: examples/census-income.yaml\ngrid:\n  train.epoch: [ 2 ]\noutput: out\n`);
      await assert.rejects(loadGridConfig(file, root), /cell epoch=2\].*train.*epoch/);
      writeFileSync(file, `base: examples/census-income.yaml\nseeds: [1]\ngrid:\n  seeds: [2]\noutput: out\n`);
      await assert.rejects(loadGridConfig(file, root), /seeds given both/);
      writeFileSync(file, `base: examples/census-income.yaml\noutput: out\nparalel: 2\n`);
      await assert.rejects(loadGridConfig(file, root), /paralel/);
      writeFileSync(file, `base: examples/census-income.yaml\noutput: out\n`);
      assert.deepEqual((await loadGridConfig(file, root)).seeds, [1], 'default: the base config\'s train.seed');

      // An axis written as a mapping names its values: the names are the cells' names.
      writeFileSync(file, `base: examples/census-income.yaml\ngrid:\n  train.loss: { plain: { type: bce }, pair: { type: combined-pair, alpha: 0.3 } }\noutput: out\n`);
      const named = await loadGridConfig(file, root);
      const namedCells = expandGrid(named.axes);
      assert.deepEqual(namedCells.map((c) => c.name), ['loss=plain', 'loss=pair']);
      assert.deepEqual(cellConfig(named, namedCells[1]!).train.loss, { type: 'combined-pair', alpha: 0.3 });
      writeFileSync(file, `base: examples/census-income.yaml\ngrid:\n  train.loss: { 'a b': { type: bce } }\noutput: out\n`);
      await assert.rejects(loadGridConfig(file, root), /a value name is letters/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('${seed} in a cell\'s strings becomes the run\'s seed (a per-seed teacher); after lists the grids to run first', async () => {
    assert.deepEqual(substituteSeed({ a: ['t/seed${seed}/model', 3, { b: '${seed}${seed}' }], c: true }, 4), { a: ['t/seed4/model', 3, { b: '44' }], c: true });
    const dir = mkdtempSync(join(tmpdir(), 'ctrkit-grid-'));
    try {
      const file = join(dir, 'g.yaml');
      writeFileSync(file, `base: examples/census-income.yaml
set: { output: "runs/s\${seed}" }
seeds: [ 2, 5 ]
after: [ teachers.yaml ]
output: out
`);
      const g = await loadGridConfig(file, root);
      assert.deepEqual(g.after, [join(root, 'teachers.yaml')]);
      const [cell] = expandGrid(g.axes);
      assert.equal((cellRawConfig(g, cell!, 5) as { output: string }).output, 'runs/s5');
      assert.equal((cellRawConfig(g, cell!) as { output: string }).output, 'runs/s${seed}', 'no seed: left as written');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
