/** β_pos reaches the evaluation metrics: positives count with weight β_pos, as in training. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evaluationWeights, metricsFor } from '../../src/experiment/evaluate.js';
import type { Dataset } from '../../src/data/dataset.js';
import { logLoss } from '../../src/metrics/index.js';
import { assertNear } from '../helpers/close.js';

const ds = { labels: [Float32Array.of(1, 0, 0, 1, 0)], numRows: 5 } as unknown as Dataset;
const p = [0.6, 0.2, 0.3, 0.4, 0.1];

describe('evaluation weights', () => {
  it('scale positives by β_pos and leave unweighted rows alone at β_pos 1', () => {
    assert.deepEqual([...evaluationWeights(ds, { start: 1, end: 5 }, 0.25)!], [1, 1, 0.25, 1]);
    assert.equal(evaluationWeights(ds, { start: 0, end: 5 }), undefined);
  });

  it('metricsFor weights LogLoss by β_pos', () => {
    const m = metricsFor(p, ds, { start: 0, end: 5 }, { positiveWeight: 0.1 });
    const w = [0.1, 1, 1, 0.1, 1];
    assertNear(m.logloss!, logLoss(p, [1, 0, 0, 1, 0], w), 1e-12);
    // by hand: −Σ w log(·) / Σ w
    const hand = -(0.1 * Math.log(0.6) + Math.log(0.8) + Math.log(0.7) + 0.1 * Math.log(0.4) + Math.log(0.9)) / 3.2;
    assertNear(m.logloss!, hand, 1e-6);
    assert.notEqual(m.logloss, metricsFor(p, ds, { start: 0, end: 5 }).logloss);
  });
});
