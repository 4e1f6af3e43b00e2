/** Where a dataset row came from, as error messages name it: with split files + fit, validation rows are the source file's tail. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseExperimentConfig } from '../../src/experiment/config.js';
import { rowPlace } from '../../src/experiment/rowPlace.js';

function cfg(split: Record<string, unknown>): ReturnType<typeof parseExperimentConfig> {
  return parseExperimentConfig({
    data: { source: { format: 'csv', path: 'd.csv' }, split, labels: [{ name: 'y' }], fields: [{ name: 'a', kind: 'categorical' }] },
    model: { type: 'lr' }, train: { epochs: 1, batchSize: 8, seed: 1, optimizer: { type: 'adam', lr: 0.01 } }, output: 'out',
  }, 'exp.yaml', '/tmp');
}

describe('rowPlace', () => {
  const split = { fit: { start: 0, end: 9 }, validation: { start: 9, end: 10 }, test: { start: 10, end: 12 } };
  it('split files with fit: a validation row is numbered in the source file', () => {
    const c = cfg({ mode: 'files', test: 't.csv', fit: [9, 10] });
    assert.equal(rowPlace(c, split, 9), 'd.csv: data row 10 (fit file, header excluded)');
    assert.equal(rowPlace(c, split, 11), 't.csv: data row 2 (test file, header excluded)');
  });
  it('split files with a validation file: numbered in that file', () => {
    assert.equal(rowPlace(cfg({ mode: 'files', validation: 'v.csv' }), split, 9), 'v.csv: data row 1 (validation file, header excluded)');
  });
});
