import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LR } from '../../src/models/lr.js';
import { predictRows } from '../../src/train/predict.js';
import { idsDataset } from '../helpers/dataset.js';

describe('predictRows', () => {
  const ids = Int32Array.from({ length: 40 }, (_, i) => (i % 2) * 5 + ((i * 7) % 5));
  const ds = idsDataset(ids, Float32Array.from({ length: 20 }, (_, r) => r % 2), 2, 10);
  const model = new LR({ numIds: 10, initStd: 0.5, seed: 2 });
  model.bias.data[0] = 0.25;

  it('gives bias + Σ w[id] per row, for a range and for an index list, in any batch size', () => {
    const expected = Array.from({ length: 8 }, (_, k) => {
      const r = k + 10;
      return Math.fround(Math.fround(model.w.data[ids[2 * r]!]! + model.w.data[ids[2 * r + 1]!]!) + 0.25);
    });
    const byRange = predictRows(model, ds, { start: 10, end: 18 }, 3);
    for (let k = 0; k < 8; k++) assert.ok(Math.abs(byRange[k]! - expected[k]!) < 1e-6, `row ${k}`);
    assert.deepEqual(predictRows(model, ds, Int32Array.from({ length: 8 }, (_, k) => k + 10), 5), byRange);
    const reversed = predictRows(model, ds, Int32Array.from({ length: 8 }, (_, k) => 17 - k));
    assert.deepEqual(Array.from(reversed), Array.from(byRange).reverse());
  });
});
