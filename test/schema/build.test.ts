import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  buildDataset, encodeFile, withSourcePath, fnv1a32, FittedSchema, hashBucket, sliceRows, type DataConfig,
} from '../../src/schema/index.js';
import { applySplit } from '../../src/schema/split.js';
import { Rng } from '../../src/util/random.js';
import { dataConfig, tempFiles } from './helpers.js';

const close = (a: number, b: number, msg: string): void => assert.ok(Math.abs(a - b) < 1e-6, `${msg}: ${a} vs ${b}`);

describe('hashing', () => {
  it('FNV-1a 32-bit test vectors and buckets are stable', () => {
    assert.equal(fnv1a32(''), 0x811c9dc5);
    assert.equal(fnv1a32('a'), 0xe40c292c);
    assert.equal(fnv1a32('foobar'), 0xbf9cf968);
    assert.equal(hashBucket('a', 1000), 0xe40c292c % 1000);
    assert.equal(hashBucket('a', 1000), 220);
    // Non-ASCII tokens hash their UTF-8 bytes (the same in any language).
    assert.equal(fnv1a32('é'), fnv1a32('\u00e9'));
    assert.notEqual(fnv1a32('é'), fnv1a32('e'));
  });
});

/** 10 rows: 8 fit, 1 validation, 1 test with train 9/10 and fit 8/9. */
const CSV = [
  'y,city,age,price,dwell,hist,h',
  '1,paris,17,0,1,a|b,x',
  '0,paris,18,1,2,b,x',
  '0,rome,30,3,3,,y',
  '1,rome,49,7,4,a|b|c|d,y',
  '0,oslo,50,,5,c,z',
  '1,paris,,15,6,a,z',
  '0,rome,99,0,7,b|a,z',
  '0,paris,5,0,8,d,w',
  '1,lima,20,0,9,e,w',
  '0,rome,20,0,10,a,w',
].join('\n');

function cfgFor(extra: Partial<Record<string, unknown>> = {}): DataConfig {
  return dataConfig({
    source: { format: 'csv', path: 'd.csv' },
    split: { mode: 'file-order', train: [9, 10], fit: [8, 9] },
    labels: [{ name: 'click', column: 'y' }],
    fields: [
      { name: 'city', kind: 'categorical' },
      { name: 'cityHash', column: 'city', kind: 'categorical', hashBuckets: 7 },
      { name: 'age', kind: 'numeric', transform: 'bucketize', boundaries: [18, 30, 50] },
      { name: 'price', kind: 'numeric', transform: 'log' },
      { name: 'dwell', kind: 'numeric', transform: 'standardize', privileged: true },
      { name: 'hist', kind: 'sequence', separator: '|', maxLength: 3, minCount: 1 },
    ],
    ...extra,
  });
}

