import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { buildDataset, encodeFile, FittedSchema, withSourcePath, type DataConfig } from '../../src/schema/index.js';
import { ConfigError } from '../../src/schema/errors.js';
import { DataFormatError } from '../../src/data/readers/errors.js';
import { FeatureLayout, FeatureLookupError } from '../../src/data/features.js';
import { dataConfig, tempFiles } from './helpers.js';
import { loadDataConfig } from '../../src/schema/index.js';
import { packageRoot, skipWithoutSharedData } from '../helpers/sharedData.js';

/* A target item and a history of the same items in h1..h3 (oldest first), as DIN data comes. */
const CSV = [
  'y,user,item,h1,h2,h3,age',
  '1,u1,m1,m2,m3,m1,10',
  '0,u1,m2,,m3,m4,11',
  '1,u2,m3,,,,12',
  '0,u2,m1,m9,m2,m3,13',
  '1,u3,m4,m1,m1,m2,14',
  '0,u3,m7,m8,m5,m6,15',
].join('\n');

function cfg(fields?: unknown[]): DataConfig {
  return dataConfig({
    source: { format: 'csv', path: 'd.csv' },
    split: { mode: 'file-order', train: [4, 6], fit: [1, 1] },
    labels: [{ name: 'click', column: 'y' }],
    fields: fields ?? [
      { name: 'user', kind: 'categorical', minCount: 1, group: 'user' },
      { name: 'item', kind: 'categorical', minCount: 1, group: 'item', required: true },
      { name: 'hist', kind: 'sequence', columns: ['h1', 'h2', 'h3'], vocab: 'item', group: 'user' },
      { name: 'age', kind: 'numeric', transform: 'standardize', group: 'context' },
    ],
  });
}

