import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { buildDataset, ConfigError, loadConfigFile, loadDataConfig, parseDataConfig } from '../../src/schema/index.js';
import { dataConfig, tempFiles } from './helpers.js';

const base = {
  source: { format: 'csv', path: 'a.csv' },
  labels: [{ name: 'click' }],
};

function problems(obj: unknown): string[] {
  try {
    parseDataConfig(obj, 'examples/census.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.problems];
  }
  return assert.fail('expected a ConfigError');
}

describe('data config validation', () => {
  it('an unknown transform names the file, the key path and the choices', () => {
    const p = problems({ ...base, fields: [
      { name: 'a', kind: 'categorical' }, { name: 'b', kind: 'categorical' }, { name: 'c', kind: 'categorical' },
      { name: 'd', kind: 'numeric', transform: 'sqrt' },
    ] });
    assert.deepEqual(p, ['examples/census.yaml: data.fields[3].transform: expected one of identity, log, log-bucket, bucketize, standardize']);
  });

  it('a wrong kind lists the kinds', () => {
    assert.deepEqual(problems({ ...base, fields: [{ name: 'a', kind: 'text' }] }),
      ['examples/census.yaml: data.fields[0].kind: expected one of categorical, numeric, sequence']);
  });

  it('an unknown key is an error, not ignored', () => {
    assert.deepEqual(problems({ ...base, fields: [{ name: 'a', kind: 'categorical', minCnt: 3 }] }),
      ['examples/census.yaml: data.fields[0]: unknown key "minCnt"']);
    assert.deepEqual(problems({ ...base, fields: [{ name: 'a', kind: 'categorical' }], extra: 1 }),
      ['examples/census.yaml: data: unknown key "extra"']);
  });

  it('missing and mistyped values, cross-key rules, duplicate names', () => {
    assert.deepEqual(problems({ source: base.source, fields: [{ name: 'a', kind: 'categorical' }] }),
      ['examples/census.yaml: data.labels: missing (expected array)']);
    assert.deepEqual(problems({ ...base, fields: [{ name: 'a', kind: 'categorical', minCount: 'two' }] }),
      ['examples/census.yaml: data.fields[0].minCount: expected number, received string']);
    assert.deepEqual(problems({ ...base, fields: [{ name: 'a', kind: 'numeric', transform: 'bucketize' }] }),
      ['examples/census.yaml: data.fields[0].boundaries: transform bucketize needs boundaries']);
    assert.deepEqual(problems({ ...base, fields: [{ name: 'a', kind: 'numeric', transform: 'bucketize', boundaries: [3, 1] }] }),
      ['examples/census.yaml: data.fields[0].boundaries: boundaries must be strictly increasing']);
    assert.deepEqual(problems({ ...base, fields: [{ name: 'a', kind: 'categorical', minCount: 2, hashBuckets: 10 }] }),
      ['examples/census.yaml: data.fields[0].hashBuckets: hashBuckets and minCount exclude each other (hashing has no vocabulary)']);
    assert.deepEqual(problems({ ...base, fields: [{ name: 'click', kind: 'categorical' }] }),
      ['examples/census.yaml: data.fields[0].name: name "click" is already used by data.labels[0].name']);
    assert.deepEqual(problems({ ...base, source: { format: 'avro', path: 'x' }, fields: [{ name: 'a', kind: 'categorical' }] }),
      ['examples/census.yaml: data.source.format: expected one of criteo, csv, ipinyou, svmlight, duckdb, parquet, json, events']);
  });

  it('defaults: file-order 8/10, 9/10 split, binary labels, onBadLine error', () => {
    const cfg = dataConfig({ ...base, fields: [{ name: 'a', kind: 'categorical' }] });
    assert.deepEqual(cfg.split, { mode: 'file-order', train: [8, 10], fit: [9, 10] });
    assert.equal(cfg.labels[0]!.type, 'binary');
    assert.equal(cfg.onBadLine, 'error');
  });
});

describe('loadConfigFile', () => {
  it('YAML syntax errors name file and line', async () => {
    const dir = tempFiles({ 'bad.yaml': 'data:\n  source: { format: csv\n  labels: [\n' });
    await assert.rejects(loadConfigFile(join(dir, 'bad.yaml')), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /bad\.yaml:\d+:\d+: invalid YAML/);
      return true;
    });
  });

  it('JSON files are read as JSON; validation errors name the file', async () => {
    const dir = tempFiles({ 'c.json': JSON.stringify({ data: { ...base, fields: [{ name: 'a', kind: 'numeric', transform: 'cube' }] } }) });
    await assert.rejects(loadDataConfig(join(dir, 'c.json')), /c\.json: data\.fields\[0\]\.transform: expected one of identity/);
  });

  it('a column missing from the header names the file and the column', async () => {
    const dir = tempFiles({ 'a.csv': 'click,x\n1,a\n' });
    const cfg = dataConfig({ ...base, fields: [{ name: 'country', kind: 'categorical' }] });
    await assert.rejects(buildDataset(cfg, dir),
      /^DataFormatError: a\.csv:1: no column "country" \(needed by field country\); the columns are click, x$/);
  });
});
