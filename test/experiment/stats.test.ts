/** Confidence-interval arithmetic of the experiment report, checked by hand. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { meanCI, pairedDifferenceCI, tQuantile975 } from '../../src/experiment/stats.js';
import { assertNear } from '../helpers/close.js';

describe('experiment statistics', () => {
  it('mean ± t·sd/√n by hand', () => {
    // [1, 2, 3]: mean 2, sd 1, t(0.975, 2) = 4.302653 → half-width 4.302653 / √3 = 2.484138
    const c = meanCI([1, 2, 3])!;
    assert.equal(c.mean, 2);
    assert.equal(c.sd, 1);
    assertNear(c.halfWidth!, 2.484138, 1e-6);
    assertNear(c.lower!, 2 - 2.484138, 1e-6);
    // [0.70, 0.72, 0.71, 0.73, 0.69]: mean 0.71, sd = √(0.001/4) = 0.0158114, t(4) = 2.776445 → 0.0196324
    const d = meanCI([0.7, 0.72, 0.71, 0.73, 0.69])!;
    assertNear(d.mean, 0.71, 1e-12);
    assertNear(d.halfWidth!, 2.776445 * Math.sqrt(0.001 / 4) / Math.sqrt(5), 1e-9);
    assertNear(d.halfWidth!, 0.0196324, 1e-6);
  });

  it('one seed has no interval, none has no mean', () => {
    assert.deepEqual(meanCI([0.5]), { n: 1, mean: 0.5, sd: null, halfWidth: null, lower: null, upper: null });
    assert.equal(meanCI([]), null);
  });

  it('t quantiles: the table and the expansion beyond it', () => {
    assert.equal(tQuantile975(1), 12.706205);
    assert.equal(tQuantile975(30), 2.042272);
    assertNear(tQuantile975(40), 2.021075, 1e-6);
    assertNear(tQuantile975(100), 1.983972, 1e-6);
    assert.throws(() => tQuantile975(0), /positive integer/);
  });

  it('differences are paired by seed over the seeds both cells have', () => {
    const base = new Map([[1, 0.70], [2, 0.72], [3, 0.71]]);
    const cell = new Map([[3, 0.74], [1, 0.72], [2, 0.73], [9, 0.5]]);
    // paired: 0.02, 0.01, 0.03 → mean 0.02, sd 0.01, half-width 4.302653·0.01/√3 = 0.0248414
    const c = pairedDifferenceCI(cell, base)!;
    assert.equal(c.n, 3);
    assertNear(c.mean, 0.02, 1e-12);
    assertNear(c.halfWidth!, 0.0248414, 1e-6);
    assert.equal(pairedDifferenceCI(new Map([[5, 1]]), base), null);
  });
});
