import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Dataset } from '../../src/data/dataset.js';
import {
  correctDownsampled, ctcvrSampleRate, ctcvrSampleRateFromLabels, lossBasedSample, negativeDownsample, negativeWeights, positionUniform, positiveWeights, sampleStreamRows,
} from '../../src/data/sampling/index.js';
import { bceOfLogit, lossKeepProbs, positionKeepProb } from '../../src/data/sampling/ipw.js';
import { sampleFitRows } from '../../src/schema/sampleFit.js';
import { Rng } from '../../src/util/random.js';

const mean = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s / a.length;
};

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

  it('the records of one position (the lines of a JetStream message) draw apart, and part 0 draws as the position alone', () => {
    const ds = clicks(20_000, 0.1, 3);
    const s = { negativeRate: 0.3, betaPos: 1, seed: 5, inverseWeights: false };
    // 200 messages of 100 lines: row i is line i % 100 + 1 of message i / 100 + 1.
    const seqs = Float64Array.from({ length: ds.numRows }, (_, i) => 1 + Math.floor(i / 100));
    const parts = Uint32Array.from({ length: ds.numRows }, (_, i) => i % 100);
    assert.deepEqual(sampleStreamRows(ds, seqs, s, undefined, new Uint32Array(ds.numRows)), sampleStreamRows(ds, seqs, s));
    for (const q of [1, 77]) assert.equal(positionUniform(5, q, 0), positionUniform(5, q));
    // Within a message: 100 distinct draws, spread over [0, 1).
    const draws = Array.from({ length: 100 }, (_, k) => positionUniform(5, 42, k));
    assert.equal(new Set(draws).size, 100);
    assert.ok(draws.filter((u) => u < 0.3).length > 15 && draws.filter((u) => u < 0.3).length < 45, 'about r of them below r');
    const out = sampleStreamRows(ds, seqs, s, undefined, parts);
    const y = ds.labels[0]!;
    const neg = y.filter((v) => v === 0).length;
    const keptNeg = out.labels[0]!.filter((v) => v === 0).length;
    assert.ok(Math.abs(keptNeg / neg - 0.3) < 0.015, `kept ${keptNeg} of ${neg} negatives`);
    // Stable: a run resumed inside a message (the rows from line 49 of message 21 on) keeps the same rows.
    const from = 20 * 100 + 48;
    const tail = sampleStreamRows({ ...ds, numRows: ds.numRows - from, ids: ds.ids.slice(from), labels: [y.slice(from)] },
      seqs.slice(from), s, undefined, parts.slice(from));
    assert.deepEqual([...tail.ids], [...out.ids].filter((row) => row >= from));
    // The lines of a message are not one draw: without their parts, whole messages are kept or dropped.
    assert.notDeepEqual([...sampleStreamRows(ds, seqs, s).ids], [...out.ids]);
  });
});

