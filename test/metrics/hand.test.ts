/** Metric values worked out by hand on inputs small enough to check on paper. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  auc, aucDetail, gauc, gaucDetail, logLoss, perGroupAuc, predictionDifference, probabilitiesFromLogits,
  StreamingAuc, UndefinedMetricError,
} from '../../src/metrics/index.js';

const near = (a: number, e: number, tol = 1e-12): void => assert.ok(Math.abs(a - e) < tol, `got ${a}, expected ${e}`);

describe('auc by hand', () => {
  it('classic four-point example: 3 of 4 pairs ordered', () => {
    // pairs (pos, neg): (0.35,0.1)✓ (0.35,0.4)✗ (0.8,0.1)✓ (0.8,0.4)✓
    near(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  });

  it('ties count ½', () => {
    near(auc([0.5, 0.5], [0, 1]), 0.5);
    // pos 0.4 ties neg 0.4 (½), beats 0.1 (1); pos 0.9 beats both (2) → 3.5 / 4
    near(auc([0.1, 0.4, 0.4, 0.9], [0, 1, 0, 1]), 3.5 / 4);
  });

  it('only the order matters: logits, ±Infinity and -0 behave like any score', () => {
    // pos 0 beats −∞, −2 and ties −0 (2.5); pos 3 and +∞ beat all three negatives (3 each)
    near(auc([-Infinity, -2, 0, -0, 3, Infinity], [0, 0, 1, 0, 1, 1]), (2.5 + 3 + 3) / 9);
  });

  it('an integer weight equals repeating the row', () => {
    const s = [0.2, 0.3, 0.6, 0.7, 0.4];
    const y = [1, 0, 1, 0, 0];
    near(auc(s, y, [1, 3, 1, 2, 1]), auc([...s, 0.3, 0.3, 0.7], [...y, 0, 0, 0]));
  });

  it('weighted pairs: Σ w+ w− [s+ > s−] / (W+ W−)', () => {
    // pos (0.6, w2), (0.2, w1); neg (0.4, w3), (0.1, w0.5)
    // 0.6 beats both: 2·(3 + 0.5) = 7; 0.2 beats 0.1: 1·0.5 = 0.5; W+ W− = 3 · 3.5
    const d = aucDetail([0.6, 0.2, 0.4, 0.1], [1, 1, 0, 0], [2, 1, 3, 0.5]);
    near(d.auc, 7.5 / 10.5);
    near(d.positives, 3);
    near(d.negatives, 3.5);
  });

  it('flipping labels gives 1 − AUC on a large random set', () => {
    let seed = 12345;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const n = 20000;
    const s = new Float32Array(n), y = new Uint8Array(n), yf = new Uint8Array(n);
    for (let i = 0; i < n; i++) { s[i] = Math.round(rnd() * 100) / 100; y[i] = rnd() < 0.3 ? 1 : 0; yf[i] = 1 - y[i]!; }
    near(auc(s, y) + auc(s, yf), 1, 1e-12);
  });

  it('one class present is undefined, not 0.5', () => {
    assert.throws(() => auc([0.1, 0.2], [1, 1]), UndefinedMetricError);
    assert.throws(() => auc([], []), UndefinedMetricError);
    // positives present but with zero weight carry no mass
    assert.throws(() => auc([0.1, 0.2, 0.3], [1, 0, 0], [0, 1, 1]), /only one class/);
  });

  it('rejects malformed input with RangeError naming the index', () => {
    assert.throws(() => auc([0.1, 0.2], [0, 2]), /label at index 1 is 2/);
    assert.throws(() => auc([0.1, 0.2], [0, -1]), RangeError);
    assert.throws(() => auc([0.1, NaN], [0, 1]), /score at index 1 is NaN/);
    assert.throws(() => auc([0.1, 0.2], [0, 1, 1]), /labels has length 3, expected 2/);
    assert.throws(() => auc([0.1, 0.2], [0, 1], [1, -1]), /weight at index 1/);
    assert.throws(() => auc([0.1, 0.2], [0, 1], [1, Infinity]), /weight at index 1/);
  });
});

describe('logLoss by hand', () => {
  it('unweighted and weighted means', () => {
    near(logLoss([0.8, 0.4], [1, 0]), -(Math.log(0.8) + Math.log(0.6)) / 2);
    near(logLoss([0.8, 0.4], [1, 0], [3, 1]), -(3 * Math.log(0.8) + Math.log(0.6)) / 4);
    near(logLoss(Float32Array.from([0.25]), [0]), -Math.log(0.75));
  });

  it('clips p to [1e-7, 1 − 1e-7] so confident mistakes stay finite', () => {
    near(logLoss([0], [1]), -Math.log(1e-7));
    near(logLoss([1], [0]), -Math.log(1e-7), 1e-8);
    near(logLoss([1, 0], [1, 0]), -Math.log1p(-1e-7));
  });

  it('zero-weight rows are ignored; zero total weight is undefined', () => {
    near(logLoss([0.8, 0.0], [1, 1], [1, 0]), -Math.log(0.8));
    assert.throws(() => logLoss([0.5], [1], [0]), UndefinedMetricError);
    assert.throws(() => logLoss([], []), UndefinedMetricError);
  });

  it('rejects values that are not probabilities (logits passed by mistake)', () => {
    assert.throws(() => logLoss([0.5, 2.3], [0, 1]), /prediction at index 1 is 2.3/);
    assert.throws(() => logLoss([NaN], [1]), RangeError);
  });

  it('probabilitiesFromLogits is stable at extreme logits and feeds logLoss', () => {
    const p = probabilitiesFromLogits(Float32Array.from([0, 2, -2, 1000, -1000]));
    near(p[0]!, 0.5);
    near(p[1]!, 1 / (1 + Math.exp(-2)));
    near(p[2]!, 1 - 1 / (1 + Math.exp(-2)));
    assert.equal(p[3], 1);
    assert.equal(p[4], 0);
    near(logLoss(probabilitiesFromLogits([2]), [1]), Math.log1p(Math.exp(-2)));
  });
});

describe('gauc by hand', () => {
  // group 'a': one ordered pair → 1; group 'b': pos 0.5 beats 0.4, loses to 0.6 → 0.5; 'c' one class.
  const s = [0.1, 0.9, 0.5, 0.6, 0.4, 0.3, 0.7];
  const y = [0, 1, 1, 0, 0, 1, 1];
  const g = ['a', 'a', 'b', 'b', 'b', 'c', 'c'];

  it('Σ n_g AUC_g / Σ n_g over groups having both classes', () => {
    near(gauc(s, y, g), (2 * 1 + 3 * 0.5) / 5);
    const d = gaucDetail(s, y, g);
    assert.equal(d.groupsUsed, 2);
    assert.equal(d.groupsTotal, 3);
  });

  it('per-group list in first-seen order with null for single-class groups', () => {
    const per = perGroupAuc(s, y, g);
    assert.deepEqual(per.map((x) => [x.group, x.auc, x.rows]), [['a', 1, 2], ['b', 0.5, 3], ['c', null, 2]]);
  });

  it('weights give n_g = Σ w in the group and weight the pairs inside it', () => {
    const w = [1, 1, 2, 1, 1, 5, 5];
    // 'a': n=2, auc 1; 'b': n=4, pos(w2) vs 0.6(w1) ✗, vs 0.4(w1) ✓ → 0.5
    near(gauc(s, y, g, w), (2 * 1 + 4 * 0.5) / 6);
  });

  it('numeric group ids work and no qualifying group is undefined', () => {
    near(gauc(s, y, Int32Array.from([1, 1, 2, 2, 2, 3, 3])), 3.5 / 5);
    assert.throws(() => gauc([0.1, 0.2], [0, 1], [1, 2]), /none of the 2 groups/);
    assert.throws(() => gauc([0.1, 0.2], [0, 1], [1]), /groups has length 1/);
  });
});

describe('StreamingAuc', () => {
  it('equals one-shot auc, survives buffer reuse and reset', () => {
    const acc = new StreamingAuc();
    const buf = new Float32Array(2);
    const lab = new Uint8Array(2);
    buf.set([0.1, 0.4]); lab.set([0, 0]); acc.add(buf, lab);
    buf.set([0.35, 0.8]); lab.set([1, 1]); acc.add(buf, lab); // overwrites the caller's buffer
    near(acc.compute(), 0.75);
    near(acc.compute(), 0.75); // compute does not consume
    acc.reset();
    assert.equal(acc.count, 0);
    assert.throws(() => acc.compute(), UndefinedMetricError);
    acc.add([0.6, 0.2, 0.4, 0.1], [1, 1, 0, 0], [2, 1, 3, 0.5]);
    near(acc.compute(), 7.5 / 10.5);
  });

  it('grows past its initial capacity and rejects a bad chunk without adding it', () => {
    const acc = new StreamingAuc();
    for (let c = 0; c < 5; c++) {
      const s = new Float64Array(1000).map((_, i) => (i % 10) / 10);
      const y = new Uint8Array(1000).map((_, i) => (i % 10 >= 5 ? 1 : 0));
      acc.add(s, y);
    }
    assert.equal(acc.count, 5000);
    near(acc.compute(), 1);
    assert.throws(() => acc.add([0.5], [3]), RangeError);
    assert.equal(acc.count, 5000);
  });
});

describe('predictionDifference by hand', () => {
  it('mean of |a − b| / ((a + b)/2), weighted, 0/0 rows count as agreement', () => {
    near(predictionDifference([0.1, 0.2], [0.3, 0.2]), (0.2 / 0.2 + 0) / 2);
    near(predictionDifference([0.1, 0.2, 0], [0.3, 0.2, 0], [1, 3, 1]), 1 / 5);
    assert.throws(() => predictionDifference([0.1], [0.1, 0.2]), RangeError);
  });
});
