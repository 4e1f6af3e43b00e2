/**
 * Bad configs through the real command line: `ctrkit train bad.yaml` exits with the usage
 * status (1) and one message naming the file and the key, never an internal error (70).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCensusSlice } from '../helpers/censusSlice.js';
import { packageRoot } from '../helpers/sharedData.js';

const cli = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
const TRAIN = '{ epochs: 1, batchSize: 64, seed: 1, optimizer: { type: adam, lr: 0.01 } }';

describe('ctrkit train with a bad config', () => {
  let dir = '';
    let good = '';

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-badcfg-'));
    const slice = writeCensusSlice(dir, { model: '{ type: lr }', train: TRAIN, rows: { fit: 300, validation: 100, test: 100 } });
    good = readFileSync(slice.config, 'utf8');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes `good` edited by `edit` as bad.yaml, runs train on it, checks status 1 and the message. */
  function refused(edit: (yaml: string) => string, message: RegExp): void {
    const bad = join(dir, 'bad.yaml');
    const text = edit(good);
    assert.notEqual(text, good, 'the edit applies');
    writeFileSync(bad, text);
    const r = spawnSync('node', [cli, 'train', bad, '-q'], { encoding: 'utf8' });
    assert.doesNotMatch(r.stderr, /internal error/);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^ctrkit: /);
    assert.match(r.stderr, message);
  }

  const label = (yaml: string, extra: string): string => yaml.replace(/^(\s*- \{ name: income,.*)$/m, `$1\n${extra}`);

  it('several labels', () => refused(
    (y) => label(y, "    - { name: income2, column: income_50k, type: binary, positive: { contains: '50000+' } }"),
    /bad\.yaml: data\.labels: 2 labels \(income, income2\) but no train\.tasks: name the tasks to train/));

  it('a privileged field', () => refused(
    (y) => y.replace('{ name: education, kind: categorical }', '{ name: education, kind: categorical, privileged: true }'),
    /bad\.yaml: data\.fields\[\d+\]\.privileged: field education: a privileged field is read by a teacher only, and there is none/));

  it('contrastive on a model without hidden layers', () => refused(
    (y) => y.replace('lr: 0.01 } }', 'lr: 0.01 }, loss: { type: contrastive } }'),
    /bad\.yaml: train\.loss\.type: 'contrastive' contrasts hidden representations, which model type 'lr' does not have/));

  it("another optimiser's setting", () => refused(
    (y) => y.replace('{ type: adam, lr: 0.01 }', '{ type: adam, lr: 0.01, momentum: 0.9 }'),
    /bad\.yaml: train\.optimizer\.momentum: not a setting of optimizer type 'adam'/));

  it('an unknown loss key', () => refused(
    (y) => y.replace('lr: 0.01 } }', 'lr: 0.01 }, loss: { type: bce, gama: 2 } }'),
    /bad\.yaml: train\.loss\.gama: not a setting of loss type "bce"/));

  it('invalid YAML', () => refused((y) => y.replace('model: { type: lr }', 'model: { type: lr'), /bad\.yaml:\d+:\d+: invalid YAML/));

  it('an empty fit split, found once the data is read', () => refused(
    (y) => y.replace(/^(\s*split:).*$/m, '$1 { mode: file-order, train: [0, 10] }'),
    /bad\.yaml: data\.split: the fit split is empty \(300 rows read\)/));
});
