/**
 * Progressive validation against the batch metrics on the same rows: real Avazu rows in file order,
 * scored by an online per-site CTR estimate (updated only after each batch is scored, as a stream
 * trainer would), fed 256 rows at a time.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  auc, calibrationBiasBySlice, ece, logLoss, ProgressiveValidation, OTHER_SLICE, type ProgressiveReport,
} from '../../src/metrics/index.js';
import { sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';

const AVAZU = 'avazu_head9k/avazu_train_head8999.csv.gz';
const skip = skipWithoutSharedData(AVAZU);
const near = (a: number | null, e: number, tol: number, what: string): void => {
  assert.ok(a !== null && Math.abs(a - e) <= tol, `${what}: got ${a}, expected ${e} (tolerance ${tol})`);
};

interface Stream { p: Float64Array; y: Float64Array; w: Float64Array; slice: string[]; batches: number[] }

/** Rows of Avazu with a progressive per-site CTR prediction, a weight derived from the hour, banner_pos as the slice. */
function avazuStream(): Stream {
  const lines = gunzipSync(readFileSync(join(sharedDataDir(), AVAZU))).toString('utf8').trim().split('\n').slice(1);
  const n = lines.length;
  const p = new Float64Array(n), y = new Float64Array(n), w = new Float64Array(n);
  const slice: string[] = [];
  const clicks = new Map<string, number>(), imps = new Map<string, number>();
  const B = 256;
  const batches: number[] = [];
  for (let start = 0; start < n; start += B) {
    const end = Math.min(n, start + B);
    batches.push(end - start);
    const cols = lines.slice(start, end).map((l) => l.split(','));
    cols.forEach((c, k) => {
      const site = c[5]!;
      p[start + k] = ((clicks.get(site) ?? 0) + 10 * 0.17) / ((imps.get(site) ?? 0) + 10);
      y[start + k] = Number(c[1]);
      w[start + k] = 1 + (Number(c[2]) % 3) / 2;
      slice.push(c[4]!);
    });
    cols.forEach((c) => {
      const site = c[5]!;
      clicks.set(site, (clicks.get(site) ?? 0) + Number(c[1]));
      imps.set(site, (imps.get(site) ?? 0) + 1);
    });
  }
  return { p, y, w, slice, batches };
}