describe('inverse-propensity samplers (loss, position)', () => {
  /** |kept − Σp| within 6 standard deviations of a sum of independent Bernoulli(p): a wrong rate fails it (checked below). */
  const within = (kept: number, ps: ArrayLike<number>, scale = 1): boolean => {
    let m = 0;
    let v = 0;
    for (let i = 0; i < ps.length; i++) {
      const p = Math.min(1, ps[i]! * scale);
      m += p;
      v += p * (1 - p);
    }
    return Math.abs(kept - m) <= 6 * Math.sqrt(v);
  };

  it('loss keep probabilities: clip(c·ℓ, pMin, 1) with mean keepRate, positives at 1 on request', () => {
    const rng = new Rng(2);
    const n = 50_000;
    const losses = Float64Array.from({ length: n }, () => -Math.log(rng.uniform() * 0.999 + 0.001));
    const labels = Float32Array.from({ length: n }, () => (rng.uniform() < 0.1 ? 1 : 0));
    for (const keepPositives of [false, true]) {
      const p = lossKeepProbs(losses, labels, { keepRate: 0.3, pMin: 0.05, keepPositives });
      assert.ok(Math.abs(mean(p) - 0.3) < 1e-6, `mean ${mean(p)}`);
      let c: number | undefined;
      for (let i = 0; i < n; i++) {
        assert.ok(p[i]! >= Math.fround(0.05) && p[i]! <= 1);
        if (keepPositives && labels[i]! > 0) assert.equal(p[i], 1);
        // Between the clips, p is one constant times the loss.
        else if (p[i]! > 0.06 && p[i]! < 0.99) {
          c ??= p[i]! / losses[i]!;
          assert.ok(Math.abs(p[i]! / losses[i]! / c - 1) < 1e-6);
        }
      }
    }
    assert.throws(() => lossKeepProbs(losses, labels, { keepRate: 0.12, pMin: 0.05, keepPositives: true }), /keepRate 0\.12 is below what pMin and the kept positives alone keep \(0\.14/);
    assert.throws(() => lossKeepProbs([0, 0, 1, 1], [0, 0, 0, 0], { keepRate: 0.9, pMin: 0.1, keepPositives: false }), /keepRate 0\.9 is above what the losses allow \(2 rows have loss 0/);
    assert.deepEqual(Array.from(lossKeepProbs([0, 2, 1, 1], [0, 0, 0, 0], { keepRate: 0.55, pMin: 0.1, keepPositives: false })), [0.1, 1, 0.55, 0.55].map(Math.fround));
    assert.ok(Math.abs(bceOfLogit(2, 1) + Math.log(1 / (1 + Math.exp(-2)))) < 1e-12);
    assert.ok(Math.abs(bceOfLogit(-800, 1) - 800) < 1e-9, 'no overflow');
  });

  it('position keep probabilities: listed positions, else rate beyond the threshold, else 1', () => {
    const s = { beyond: 2, rate: 0.25, rates: new Map([[0, 1], [5, 0.5]]) };
    assert.deepEqual([0, 1, 2, 3, 5, 9].map((v) => positionKeepProb(v, s)), [1, 1, 1, 0.25, 0.5, 0.25]);
    assert.equal(positionKeepProb(7, { rates: new Map([[0, 0.5]]) }), 1);
  });

  it('keeps each row with its probability (6σ counts on 900k rows; a 10% wrong rate fails the same bound)', () => {
    const n = 900_000;
    const ds = clicks(n, 0.05, 8);
    const positions = Uint32Array.from({ length: n }, (_, i) => 7 + i);
    const levels = [0.05, 0.3, 0.8];
    const ipw = Float32Array.from({ length: n }, (_, i) => levels[i % 3]!);
    for (const negativeRate of [1, 0.5]) {
      const out = sampleStreamRows(ds, positions, { negativeRate, betaPos: 1, seed: 4, inverseWeights: false }, ipw);
      const y = ds.labels[0]!;
      const kept = new Set(out.ids);
      for (const [c, p] of levels.entries()) {
        const ps: number[] = [];
        let k = 0;
        for (let i = c; i < n; i += 3) {
          ps.push(p * (y[i]! > 0 ? 1 : negativeRate));
          if (kept.has(i)) k++;
        }
        assert.ok(within(k, ps), `level ${p}, r ${negativeRate}: kept ${k} of ${ps.length}`);
        assert.ok(!within(k, ps, 1.1) && !within(k, ps, 0.9), `the bound tells a 10% wrong rate at level ${p}`);
      }
      // Weight 1/p of the IPW part (negatives unweighted without inverseWeights).
      for (let k = 0; k < out.numRows; k++) assert.equal(out.weights![k], Math.fround(1 / ipw[out.ids[k]!]!));
    }
  });

  it('1/p weights make a weighted mean unbiased where the kept rows alone are not', () => {
    // Rows with higher CTR are kept more often (as hard, high-loss rows are): the plain mean of the kept labels is biased up.
    const n = 200_000;
    const rng = new Rng(12);
    const ctr = Float64Array.from({ length: n }, () => 0.02 + 0.3 * rng.uniform());
    const labels = Float32Array.from(ctr, (c) => (rng.uniform() < c ? 1 : 0));
    const ds: Dataset = { ...clicks(n, 0, 1), labels: [labels] };
    const ipw = Float32Array.from(ctr, (c) => Math.min(1, 0.05 + 2 * c));
    const out = sampleStreamRows(ds, Uint32Array.from({ length: n }, (_, i) => i), { negativeRate: 1, betaPos: 1, seed: 3, inverseWeights: false }, ipw);
    const truth = mean(labels);
    let sw = 0;
    let swy = 0;
    for (let k = 0; k < out.numRows; k++) {
      sw += out.weights![k]!;
      swy += out.weights![k]! * out.labels[0]![k]!;
    }
    // Horvitz–Thompson: Var(Σ y/p over kept) = Σ y²(1 − p)/p, so its standard error on the mean is:
    let v = 0;
    for (let i = 0; i < n; i++) v += (labels[i]! * (1 - ipw[i]!)) / ipw[i]!;
    const se = Math.sqrt(v) / n;
    assert.ok(Math.abs(swy / n - truth) < 5 * se, `weighted ${swy / n} vs ${truth} (se ${se})`);
    assert.ok(Math.abs(sw / n - 1) < 0.02, `Σw estimates the row count: ${sw}`);
    assert.ok(mean(out.labels[0]!) - truth > 20 * se, `unweighted ${mean(out.labels[0]!)} vs ${truth}: the test can tell`);
  });

  it('fit rows only, weight 1/p, the rows of a batch decided by their positions alone; r alone keeps its old rows', () => {
    const n = 10_000;
    const ds = clicks(n, 0.2, 5);
    const split = { fit: { start: 0, end: 8000 }, validation: { start: 8000, end: 9000 }, test: { start: 9000, end: n } };
    const ipw = Float32Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 0.25 : 1));
    const out = sampleFitRows(ds, split, { negativeRate: 0.5 }, 3, ipw);
    const f = out.split.fit.end;
    for (let k = 0; k < f; k++) {
      const row = out.dataset.ids[k]!;
      assert.equal(out.dataset.weights![k], row % 4 === 0 ? 4 : 1);
    }
    assert.equal(out.dataset.numRows - f, 2000, 'validation and test rows are all kept');
    assert.ok(Array.from(out.dataset.weights!.subarray(f)).every((w) => w === 1));
    assert.equal(out.dataset.negativeSampleRate, 0.5);
    const plain = sampleFitRows(ds, split, { negativeRate: 0.5 }, 3);
    assert.deepEqual(Array.from(plain.dataset.ids.subarray(0, plain.split.fit.end)),
      Array.from(negativeDownsample({ ...ds, numRows: 8000, ids: ds.ids.slice(0, 8000), labels: [ds.labels[0]!.slice(0, 8000)], groupOffsets: undefined }, 0.5, 3).ids));
    // Stream: two batches with their own positions keep what one batch keeps.
    const positions = Uint32Array.from({ length: n }, (_, i) => 3 * i + 1);
    const s = { negativeRate: 1, betaPos: 1, seed: 9, inverseWeights: false };
    const whole = sampleStreamRows(ds, positions, s, ipw);
    const part = (a: number, b: number): Dataset => ({ ...ds, numRows: b - a, ids: ds.ids.slice(a, b), labels: [ds.labels[0]!.slice(a, b)] });
    const a = sampleStreamRows(part(0, 3000), positions.slice(0, 3000), s, ipw.slice(0, 3000));
    const b = sampleStreamRows(part(3000, n), positions.slice(3000), s, ipw.slice(3000));
    assert.deepEqual([...a.ids, ...b.ids], [...whole.ids]);
    assert.notDeepEqual([...sampleStreamRows(ds, positions, { ...s, seed: 10 }, ipw).ids], [...whole.ids]);
  });
});