describe('buildDataset', () => {
  it('vocabulary, hashing, bucketize, log, standardize and sequences by hand', async () => {
    const dir = tempFiles({ 'd.csv': CSV });
    const { dataset: ds, split, fitted, stats } = await buildDataset(cfgFor(), dir);
    assert.deepEqual(split, { fit: { start: 0, end: 8 }, validation: { start: 8, end: 9 }, test: { start: 9, end: 10 } });
    assert.equal(stats.rows, 10);
    assert.equal(stats.skippedLines, 0);
    assert.deepEqual(ds.fieldNames, ['city', 'cityHash', 'age']);
    // city: min count 2 over the 8 fit rows keeps paris (4) and rome (3), in first-appearance order; oslo, lima -> OOV.
    const cityField = fitted.spec.fields[0]!;
    assert.ok(cityField.kind === 'vocab');
    assert.deepEqual(cityField.vocabulary, ['paris', 'rome']);
    assert.deepEqual(Array.from(ds.fieldSizes), [3, 7, 5]);
    assert.deepEqual(Array.from(ds.fieldOffsets), [0, 3, 10]);
    const col = (j: number): number[] => Array.from({ length: ds.numRows }, (_, r) => ds.ids[r * 3 + j]! - ds.fieldOffsets[j]!);
    assert.deepEqual(col(0), [1, 1, 2, 2, 0, 1, 2, 1, 0, 2]);
    assert.deepEqual(col(1).slice(0, 3), [hashBucket('paris', 7), hashBucket('paris', 7), hashBucket('rome', 7)]);
    // age buckets: <18 -> 1, [18,30) -> 2, [30,50) -> 3, >=50 -> 4, missing -> 0.
    assert.deepEqual(col(2), [1, 2, 3, 3, 4, 0, 4, 1, 2, 2]);
    // dense: price = log(1+v) (missing -> 0); dwell standardised with the fit rows' mean 4.5 and std sqrt(5.25).
    assert.deepEqual(ds.denseNames, ['price', 'dwell']);
    const d = ds.dense!;
    close(d[0]!, 0, 'price r0');
    close(d[2 * 3]!, Math.log(8), 'price r3');
    close(d[2 * 4]!, 0, 'price missing');
    const sd = Math.sqrt(5.25);
    for (let r = 0; r < 10; r++) close(d[2 * r + 1]!, (r + 1 - 4.5) / sd, `dwell r${r}`);
    // sequence: ids after the fields (offset 15), last 3 tokens kept, vocabulary a, b, c, d (e unseen in fit rows).
    const seq = ds.sequences![0]!;
    assert.equal(seq.name, 'hist');
    assert.deepEqual(Array.from(seq.offsets), [0, 2, 3, 3, 6, 7, 8, 10, 11, 12, 13]);
    const sv = fitted.spec.sequences[0]!;
    assert.ok(sv.kind === 'vocab');
    assert.deepEqual(sv.vocabulary, ['a', 'b', 'c', 'd']);
    assert.equal(fitted.sequenceOffsets[0], 15);
    assert.deepEqual(Array.from(seq.ids, (i) => i - 15), [1, 2, 2, 2, 3, 4, 3, 1, 2, 1, 4, 0, 1]);
    assert.equal(ds.numIds, 15 + 5);
    assert.deepEqual(Array.from(ds.labels[0]!), [1, 0, 0, 1, 0, 1, 0, 0, 1, 0]);
    assert.deepEqual(ds.labelNames, ['click']);
    // privileged flag reaches the dataset.
    assert.deepEqual(ds.privileged, ['dwell']);
    // Splits are views.
    const test = sliceRows(ds, split.test);
    assert.equal(test.numRows, 1);
    assert.deepEqual(Array.from(test.sequences![0]!.offsets), [0, 1]);
  });

  it('a file saved with a UTF-8 byte-order mark (spreadsheet export) builds the same dataset, gzip or not, any workers', async () => {
    const dir = tempFiles({ 'd.csv': CSV, 'b.csv': `\ufeff${CSV}`, 'b.csv.gz': `\ufeff${CSV}` });
    const plain = await buildDataset(cfgFor(), dir);
    for (const path of ['b.csv', 'b.csv.gz']) {
      for (const workers of [0, 1]) {
        const bom = await buildDataset(cfgFor({ source: { format: 'csv', path } }), dir, { workers });
        assert.deepEqual(bom.dataset, plain.dataset, `${path} workers=${workers}`);
      }
    }
    // The encoder of a saved model (predict / eval) reads the same way.
    const codes = await encodeFile(plain.fitted, withSourcePath(cfgFor().source, 'b.csv'), { baseDir: dir });
    assert.deepEqual(codes.dataset.ids, (await encodeFile(plain.fitted, cfgFor().source, { baseDir: dir })).dataset.ids);
  });

  it('fitted schema JSON round trip encodes a file identically; new tokens go to OOV', async () => {
    const dir = tempFiles({ 'd.csv': CSV, 'new.csv': 'y,city,age,price,dwell,hist,h\n0,tokyo,40,2,5.5,a|zz,q\n1,rome,10,1,1,d,q\n' });
    const cfg = cfgFor({ group: 'h', weight: 'dwell' });
    const built = await buildDataset(cfg, dir);
    const json = JSON.stringify(built.fitted);
    const fitted = FittedSchema.fromJSON(JSON.parse(json));
    assert.deepEqual(fitted.toJSON(), built.fitted.toJSON());
    const again = await encodeFile(fitted, cfg.source, { baseDir: dir });
    assert.deepEqual(again.dataset, built.dataset);

    const fresh = await encodeFile(fitted, withSourcePath(cfg.source, 'new.csv'), { baseDir: dir });
    const ds = fresh.dataset;
    assert.equal(ds.numRows, 2);
    assert.deepEqual(Array.from(ds.ids), [0, 3 + hashBucket('tokyo', 7), 10 + 3, 2, 3 + hashBucket('rome', 7), 10 + 1]);
    assert.deepEqual(Array.from(ds.sequences![0]!.ids), [16, 15, 19]);
    close(ds.dense![1]!, 0, 'dwell at the fit mean (all 10 rows: the group snap moved the fit end to 10)');
    assert.deepEqual(Array.from(ds.groupOffsets!), [0, 2]);
    assert.deepEqual(Array.from(ds.weights!), [5.5, 1]);

    const unlabeled = await encodeFile(fitted, withSourcePath(cfg.source, 'new.csv'), { baseDir: dir, labels: false });
    assert.deepEqual(unlabeled.dataset.labels, []);
    assert.throws(() => FittedSchema.fromJSON({ ...JSON.parse(json), numIds: 3 }), /numIds: 3 does not match/);
  });

  it('group offsets; a group split over non-adjacent rows is an error naming the line', async () => {
    const dir = tempFiles({ 'd.csv': CSV, 'bad.csv': 'y,q\n1,a\n0,a\n1,b\n0,a\n' });
    const { dataset, split } = await buildDataset(cfgFor({ group: 'h' }), dir);
    assert.deepEqual(Array.from(dataset.groupOffsets!), [0, 2, 4, 7, 10]);
    // Split boundaries move to group starts: the fit rows end at row 8 -> the next group start, 10.
    assert.deepEqual(split.fit, { start: 0, end: 10 });
    const cfg = dataConfig({
      source: { format: 'csv', path: 'bad.csv' }, labels: [{ name: 'y' }],
      fields: [{ name: 'q', kind: 'categorical' }], group: 'q',
    });
    await assert.rejects(buildDataset(cfg, dir),
      /bad\.csv:5: field q: group "a" reappears after other groups \(its rows start on line 2\)/);
  });

  it('onBadLine skip drops and counts bad lines (reader and schema checks); error names file:line:field', async () => {
    const bad = `${CSV}\n1,rome,old,1,1,a,w\n1,rome\n0,rome,20,1,1,a,w\n2,rome,20,1,1,a,w`;
    const dir = tempFiles({ 'd.csv.gz': bad });
    const cfg = cfgFor({ source: { format: 'csv', path: 'd.csv.gz' }, onBadLine: 'skip' });
    const { stats, dataset } = await buildDataset(cfg, dir);
    assert.equal(stats.skippedLines, 3);
    assert.equal(stats.rows, 11);
    assert.equal(dataset.numRows, 11);
    assert.equal(stats.files[0]!.rows, 11);
    assert.deepEqual(stats.skippedExamples, [
      'd.csv.gz:12: field age: expected a number, got "old"',
      'd.csv.gz:13: expected 7 comma-separated columns, got 2',
      'd.csv.gz:15: field y: expected a 0/1 label, got "2" (use positive: to map other values)',
    ]);
    await assert.rejects(buildDataset({ ...cfg, onBadLine: 'error' }, dir), /^DataFormatError: d\.csv\.gz:12: field age: expected a number, got "old"$/);
  });

  it('random split keeps groups whole and is reproducible; files split concatenates files', async () => {
    const dir = tempFiles({ 'd.csv': CSV, 'v.csv': CSV.split('\n').slice(0, 3).join('\n') });
    const cfg = cfgFor({ group: 'h', split: { mode: 'random', validation: 0.3, test: 0.3, seed: 7 } });
    const a = await buildDataset(cfg, dir);
    const b = await buildDataset(cfg, dir);
    assert.deepEqual(a.dataset, b.dataset);
    const g = Array.from(a.dataset.groupOffsets!);
    for (const r of [a.split.fit.end, a.split.validation.end]) assert.ok(g.includes(r), `boundary ${r} on a group start`);
    assert.equal(a.dataset.numRows, 10);
    const f = await buildDataset(cfgFor({ split: { mode: 'files', validation: 'v.csv' } }), dir);
    assert.deepEqual(f.split, { fit: { start: 0, end: 10 }, validation: { start: 10, end: 12 }, test: { start: 12, end: 12 } });
    assert.deepEqual(Array.from(f.dataset.ids.subarray(30, 36)), Array.from(f.dataset.ids.subarray(0, 6)));
  });

  it('files split with fit: [a, b] cuts the first floor(n a / b) lists of the source file, the rest validation', async () => {
    const dir = tempFiles({ 'd.csv': CSV, 't.csv': CSV.split('\n').slice(0, 3).join('\n') });
    // Lists of d.csv (column h): rows 0-1, 2-3, 4-6, 7-9; 3 of 4 lists are fit, by lists and not by rows (9 of 10 would snap to 10).
    const g = await buildDataset(cfgFor({ group: 'h', split: { mode: 'files', test: 't.csv', fit: [3, 4] } }), dir);
    assert.deepEqual(g.split, { fit: { start: 0, end: 7 }, validation: { start: 7, end: 10 }, test: { start: 10, end: 12 } });
    const r = await buildDataset(cfgFor({ split: { mode: 'files', test: 't.csv', fit: [9, 10] } }), dir);
    assert.deepEqual(r.split, { fit: { start: 0, end: 9 }, validation: { start: 9, end: 10 }, test: { start: 10, end: 12 } });
    assert.throws(() => cfgFor({ split: { mode: 'files', validation: 't.csv', fit: [9, 10] } }), /fit cuts the validation rows out of the source file/);
  });

  it('random split draws from the one seeded generator, Rng: unit u goes to test when its draw < test, then validation', () => {
    const n = 200;
    const cols = {
      numRows: n, codes: Int32Array.from({ length: n }, (_, i) => i), labels: [new Float32Array(n)], weights: undefined,
      dense: new Float64Array(0), sequences: [], groupOffsets: undefined,
    };
    const split = applySplit({ mode: 'random', validation: 0.2, test: 0.3, seed: 9 }, cols, { train: n, validation: 0, test: 0 }, 1, 0);
    const rng = new Rng(9);
    const want: number[][] = [[], [], []];
    for (let r = 0; r < n; r++) {
      const x = rng.uniform();
      want[x < 0.3 ? 2 : x < 0.5 ? 1 : 0]!.push(r);
    }
    const part = (range: { start: number; end: number }): number[] => Array.from(cols.codes.subarray(range.start, range.end));
    assert.deepEqual([part(split.fit), part(split.validation), part(split.test)], want);
  });

  it('positive rules: contains, oneOf, atLeast; graded labels', async () => {
    const dir = tempFiles({ 'r.tsv': 'u\tr\tt\n1\t4\tbuy\n2\t3.5\tpv\n3\t5\tfav\n' });
    const cfg = dataConfig({
      source: { format: 'csv', path: 'r.tsv', delimiter: '\t' },
      labels: [
        { name: 'liked', column: 'r', positive: { atLeast: 4 } },
        { name: 'engaged', column: 't', positive: { oneOf: ['buy', 'fav'] } },
        { name: 'grade', column: 'r', type: 'graded' },
      ],
      fields: [{ name: 'u', kind: 'categorical', minCount: 1 }],
    });
    const { dataset } = await buildDataset(cfg, dir);
    assert.deepEqual(dataset.labels.map((l) => Array.from(l)), [[1, 0, 1], [1, 0, 1], [4, 3.5, 5]]);
    assert.deepEqual(dataset.labelNames, ['liked', 'engaged', 'grade']);
  });

  it('svmlight columns: label, qid, f<k> (absent features are 0)', async () => {
    const dir = tempFiles({ 'l.txt': '2 qid:1 1:0.5 3:1\n0 qid:1 2:4\n1 qid:7 1:1 2:2 3:3 # doc\n' });
    const cfg = dataConfig({
      source: { format: 'svmlight', path: 'l.txt' },
      split: { mode: 'file-order', train: [1, 1], fit: [1, 1] },
      labels: [{ name: 'rel', column: 'label', type: 'graded' }],
      group: 'qid',
      fields: [{ name: 'f3', kind: 'numeric' }, { name: 'f2', kind: 'numeric', transform: 'bucketize', boundaries: [1] }],
    });
    const { dataset } = await buildDataset(cfg, dir);
    assert.deepEqual(Array.from(dataset.dense!), [1, 0, 3]);
    assert.deepEqual(Array.from(dataset.ids), [1, 2, 2]);
    assert.deepEqual(Array.from(dataset.groupOffsets!), [0, 2, 3]);
    await assert.rejects(buildDataset({ ...cfg, fields: [{ ...cfg.fields[0]!, column: 'x3' }] }, dir),
      /l\.txt: no column "x3" \(needed by field f3\); the columns are label, qid, f1, f2, … \(svmlight format\)/);
  });
});