describe('progressive validation on Avazu', { skip }, () => {
  const s = skip === undefined ? avazuStream() : undefined;

  function feed(v: ProgressiveValidation, from: number, to: number, weighted: boolean, onBatch?: (end: number) => void): void {
    let at = 0;
    for (const size of s!.batches) {
      const a = at, b = at + size;
      at = b;
      if (a < from || a >= to) continue;
      v.predict(s!.p.subarray(a, b));
      v.label(s!.y.subarray(a, b), weighted ? s!.w.subarray(a, b) : undefined, s!.slice.slice(a, b));
      onBatch?.(b);
    }
  }

  it('cumulative LogLoss, mean p / y, ECE and slice bias equal the batch metrics; AUC within its reported bound', () => {
    for (const weighted of [false, true]) {
      const v = new ProgressiveValidation({ window: 2000 });
      feed(v, 0, Infinity, weighted);
      const r = v.report();
      const { p, y } = s!;
      const w = weighted ? s!.w : undefined;
      const n = p.length;
      assert.equal(r.rows, n);
      near(r.logloss, logLoss(p, y, w), 1e-12, 'logloss');
      near(r.ece, ece(p, y, { weights: w }), 1e-12, 'ece');
      const W = w ? w.reduce((a, b) => a + b, 0) : n;
      near(r.meanP, p.reduce((a, x, i) => a + x * (w ? w[i]! : 1), 0) / W, 1e-12, 'mean p');
      near(r.meanY, y.reduce((a, x, i) => a + x * (w ? w[i]! : 1), 0) / W, 1e-12, 'mean y');
      const exact = auc(p, y, w);
      // The bound is worst-case (every pair within a bin of distinct scores misordered); the error itself is far smaller.
      assert.ok(r.aucMaxError !== null && r.aucMaxError < 0.01, `aucMaxError ${r.aucMaxError}`);
      near(r.auc, exact, r.aucMaxError!, 'cumulative auc within the bound');
      near(r.auc, exact, 1e-4, 'cumulative auc');
      const bias = calibrationBiasBySlice(p, y, s!.slice, w);
      assert.equal(r.slices.length, bias.length);
      r.slices.forEach((sl, k) => {
        assert.equal(sl.slice, bias[k]!.slice);
        assert.equal(sl.rows, bias[k]!.rows);
        near(sl.meanBias, bias[k]!.meanBias!, 1e-12, `slice ${sl.slice} mean bias`);
        if (bias[k]!.ratioBias === null) assert.equal(sl.ratioBias, null); else near(sl.ratioBias, bias[k]!.ratioBias, 1e-12, `slice ${sl.slice} ratio bias`);
      });
      // The window is the last 2000 rows, exactly.
      const tail = (a: Float64Array): Float64Array => a.subarray(n - 2000);
      assert.equal(r.window.rows, 2000);
      near(r.window.auc, auc(tail(p), tail(y), w && tail(w)), 1e-12, 'window auc');
      near(r.window.logloss, logLoss(tail(p), tail(y), w && tail(w)), 1e-12, 'window logloss');
      near(r.window.ece, ece(tail(p), tail(y), { weights: w && tail(w) }), 1e-12, 'window ece');
    }
  });

  it('since-last is the LogLoss of the rows between two reports', () => {
    const v = new ProgressiveValidation();
    const ends: number[] = [];
    let next = 1000;
    const reports: ProgressiveReport[] = [];
    feed(v, 0, Infinity, false, (end) => {
      if (end >= next) { reports.push(v.report()); ends.push(end); next *= 2; }
    });
    assert.ok(reports.length >= 3);
    for (let k = 1; k < reports.length; k++) {
      const a = ends[k - 1]!, b = ends[k]!;
      assert.equal(reports[k]!.sinceLast.rows, b - a);
      near(reports[k]!.sinceLast.logloss, logLoss(s!.p.subarray(a, b), s!.y.subarray(a, b)), 1e-12, `since last ${a}..${b}`);
    }
  });

  it('a state saved mid-stream and restored reports exactly what the uninterrupted accumulator reports', () => {
    const first = new ProgressiveValidation({ window: 3000, maxSlices: 3 });
    const half = s!.batches.slice(0, 17).reduce((a, b) => a + b, 0);
    feed(first, 0, half, true);
    first.report(); // a report in between restarts since-last on both sides of the save
    const restored = ProgressiveValidation.fromJSON(JSON.parse(JSON.stringify(first.toJSON())));
    feed(restored, half, Infinity, true);
    const again = new ProgressiveValidation({ window: 3000, maxSlices: 3 });
    feed(again, 0, half, true);
    again.report();
    feed(again, half, Infinity, true);
    assert.deepEqual(restored.report(), again.report());
  });

  it('slice values beyond maxSlices are pooled, so memory stays bounded', () => {
    const v = new ProgressiveValidation({ maxSlices: 2 });
    feed(v, 0, Infinity, false);
    const r = v.report();
    const distinct = [...new Set(s!.slice)];
    assert.ok(distinct.length > 2, 'the slice field has more than 2 values');
    assert.deepEqual(r.slices.map((x) => x.slice), [...distinct.slice(0, 2), OTHER_SLICE]);
    assert.equal(r.slices.reduce((a, x) => a + x.rows, 0), s!.p.length);
  });
});

describe('progressive validation protocol', () => {
  it('labels must follow predictions, one batch at a time, and match in length', () => {
    const v = new ProgressiveValidation();
    assert.throws(() => v.label([1]), /no predictions to label/);
    v.predict([0.2, 0.4]);
    assert.throws(() => v.predict([0.1]), /labels of the previous 2 predictions/);
    assert.throws(() => v.label([1]), /labels has length 1, expected 2/);
    v.label([0, 1]);
    assert.equal(v.count, 2);
    assert.throws(() => v.predict([1.5]), /expected a probability/);
  });

  it('snapshot() leaves the since-last period running; report() starts a new one', () => {
    const v = new ProgressiveValidation();
    v.predict([0.2, 0.7]);
    v.label([0, 1]);
    const s = v.snapshot();
    assert.deepEqual(v.report(), s);
    assert.equal(s.sinceLast.rows, 2);
    assert.deepEqual(v.snapshot().sinceLast, { rows: 0, logloss: null });
  });

  it('one class only: AUC is null, the rest is defined', () => {
    const v = new ProgressiveValidation();
    v.predict([0.1, 0.3]);
    v.label([0, 0]);
    const r = v.report();
    assert.equal(r.auc, null);
    assert.equal(r.window.auc, null);
    near(r.logloss, logLoss([0.1, 0.3], [0, 0]), 1e-15, 'logloss');
  });
});
