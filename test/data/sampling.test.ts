import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Dataset } from '../../src/data/dataset.js';
import {
  correctDownsampled, ctcvrSampleRate, ctcvrSampleRateFromLabels, lossBasedSample, negativeDownsample, negativeWeights, positiveWeights, sampleStreamRows,
} from '../../src/data/sampling/index.js';
import { Rng } from '../../src/util/random.js';

function clicks(n: number, ctr: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const labels = Float32Array.from({ length: n }, () => (rng.uniform() < ctr ? 1 : 0));
  return {
    numRows: n, numFields: 1, fieldNames: ['row'], ids: Int32Array.from({ length: n }, (_, i) => i),
    fieldSizes: Int32Array.from([n]), fieldOffsets: Int32Array.from([0]), numIds: n, labels: [labels], labelNames: ['click'],
    groupOffsets: Int32Array.from({ length: n / 10 + 1 }, (_, g) => g * 10),
  };
}

describe('negative downsampling', () => {
  it('keeps every positive and each negative with probability r (exact seeded counts)', () => {
    const ds = clicks(20000, 0.1, 1);
    const r = 0.25;
    const out = negativeDownsample(ds, r, 42);
    const y = ds.labels[0]!;
    let pos = 0;
    let neg = 0;
    let keptNeg = 0;
    const rng = new Rng(42);
    for (let i = 0; i < ds.numRows; i++) {
      const u = rng.uniform();
      if (y[i]! > 0) pos++;
      else {
        neg++;
        if (u < r) keptNeg++;
      }
    }
    const outPos = out.labels[0]!.reduce((a, b) => a + b, 0);
    assert.equal(outPos, pos);
    assert.equal(out.numRows - outPos, keptNeg);
    assert.ok(Math.abs(keptNeg / neg - r) < 0.02, `${keptNeg / neg}`);
    assert.equal(out.negativeSampleRate, 0.25);
    assert.equal(negativeDownsample(out, 0.5, 1).negativeSampleRate, 0.125);
    // Rows keep their ids (the id is the source row here), in file order; groups keep their kept rows.
    for (let k = 1; k < out.numRows; k++) assert.ok(out.ids[k]! > out.ids[k - 1]!);
    assert.equal(out.groupOffsets![out.groupOffsets!.length - 1], out.numRows);
    assert.deepEqual(Array.from(negativeDownsample(ds, r, 42).ids), Array.from(out.ids));
  });

  it('weights 1 : 1/r (1 / keep probability) and the closed-form correction', () => {
    assert.deepEqual(Array.from(negativeWeights(Float32Array.from([1, 0, 0, 1]), 0.1)), [1, Math.fround(10), Math.fround(10), 1]);
    // p = 0.5 at r = 0.1: q = 0.5 / (0.5 + 0.5 / 0.1) = 0.5 / 5.5.
    assert.ok(Math.abs(correctDownsampled(0.5, 0.1) - 1 / 11) < 1e-15);
    assert.equal(correctDownsampled(0.3, 1), 0.3);
    const q = correctDownsampled(Float32Array.from([0, 0.2, 1]), 0.5);
    assert.ok(Math.abs(q[1]! - 0.2 / (0.2 + 0.8 / 0.5)) < 1e-7);
    assert.deepEqual([q[0], q[2]], [0, 1]);
    assert.throws(() => correctDownsampled(0.5, 0), /rate/);
  });

  it('CTCVR rate r\' = (x1 + x2) / (x1/r + x2)', () => {
    // x1 = 100 kept non-clicks at r = 0.1 stand for 1000; x2 = 50 clicks without pay: (150) / (1000 + 50).
    assert.ok(Math.abs(ctcvrSampleRate(100, 50, 0.1) - 150 / 1050) < 1e-15);
    assert.equal(ctcvrSampleRate(0, 7, 0.1), 1);
    const click = Float32Array.from([0, 0, 1, 1, 1, 0]);
    const pay = Float32Array.from([0, 0, 0, 1, 0, 0]);
    assert.ok(Math.abs(ctcvrSampleRateFromLabels(click, pay, 0.5) - (3 + 2) / (3 / 0.5 + 2)) < 1e-15);
  });
});

