/** ECE variants, reliability diagram, NDCG and slice bias on inputs small enough to check on paper. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  calibrationBiasBySlice, ece, eceDetail, eceEqualFrequency, listEce, listEceDetail, ndcg, ndcgDetail,
  reliabilityDiagram, StreamingEce, UndefinedMetricError,
} from '../../src/metrics/index.js';

const near = (a: number, e: number, tol = 1e-12): void => assert.ok(Math.abs(a - e) < tol, `got ${a}, expected ${e}`);

describe('ECE, equal-width bins', () => {
  it('Σ (n_m/N) |mean p − mean y| over the non-empty bins', () => {
    // bin 0: {0.05 / y 0} gap 0.05; bin 1: {0.15 / 1, 0.12 / 0} mean p 0.135, mean y 0.5, gap 0.365;
    // bin 9: {0.95 / 1} gap 0.05  →  (1·0.05 + 2·0.365 + 1·0.05) / 4 = 0.2075
    const d = eceDetail([0.05, 0.15, 0.12, 0.95], [0, 1, 0, 1]);
    near(d.ece, 0.2075);
    assert.deepEqual(d.bins.map((b) => [b.index, b.count]), [[0, 1], [1, 2], [9, 1]]);
  });

  it('weights: n_m becomes the weight sum, zero-weight bins drop out', () => {
    // w = [3, 1, 1, 0]: bin 0 W 3 gap 0.05, bin 1 W 2 gap 0.365, bin 9 W 0 → (0.15 + 0.73) / 5
    near(ece([0.05, 0.15, 0.12, 0.95], [0, 1, 0, 1], { weights: [3, 1, 1, 0] }), 0.88 / 5);
  });

  it('p = 1 falls in the last bin; M is configurable', () => {
    near(ece([1, 0], [1, 0]), 0);
    // M = 2: {0.2, 0.4} vs y {0, 1} → |0.3 − 0.5| = 0.2; {0.6} vs 1 → 0.4 → (2·0.2 + 0.4) / 3
    near(ece([0.2, 0.4, 0.6], [0, 1, 1], { bins: 2 }), 0.8 / 3);
  });

  it('errors: bad input is a RangeError with the index, no rows is undefined', () => {
    assert.throws(() => ece([0.1, 1.2], [0, 1]), /prediction at index 1 is 1\.2/);
    assert.throws(() => ece([0.1], [0], { bins: 0 }), RangeError);
    assert.throws(() => ece([], []), UndefinedMetricError);
  });
});

describe('ECE, equal-frequency bins', () => {
  it('six rows, three bins of two', () => {
    // {0.1, 0.2} vs {0, 0}: 0.15; {0.3, 0.4} vs {1, 0}: |0.35 − 0.5| = 0.15; {0.5, 0.6} vs {1, 1}: 0.45
    // → (2·0.15 + 2·0.15 + 2·0.45) / 6 = 0.25
    near(eceEqualFrequency([0.4, 0.1, 0.6, 0.3, 0.2, 0.5], [0, 0, 1, 1, 0, 1], { bins: 3 }), 0.25);
  });

  it('tied predictions stay in one bin, whatever the row order', () => {
    // tie group {0.2 ×3} has weight midpoint 1.5 of 4 → bin ⌊2·1.5/4⌋ = 0; 0.8 → ⌊2·3.5/4⌋ = 1
    // bin 0: |0.2 − 1/3| = 2/15 (×3), bin 1: |0.8 − 1| = 0.2 → (0.4 + 0.2) / 4 = 0.15
    near(eceEqualFrequency([0.2, 0.2, 0.2, 0.8], [1, 0, 0, 1], { bins: 2 }), 0.15);
    near(eceEqualFrequency([0.8, 0.2, 0.2, 0.2], [1, 0, 0, 1], { bins: 2 }), 0.15);
  });
});

describe('per-list ECE (CLID)', () => {
  it('a list shorter than K puts each row in its own bucket', () => {
    // K = 10, 3 rows: (1/3)(|0 − 0.2| + |1 − 0.5| + |1 − 0.9|) = 0.8 / 3
    near(listEce([0.2, 0.5, 0.9], [0, 1, 1], ['q', 'q', 'q']), 0.8 / 3);
  });

  it('K = 2: buckets sum (y − p) before the absolute value; lists are averaged equally', () => {
    // list b: {0.1/0, 0.2/1}: Σ(y−p) = −0.1 + 0.8 = 0.7; {0.3/0, 0.4/1}: −0.3 + 0.6 = 0.3 → 1.0 / 4 = 0.25
    // list a (3 rows, midpoints ⌊2·0.5/3⌋ = 0, ⌊2·1.5/3⌋ = 1, ⌊2·2.5/3⌋ = 1):
    //   {0.2/0}: −0.2; {0.5/1, 0.9/1}: 0.5 + 0.1 = 0.6 → 0.8 / 3
    const d = listEceDetail([0.2, 0.1, 0.5, 0.2, 0.3, 0.9, 0.4], [0, 0, 1, 1, 0, 1, 1], ['a', 'b', 'a', 'b', 'b', 'a', 'b'],
      { buckets: 2 });
    near(d.ece, (0.8 / 3 + 0.25) / 2);
    assert.equal(d.listsUsed, 2);
  });

  it('zero-weight lists are left out; weights scale rows inside a list', () => {
    // list x: w [2, 1], rows in their own buckets: (2·|0 − 0.4| + 1·|1 − 0.6|) / 3 = 0.4; list y: weight 0, skipped
    near(listEce([0.4, 0.6, 0.3], [0, 1, 1], [1, 1, 2], { weights: [2, 1, 0] }), 0.4);
    // equal predictions share a bucket: |2·(0 − 0.5) + 1·(1 − 0.5)| / 3 = 1/6
    near(listEce([0.5, 0.5], [0, 1], [1, 1], { weights: [2, 1] }), 1 / 6);
    assert.throws(() => listEce([0.5], [1], [1], { weights: [0] }), UndefinedMetricError);
  });
});

describe('StreamingEce', () => {
  it('equals ece on the concatenation, and reset clears it', () => {
    const p = [0.05, 0.15, 0.12, 0.95, 0.33, 0.61], y = [0, 1, 0, 1, 1, 0], w = [1, 2, 1, 0.5, 1, 3];
    const s = new StreamingEce(10);
    s.add(p.slice(0, 2), y.slice(0, 2), w.slice(0, 2));
    s.add(Float64Array.from(p.slice(2)), Uint8Array.from(y.slice(2)), w.slice(2));
    assert.equal(s.count, 6);
    near(s.compute(), ece(p, y, { weights: w }));
    s.reset();
    assert.equal(s.count, 0);
    assert.throws(() => s.compute(), UndefinedMetricError);
    assert.throws(() => s.add([0.5], [2]), /label at index 0 is 2/);
  });
});

describe('reliability diagram', () => {
  const p = [0.4, 0.1, 0.6, 0.3, 0.2, 0.5], y = [0, 0, 1, 1, 0, 1];

  it('per equal-frequency bin: mean p, mean y, count', () => {
    const d = reliabilityDiagram(p, y, { bins: 3 });
    assert.deepEqual(d.bins.map((b) => b.count), [2, 2, 2]);
    d.bins.forEach((b, i) => {
      near(b.meanPrediction, [0.15, 0.35, 0.55][i]!);
      near(b.meanLabel, [0, 0.5, 1][i]!);
    });
    near(d.ece, 0.25);
  });
});

describe('NDCG@k', () => {
  it('graded gains 2^label − 1, discount 1/log2(rank + 1)', () => {
    // ranked by score: labels 0, 1, 2 → DCG = 0 + 1/log2 3 + 3/log2 4; ideal 2, 1, 0 → IDCG = 3 + 1/log2 3
    const dcg = 1 / Math.log2(3) + 3 / 2, idcg = 3 + 1 / Math.log2(3);
    near(ndcg([0.9, 0.8, 0.1], [0, 1, 2], [1, 1, 1]), dcg / idcg);
    // k = 1: the top document has gain 0
    near(ndcg([0.9, 0.8, 0.1], [0, 1, 2], [1, 1, 1], { k: 1 }), 0);
  });

  it('groups without a positive label are left out of the mean', () => {
    const d = ndcgDetail([0.9, 0.1, 0.5, 0.7], [1, 0, 0, 0], ['a', 'a', 'b', 'b']);
    near(d.ndcg, 1);
    assert.equal(d.groupsUsed, 1);
    assert.equal(d.groups[1]!.ndcg, null);
    assert.throws(() => ndcg([0.5], [0], [1]), UndefinedMetricError);
  });

  it('ties: averaged over the tie group by default, input order with ties: "first"', () => {
    // average: mean gain ½ over ranks 1 and 2 → ½ (1 + 1/log2 3); IDCG = 1
    near(ndcg([0.5, 0.5], [1, 0], [0, 0]), 0.5 * (1 + 1 / Math.log2(3)));
    near(ndcg([0.5, 0.5], [0, 1], [0, 0]), 0.5 * (1 + 1 / Math.log2(3)));
    near(ndcg([0.5, 0.5], [1, 0], [0, 0], { ties: 'first' }), 1);
    near(ndcg([0.5, 0.5], [0, 1], [0, 0], { ties: 'first' }), 1 / Math.log2(3));
    // a tie group straddling k = 1: only rank 1's discount counts → ½ · 1
    near(ndcg([0.5, 0.5], [1, 0], [0, 0], { k: 1 }), 0.5);
  });

  it('rejects NaN scores, negative labels and bad k', () => {
    assert.throws(() => ndcg([0.1, NaN], [1, 0], [1, 1]), /score at index 1 is NaN/);
    assert.throws(() => ndcg([0.1, 0.2], [1, -1], [1, 1]), /label at index 1 is -1/);
    assert.throws(() => ndcg([0.1], [1], [1], { k: 0 }), RangeError);
  });
});

describe('calibration bias per slice', () => {
  it('ratio Σp/Σy − 1 and mean difference Σ(p − y)/n', () => {
    const [a, b] = calibrationBiasBySlice([0.2, 0.4, 0.5], [0, 1, 0], ['a', 'a', 'b']);
    // slice a: Σp = 0.6, Σy = 1 → ratio −0.4, mean (0.6 − 1)/2 = −0.2
    near(a!.ratioBias!, -0.4);
    near(a!.meanBias!, -0.2);
    // slice b: no positive → ratio undefined (null); mean 0.5
    assert.equal(b!.ratioBias, null);
    near(b!.meanBias!, 0.5);
    // weights: slice a with w [3, 1]: Σwp = 1.0, Σwy = 1 → ratio 0, mean (1.0 − 1)/4 = 0
    const [aw] = calibrationBiasBySlice([0.2, 0.4, 0.5], [0, 1, 0], ['a', 'a', 'b'], [3, 1, 1]);
    near(aw!.ratioBias!, 0);
    near(aw!.meanBias!, 0);
  });
});
