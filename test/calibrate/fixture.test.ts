/**
 * Calibrators and NDCG vs scikit-learn 1.2 (test/fixtures/calibration_sklearn.json, made once by
 * test/fixtures/make_calibration_fixture.py).
 *
 * Tolerances: isotonic |Δ| < 1e-6 — both sides compute the same weighted means in float64, so the
 * only difference is summation order (observed ~1e-16). Platt |Δ| < 1e-4 on a and b — sklearn stops
 * its BFGS at gradient norm 1e-5 (and LogisticRegression's lbfgs at its own tol) while ctrkit's
 * Newton solve converges to the exact optimum, so the gap is sklearn's stopping error, not ours.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { IsotonicCalibrator, PlattCalibrator, fitIsotonic, fitPlatt } from '../../src/calibrate/index.js';
import { ndcgDetail } from '../../src/metrics/index.js';

interface IsoCase { name: string; x: number[]; y: number[]; weights: number[] | null; x_thresholds: number[];
  y_thresholds: number[]; queries: number[]; predictions: number[] }
interface PlattCase { name: string; z: number[]; labels: number[]; weights: number[] | null; a: number; b: number;
  plain_a: number; plain_b: number }
interface NdcgCase { name: string; labels: number[]; scores: number[]; groups: number[]; ndcg10: (number | null)[];
  ndcg: (number | null)[] }
const fx = JSON.parse(readFileSync(new URL('../../../test/fixtures/calibration_sklearn.json', import.meta.url), 'utf8')) as
  { isotonic: IsoCase[]; platt: PlattCase[]; ndcg: NdcgCase[] };

function near(a: number, e: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - e) < tol, `${what}: got ${a}, expected ${e} (|Δ| = ${Math.abs(a - e)})`);
}

describe('isotonic vs sklearn IsotonicRegression(out_of_bounds="clip")', () => {
  for (const c of fx.isotonic) {
    it(c.name, () => {
      const fit = fitIsotonic(c.x, c.y, c.weights ?? undefined);
      assert.equal(fit.x.length, c.x_thresholds.length, 'threshold count');
      c.x_thresholds.forEach((x, i) => near(fit.x[i]!, x, 1e-12, `x_thresholds[${i}]`));
      c.y_thresholds.forEach((y, i) => near(fit.y[i]!, y, 1e-6, `y_thresholds[${i}]`));
      const cal = IsotonicCalibrator.fit(c.x, c.y, c.weights ? { weights: c.weights } : {});
      // Queries outside [0, 1] are not probabilities: feed them as raw x through the fit itself.
      c.queries.forEach((q, i) => {
        const got = q >= 0 && q <= 1 ? cal.applyOne(q) : (q < 0 ? fit.y[0]! : fit.y[fit.y.length - 1]!);
        near(got, c.predictions[i]!, 1e-6, `predict(${q})`);
      });
    });
  }
});

describe('Platt vs sklearn CalibratedClassifierCV(method="sigmoid") and LogisticRegression(C=1e12)', () => {
  for (const c of fx.platt) {
    it(c.name, () => {
      const w = c.weights ?? undefined;
      const f = fitPlatt(c.z, c.labels, w ? { weights: w } : {});
      assert.ok(f.converged);
      near(f.a, c.a, 1e-4, 'a (smoothed targets)');
      near(f.b, c.b, 1e-4, 'b (smoothed targets)');
      const plain = fitPlatt(c.z, c.labels, { ...(w && { weights: w }), targetSmoothing: false });
      near(plain.a, c.plain_a, 1e-4, 'a (plain logistic regression)');
      near(plain.b, c.plain_b, 1e-4, 'b (plain logistic regression)');
      const cal = PlattCalibrator.fit(c.z, c.labels, w ? { weights: w } : {});
      near(cal.applyOne(c.z[0]!, 'logit'), 1 / (1 + Math.exp(-(c.a * c.z[0]! + c.b))), 1e-4, 'applied');
    });
  }
});

describe('NDCG vs sklearn ndcg_score (gains 2^label − 1, tie-averaged)', () => {
  for (const c of fx.ndcg) {
    it(c.name, () => {
      for (const [k, ref] of [[10, c.ndcg10], [undefined, c.ndcg]] as const) {
        const d = ndcgDetail(c.scores, c.labels, c.groups, k === undefined ? {} : { k });
        d.groups.forEach((g, i) => {
          const e = ref[i]!;
          if (e === null) assert.equal(g.ndcg, null, `group ${g.group} has no positive label`);
          else near(g.ndcg!, e, 1e-12, `group ${g.group} k=${k}`);
        });
        const used = ref.filter((v): v is number => v !== null);
        near(d.ndcg, used.reduce((a, b) => a + b, 0) / used.length, 1e-12, `mean k=${k}`);
      }
    });
  }
});
