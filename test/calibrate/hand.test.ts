/** Downsampling correction, Platt, isotonic and the Calibrator JSON round trip, worked by hand. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ChainCalibrator, CalibratorFormatError, DownsamplingCalibrator, IsotonicCalibrator, PlattCalibrator,
  calibratorFromJSON, fitIsotonic, fitPlatt, poolAdjacentViolators,
} from '../../src/calibrate/index.js';
import { correctDownsampled, correctSampled, ctcvrSampleRate } from '../../src/data/sampling/index.js';
import { correctForSampling } from '../../src/experiment/samplingCorrection.js';

const near = (a: number, e: number, tol = 1e-12): void => assert.ok(Math.abs(a - e) < tol, `got ${a}, expected ${e}`);

describe('negative downsampling', () => {
  it('the calibrator applies the data layer\'s correction, in both score spaces', () => {
    // r = 0.1, p = 0.5: q = 0.5 / (0.5 + 0.5/0.1) = 0.5 / 5.5 = 1/11
    const c = new DownsamplingCalibrator(0.1);
    near(c.applyOne(0.5, 'probability'), 1 / 11);
    near(c.applyOne(0, 'logit'), 1 / 11);
    assert.equal(c.applyOne(0.3), correctSampled(0.3, 0.1));
    assert.throws(() => new DownsamplingCalibrator(0), /rate must be in \(0, 1\]/);
  });

  it('one correction: the calibrator, correctDownsampled and the saved-model scoring agree bit for bit', () => {
    const r = 0.3;
    const c = new DownsamplingCalibrator(r);
    const p = Float64Array.from({ length: 1000 }, (_, i) => (i + 0.5) / 1000);
    const scored = correctForSampling(p.slice(), { negativeSampleRate: r, betaPos: 1, corrected: true });
    for (let i = 0; i < p.length; i++) {
      assert.equal(c.applyOne(p[i]!), scored[i], `p = ${p[i]}`);
      assert.equal(correctDownsampled(p[i]!, r), scored[i], `p = ${p[i]}`);
    }
    // A NaN score stays NaN through the scoring path (it used to become a silent 0).
    assert.ok(Number.isNaN(correctForSampling(Float64Array.of(Number.NaN), { negativeSampleRate: r, betaPos: 2, corrected: true })[0]));
  });

  it('resampling check: training on the sample then correcting recovers the population rate', () => {
    // population 1000 rows at CTR 2%: 20 pos, 980 neg; keep negatives at r = 0.1 → 98; sample CTR 20/118
    const q = correctDownsampled(20 / 118, 0.1);
    // q = (20/118) / (20/118 + (98/118)/0.1) = 20 / (20 + 980) = 0.02
    near(q, 0.02);
  });

  it('CTCVR rate r\' = (x1 + x2) / (x1/r + x2)', () => {
    // x1 = 100 kept non-clicks (1000 before sampling at r = 0.1), x2 = 50 clicks without pay
    near(ctcvrSampleRate(100, 50, 0.1), 150 / 1050);
    near(ctcvrSampleRate(100, 0, 0.1), 0.1); // no click negatives: r' = r
    near(ctcvrSampleRate(0, 50, 0.1), 1); // only unsampled negatives: r' = 1
    assert.throws(() => ctcvrSampleRate(0, 0, 0.1), /undefined/);
    assert.throws(() => ctcvrSampleRate(Number.NaN, 1, 0.1), /finite/);
  });
});

describe('Platt scaling', () => {
  it('recovers the map of a perfectly specified sigmoid (no smoothing, soft-label equivalent data)', () => {
    // Rows duplicated in proportion σ(2z − 1) per z: the unsmoothed MLE is exactly a = 2, b = −1.
    const z: number[] = [], y: number[] = [], w: number[] = [];
    for (const zi of [-2, -1, 0, 1, 2]) {
      const p = 1 / (1 + Math.exp(-(2 * zi - 1)));
      z.push(zi, zi); y.push(1, 0); w.push(p, 1 - p);
    }
    const f = fitPlatt(z, y, { weights: w, targetSmoothing: false });
    assert.ok(f.converged);
    near(f.a, 2, 1e-9);
    near(f.b, -1, 1e-9);
  });

  it('smoothing targets: with one positive and one negative row the targets are 2/3 and 1/3', () => {
    // T+ = (1 + 1)/(1 + 2) = 2/3, T− = 1/(1 + 2) = 1/3; z = ±1 → σ(a + b) = 2/3, σ(−a + b) = 1/3 → a = ln 2, b = 0
    const f = fitPlatt([1, -1], [1, 0]);
    near(f.a, Math.log(2), 1e-10);
    near(f.b, 0, 1e-10);
  });

  it('apply takes probabilities or logits; p = 0 / 1 map to the limits', () => {
    const c = new PlattCalibrator(2, -1);
    near(c.applyOne(0, 'logit'), 1 / (1 + Math.exp(1)));
    near(c.applyOne(0.5), 1 / (1 + Math.exp(1)));
    assert.equal(c.applyOne(0), 0);
    assert.equal(c.applyOne(1), 1);
    assert.throws(() => c.apply([0.5, 1.5]), /probability at index 1 is 1\.5/);
  });
});

describe('isotonic regression', () => {
  it('PAV pools violators into their weighted mean', () => {
    // [1, 3, 2, 4] w 1: pool (3, 2) → 2.5; weights [1, 1, 3, 1]: (3·1 + 2·3)/4 = 2.25
    assert.deepEqual(Array.from(poolAdjacentViolators([1, 3, 2, 4], [1, 1, 1, 1])), [1, 2.5, 2.5, 4]);
    assert.deepEqual(Array.from(poolAdjacentViolators([1, 3, 2, 4], [1, 1, 3, 1])), [1, 2.25, 2.25, 4]);
    // a late low value pools backwards through several blocks: [3, 2, 1] → 2, 2, 2
    assert.deepEqual(Array.from(poolAdjacentViolators([3, 2, 1], [1, 1, 1])), [2, 2, 2]);
  });

  it('ties in x merge first; interior flat points are trimmed; prediction interpolates and clips', () => {
    // x 0.1 → y 0; x 0.2 twice → mean (1 + 0)/2 = 0.5; x 0.3 → 0 (violates) → pool with 0.2: (2·0.5 + 0)/3 = 1/3;
    // x 0.4 → 1. Fitted: 0.1:0, 0.2:1/3, 0.3:1/3, 0.4:1 — nothing to trim (0.2 and 0.3 each differ from a neighbour)
    const f = fitIsotonic([0.2, 0.1, 0.2, 0.3, 0.4], [1, 0, 0, 0, 1]);
    assert.deepEqual(Array.from(f.x), [0.1, 0.2, 0.3, 0.4]);
    near(f.y[1]!, 1 / 3); near(f.y[2]!, 1 / 3); near(f.y[3]!, 1);
    const c = new IsotonicCalibrator(f.x, f.y);
    near(c.applyOne(0.35), 1 / 3 + 0.5 * (1 - 1 / 3)); // halfway between 0.3 and 0.4
    near(c.applyOne(0.05), 0); // clipped below
    near(c.applyOne(0.9), 1); // clipped above
    // three equal fitted values in a row: the middle one is dropped
    assert.deepEqual(Array.from(fitIsotonic([1, 2, 3, 4], [0, 0, 0, 1]).x), [1, 3, 4]);
    // zero-weight rows are ignored
    assert.deepEqual(Array.from(fitIsotonic([1, 2, 3], [0, 1, 0], [1, 1, 0]).y), [0, 1]);
  });
});

describe('Calibrator JSON round trip', () => {
  it('every kind survives toJSON → JSON.stringify → calibratorFromJSON with identical outputs', () => {
    const iso = IsotonicCalibrator.fit([-2, -1, 0, 1, 2], [0, 0, 1, 0, 1], { space: 'logit' });
    const chain = new ChainCalibrator([new DownsamplingCalibrator(0.1), new PlattCalibrator(1.1, -0.2)]);
    const probs = [0, 0.01, 0.2, 0.5, 0.93, 1];
    for (const c of [new PlattCalibrator(0.8, 0.3), iso, new DownsamplingCalibrator(0.25), chain]) {
      const back = calibratorFromJSON(JSON.parse(JSON.stringify(c)));
      assert.equal(back.kind, c.kind);
      assert.deepEqual(back.toJSON(), c.toJSON());
      assert.deepEqual(Array.from(back.apply(probs)), Array.from(c.apply(probs)));
    }
    // chain: downsampling then Platt on the corrected probability
    const q = 0.5 / (0.5 + 0.5 / 0.1);
    near(chain.applyOne(0.5), 1 / (1 + Math.exp(-(1.1 * Math.log(q / (1 - q)) - 0.2))));
    // the logit input of a chain reaches its first step as a logit
    near(chain.applyOne(0, 'logit'), chain.applyOne(0.5));
  });

  it('invalid JSON names the path of the bad field', () => {
    assert.throws(() => calibratorFromJSON({ kind: 'platt', a: 1 }), /calibrator\.b: expected a finite number/);
    assert.throws(() => calibratorFromJSON({ kind: 'chain', steps: [{ kind: 'nope' }] }), /calibrator\.steps\[0\]\.kind: unknown/);
    assert.throws(() => calibratorFromJSON({ kind: 'isotonic', space: 'logit', x: [1, 0], y: [0, 1] }), CalibratorFormatError);
    assert.throws(() => calibratorFromJSON({ kind: 'downsampling', rate: 2 }), /rate must be in/);
    assert.throws(() => calibratorFromJSON(null), /calibrator: expected an object/);
  });
});