describe('shared vocabularies and feature groups', () => {
  it('a history shares its target field\'s vocabulary and id range, fit on both fields\' tokens', async () => {
    const dir = tempFiles({ 'd.csv': CSV });
    const { dataset: ds, fitted } = await buildDataset(cfg(), dir);
    const item = fitted.spec.fields[1]!;
    assert.equal(item.kind, 'vocab');
    // Fit rows are the first 4: item tokens m1 m2 m3 m1, history tokens m2 m3 m1 m3 m4 m9 m2 m3; first-seen order.
    assert.deepEqual(item.kind === 'vocab' ? item.vocabulary : [], ['m1', 'm2', 'm3', 'm4', 'm9']);
    assert.equal(fitted.sequenceOffsets[0], fitted.fieldOffsets[1]);
    assert.equal(fitted.sequenceSizes[0], fitted.fieldSizes[1]);
    // user (u1 u2 + OOV) + item (5 + OOV): the history adds no rows.
    assert.equal(fitted.numIds, 3 + 6);
    const o = fitted.fieldOffsets[1]!;
    const seq = ds.sequences![0]!;
    assert.deepEqual([...seq.offsets], [0, 3, 5, 5, 8, 11, 14]);
    // Row 0's history m2 m3 m1 are the same global ids as those items as targets; an empty slot is no event;
    // m8 m5 m6 (test row, never seen in fit rows) are OOV.
    assert.deepEqual([...seq.ids.subarray(0, 3)], [o + 2, o + 3, o + 1]);
    assert.equal(ds.ids[0 * 2 + 1], o + 1);
    assert.deepEqual([...seq.ids.subarray(11, 14)], [o, o, o]);
  });

  it('round-trips through the manifest JSON and encodes a new file identically', async () => {
    const dir = tempFiles({ 'd.csv': CSV });
    const c = cfg();
    const { dataset: ds, fitted } = await buildDataset(c, dir);
    const text = JSON.stringify(fitted.toJSON());
    const back = FittedSchema.fromJSON(JSON.parse(text));
    assert.equal(JSON.stringify(back.toJSON()), text);
    assert.deepEqual(back.features(), fitted.features());
    const again = await encodeFile(back, withSourcePath(c.source, join(dir, 'd.csv')));
    assert.deepEqual([...again.dataset.sequences![0]!.ids], [...ds.sequences![0]!.ids]);
    assert.deepEqual([...again.dataset.ids], [...ds.ids]);
  });

  it('a manifest whose shared vocab names no vocabulary field is rejected', async () => {
    const dir = tempFiles({ 'd.csv': CSV });
    const { fitted } = await buildDataset(cfg(), dir);
    const json = fitted.toJSON();
    const bad = { ...json, sequences: json.sequences.map((s) => ({ ...s, vocab: 'nope' })) };
    assert.throws(() => FittedSchema.fromJSON(bad), (e: unknown) => e instanceof ConfigError && /vocab "nope"/.test(e.message));
  });

  it('exposes every feature by name: kind, group, index, id range', async () => {
    const dir = tempFiles({ 'd.csv': CSV });
    const { fitted } = await buildDataset(cfg(), dir);
    const layout = new FeatureLayout(fitted.features());
    assert.deepEqual(layout.get('hist', 'sequence', 'k'), { name: 'hist', kind: 'sequence', index: 0, group: 'user', offset: 3, size: 6, vocab: 'item' });
    assert.deepEqual(layout.get('age', 'dense', 'k'), { name: 'age', kind: 'dense', index: 0, group: 'context' });
    assert.deepEqual(layout.group('user', 'k').map((f) => f.name), ['user', 'hist']);
    assert.throws(() => layout.get('hist', 'id', 'model.x'), (e: unknown) => e instanceof FeatureLookupError && /^model\.x: feature "hist" is sequence, not id/.test(e.message));
    assert.throws(() => layout.group('ad', 'model.g'), /model\.g: no feature group "ad" \(groups: user, item, context\)/);
  });

  it('an empty history is an empty bag; a missing required target is an error naming file, line and field', async () => {
    const dir = tempFiles({ 'd.csv': CSV, 'bad.csv': 'y,user,item,h1,h2,h3,age\n1,u1,m1,m2,,,3\n0,u2,,m2,,,4\n' });
    const { dataset: ds } = await buildDataset(cfg(), dir);
    assert.equal(ds.sequences![0]!.offsets[3], ds.sequences![0]!.offsets[2]);
    const bad = { ...cfg(), source: { format: 'csv' as const, path: 'bad.csv', header: true, delimiter: ',', trim: false } };
    await assert.rejects(buildDataset(bad, dir), (e: unknown) => e instanceof DataFormatError
      && /bad\.csv:3: .*item.*missing/.test(e.message));
  });

  it('config errors name the key', () => {
    const base = [{ name: 'item', kind: 'categorical' }, { name: 'n', kind: 'numeric' }];
    assert.throws(() => cfg([...base, { name: 'h', kind: 'sequence', column: 'h1', vocab: 'nope' }]), /data\.fields\[2\]\.vocab: no categorical field "nope"/);
    assert.throws(() => cfg([...base, { name: 'h', kind: 'sequence', column: 'h1', vocab: 'n' }]), /data\.fields\[2\]\.vocab: no categorical field "n"/);
    assert.throws(() => cfg([...base, { name: 'h', kind: 'sequence', column: 'h1', vocab: 'item', minCount: 3 }]), /data\.fields\[2\]\.minCount: the shared vocabulary/);
    assert.throws(() => cfg([...base, { name: 'h', kind: 'sequence', column: 'h1', columns: ['h2'] }]), /data\.fields\[2\]\.columns: give column or columns/);
  });
});

describe('examples/movielens-din.yaml on the SparrowRecSys samples', () => {
  const skip = skipWithoutSharedData('movielens_sparrowrecsys_din/testSamples.csv.gz');
  it('history lengths are SOURCE.md\'s, and history ids are movieId\'s rows', { skip }, async () => {
    const root = packageRoot();
    const { dataset: ds, fitted } = await buildDataset(await loadDataConfig(join(root, 'examples/movielens-din.yaml')), root);
    assert.equal(ds.numRows, 22440);
    const q = fitted.spec.sequences.findIndex((s) => s.name === 'hist');
    const j = fitted.spec.fields.findIndex((f) => f.name === 'movieId');
    const { offsets, ids } = ds.sequences![q]!;
    const byLength = new Map<number, number>();
    for (let r = 0; r < ds.numRows; r++) byLength.set(offsets[r + 1]! - offsets[r]!, (byLength.get(offsets[r + 1]! - offsets[r]!) ?? 0) + 1);
    assert.deepEqual([5, 4, 3, 2, 1, 0].map((n) => byLength.get(n)), [18753, 851, 888, 960, 699, 289]);
    const lo = fitted.fieldOffsets[j]!;
    const hi = lo + fitted.fieldSizes[j]!;
    assert.ok(ids.every((id) => id >= lo && id < hi));
  });
});
