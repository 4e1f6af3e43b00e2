/**
 * ctrkit metrics vs scikit-learn 1.2 reference values (test/fixtures/metrics_sklearn.json, made once
 * by test/fixtures/make_metrics_fixture.py). Every case is checked with Float64Array and Float32Array
 * inputs: the fixture's scores are float32-exact, so both must give the same numbers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  auc, gauc, logLoss, perGroupAuc, StreamingAuc, UndefinedMetricError, LOGLOSS_EPS,
} from '../../src/metrics/index.js';

interface FixtureCase {
  name: string;
  labels: number[];
  scores: number[];
  weights: number[] | null;
  groups: number[] | null;
  auc: number | null;
  logloss: number;
  gauc?: number | null;
  group_aucs?: (number | null)[];
}
interface Fixture { logloss_clip: number; cases: FixtureCase[] }

const fixture = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/metrics_sklearn.json', import.meta.url), 'utf8')) as Fixture;
const TOL = 1e-9;

function near(actual: number, expected: number, label: string): void {
  assert.ok(Math.abs(actual - expected) < TOL, `${label}: got ${actual}, expected ${expected} (|Δ| = ${Math.abs(actual - expected)})`);
}

describe('metrics vs scikit-learn fixture', () => {
  it('fixture uses the same LogLoss clip as ctrkit and covers the edge cases', () => {
    assert.equal(fixture.logloss_clip, LOGLOSS_EPS);
    assert.ok(fixture.cases.length >= 20);
    assert.ok(fixture.cases.some((c) => c.auc === null));
    assert.ok(fixture.cases.some((c) => c.weights !== null && c.groups !== null));
  });

  for (const c of fixture.cases) {
    const makers = [
      ['f64', (xs: number[]) => Float64Array.from(xs)],
      ['f32', (xs: number[]) => Float32Array.from(xs)],
    ] as const;
    for (const [kind, make] of makers) {
      it(`${c.name} (${kind})`, () => {
        const s = make(c.scores);
        const y = Uint8Array.from(c.labels);
        const w = c.weights === null ? undefined : make(c.weights);
        if (c.auc === null) {
          assert.throws(() => auc(s, y, w), UndefinedMetricError);
        } else {
          near(auc(s, y, w), c.auc, 'auc');
        }
        near(logLoss(s, y, w), c.logloss, 'logloss');

        // Streaming over uneven chunks must equal the one-shot value exactly (same sort, same walk).
        const acc = new StreamingAuc();
        for (let i = 0, k = 1; i < s.length; i += k, k = (k * 7) % 97 + 1) {
          acc.add(s.subarray(i, i + k), y.subarray(i, i + k), w?.subarray(i, i + k));
        }
        assert.equal(acc.count, s.length);
        if (c.auc === null) assert.throws(() => acc.compute(), UndefinedMetricError);
        else near(acc.compute(), c.auc, 'streaming auc');

        if (c.groups !== null) {
          const per = perGroupAuc(s, y, c.groups, w);
          assert.equal(per.length, c.group_aucs!.length);
          per.forEach((g, i) => {
            const e = c.group_aucs![i]!;
            if (e === null) assert.equal(g.auc, null, `group ${String(g.group)}`);
            else near(g.auc!, e, `group ${String(g.group)} auc`);
          });
          if (c.gauc === null) assert.throws(() => gauc(s, y, c.groups!, w), UndefinedMetricError);
          else near(gauc(s, y, c.groups, w), c.gauc!, 'gauc');
        }
      });
    }
  }
});