describe('weighting and loss-based sampling', () => {
  it('β_pos weights positives β and negatives 1', () => {
    assert.deepEqual(Array.from(positiveWeights(Float32Array.from([1, 0, 1]), 3)), [3, 1, 3]);
    // On top of existing weights, for the first `end` rows only (data.sampling weights the fit rows).
    const base = Float32Array.from([2, 2, 0.5, 0.5]);
    assert.deepEqual(Array.from(positiveWeights(Float32Array.from([1, 0, 1, 1]), 3, base, 3)), [6, 2, 1.5, 0.5]);
    assert.deepEqual(Array.from(base), [2, 2, 0.5, 0.5], 'base is not modified');
  });

  it('one convention: negative downsampling is loss-based sampling with p = 1 (positives), r (negatives)', () => {
    const ds = clicks(5000, 0.1, 4);
    const r = 0.2;
    const y = ds.labels[0]!;
    const p = Float32Array.from(y, (v) => (v > 0 ? 1 : r));
    const neg = negativeDownsample(ds, r, 11);
    const lb = lossBasedSample(ds, p, 11);
    assert.deepEqual(Array.from(lb.ids), Array.from(neg.ids), 'same draws, same rows');
    // The weights that undo downsampling are the importance weights 1 / keep probability.
    assert.deepEqual(Array.from(lb.weights!), Array.from(negativeWeights(neg.labels[0]!, r)));
  });

  it('keeps row i with probability p_i, weight 1/p_i and keepProb stored', () => {
    const ds = clicks(10000, 0.2, 3);
    const p = Float32Array.from({ length: ds.numRows }, (_, i) => (i % 2 === 0 ? 1 : 0.25));
    const out = lossBasedSample(ds, p, 9);
    let sure = 0;
    for (let k = 0; k < out.numRows; k++) {
      const row = out.ids[k]!;
      assert.equal(out.keepProb![k], p[row]);
      assert.equal(out.weights![k], 1 / p[row]!);
      if (row % 2 === 0) sure++;
    }
    assert.equal(sure, 5000, 'rows with p = 1 are always kept');
    // Weighted count estimates the number of rows.
    const est = out.weights!.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(est - 10000) < 400, `${est}`);
    assert.throws(() => lossBasedSample(ds, new Float32Array(ds.numRows), 1), /keep probability of row 0 is 0/);
  });
});

describe('stream negative downsampling', () => {
  it('keeps every positive and about r of the negatives, weighted 1/r (and β) by request, decided by position alone', () => {
    const ds = clicks(20_000, 0.1, 3);
    const positions = Uint32Array.from({ length: ds.numRows }, (_, i) => 1000 + i);
    const s = { negativeRate: 0.2, betaPos: 2, seed: 5, inverseWeights: true };
    const out = sampleStreamRows(ds, positions, s);
    const y = ds.labels[0]!, yk = out.labels[0]!;
    const pos = y.filter((v) => v > 0).length;
    const keptNeg = yk.filter((v) => v === 0).length;
    assert.equal(yk.length - keptNeg, pos, 'every positive is kept');
    assert.ok(Math.abs(keptNeg / (ds.numRows - pos) - 0.2) < 0.015, `kept ${keptNeg} of ${ds.numRows - pos} negatives`);
    for (let i = 0; i < yk.length; i++) assert.equal(out.weights![i], yk[i]! > 0 ? 2 : Math.fround(1 / 0.2));
    // The same rows in two halves keep the same rows: nothing depends on where a batch starts.
    const half = (a: number, b: number): Dataset => ({ ...ds, numRows: b - a, ids: ds.ids.slice(a, b), labels: [y.slice(a, b)] });
    const first = sampleStreamRows(half(0, 10_000), positions.slice(0, 10_000), s);
    const second = sampleStreamRows(half(10_000, 20_000), positions.slice(10_000), s);
    assert.deepEqual([...first.ids, ...second.ids], [...out.ids]);
    // Another seed, another sample.
    assert.notDeepEqual([...sampleStreamRows(ds, positions, { ...s, seed: 6 }).ids], [...out.ids]);
  });
});
