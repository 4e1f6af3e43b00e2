import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { endStep } from '../../src/autograd/tape.js';
import type { Batch } from '../../src/data/batch.js';
import type { Dataset } from '../../src/data/dataset.js';
import type { FeatureInfo } from '../../src/data/features.js';
import { parseModelConfig, type ModelConfigInput, type ModelDims } from '../../src/models/registry.js';
import { QU } from '../../src/models/qu.js';
import type { FittedSchema } from '../../src/schema/index.js';
import { Rng } from '../../src/util/random.js';
import { testBackends, withBackend } from '../helpers/backends.js';
import { trainSteps } from '../helpers/trainSteps.js';
import { assertMatchesReference64, assertMissingGroupErrors, assertSaveLoadBitIdentical, copyColumns, groupData, groupInputs64, groupModel, mlp64, rowsBatch } from '../helpers/groupModels.js';

/** Queries and ads with a topic; a UI treatment (position, size); a click when the ad's topic is the query's and the slot is good. */
function csv(rows: number, seed: number): string {
  const r = new Rng(seed);
  const lines = ['y,query,ad,terms,bid,pos,size,width'];
  for (let i = 0; i < rows; i++) {
    const query = r.int(30);
    const ad = r.int(20);
    const pos = r.int(4);
    const terms = Array.from({ length: r.int(4) }, () => `t${r.int(10)}`);
    const y = (query % 3 === ad % 3 && pos < 2) !== (r.uniform() < 0.1) ? 1 : 0;
    lines.push(`${y},q${query},a${ad},${terms.join('|')},${(r.uniform() * 5).toFixed(2)},p${pos},s${r.int(3)},${(r.uniform() * 3).toFixed(2)}`);
  }
  return lines.join('\n');
}

const FIELDS = [
  { name: 'query', kind: 'categorical', group: 'query' },
  { name: 'ad', kind: 'categorical', group: 'ad' },
  { name: 'terms', kind: 'sequence', group: 'query' },
  { name: 'bid', kind: 'numeric', transform: 'standardize', group: 'ad' },
  { name: 'pos', kind: 'categorical', group: 'ui' },
  { name: 'size', kind: 'categorical', group: 'ui' },
  { name: 'width', kind: 'numeric', transform: 'standardize', group: 'ui' },
] as const;

const QUC: ModelConfigInput = { type: 'qu', dim: 4, q: ['query', 'ad'], u: ['ui'], qHidden: [6], uHidden: [5], outDim: 3, activation: 'tanh', initStd: 0.3 };

const data = async (rows = 300): Promise<{ ds: Dataset; fitted: FittedSchema }> => groupData(csv(rows, 5), FIELDS);
const model = (input: ModelConfigInput, fitted: FittedSchema, ds: Dataset, seed = 3): { model: QU; dims: ModelDims } => groupModel<QU>(input, fitted, ds, seed);

const rows = rowsBatch;

/** z = Q·U written out in float64 from the config's definition (tanh hidden layers, linear outputs). */
function reference64(features: readonly FeatureInfo[], batch: Batch, dim: number, p: Map<string, Float64Array>, shapes: Map<string, readonly number[]>): Float64Array {
  const [q, u] = [groupInputs64(features, batch, dim, p.get('emb.weight')!, ['query', 'ad']), groupInputs64(features, batch, dim, p.get('emb.weight')!, ['ui'])];
  return Float64Array.from({ length: batch.size }, (_, r) => {
    const [qr, ur] = [mlp64(p, shapes, 'q', q[r]!, 2), mlp64(p, shapes, 'u', u[r]!, 2)];
    return qr.reduce((s, x, d) => s + x * ur[d]!, 0);
  });
}

describe('Q·U factorisation', () => {
  for (const k of testBackends()) {
    // Data first: withBackend restores the backend when its callback returns, i.e. at an async callback's first await.
    it(`autograd gradients match float64 central differences (${k.name})`, async () => {
      const { ds, fitted } = await data();
      withBackend(k, () => {
        const { model: m } = model(QUC, fitted, ds);
        const batch = rows(ds, 0, 12);
        const names = assertMatchesReference64(m, batch, (p, shapes) => reference64(fitted.features(), batch, 4, p, shapes), ['emb.', 'q.', 'u.'], 'qu');
        assert.deepEqual(names.filter((n) => !/^(q|u)\.layers\.[01]\.[Wb]$/.test(n)), ['emb.weight'], 'no parameter besides the embeddings, Q and U');
      });
    });

    it(`factorised scores of K treatments × N candidates equal pairwise scoring; save → load → predict is bit-identical (${k.name})`, async () => {
      const { ds, fitted } = await data();
      withBackend(k, () => {
        const { model: m, dims } = model(QUC, fitted, ds);
        const losses = trainSteps(m, ds, 60);
        assert.ok(losses.at(-1)! < losses[0]! - 0.05, `loss ${losses[0]} → ${losses.at(-1)}`);
        m.eval();
        const N = 40;
        const K = 7;
        const candidates = rows(ds, 0, N);
        const treatments = rows(ds, 100, 100 + K);
        const all = m.scoreTreatments(candidates, treatments);
        assert.deepEqual(all.shape, [N, K]);
        const scores = all.data.slice();
        // Pairwise: for each treatment, every candidate row with its ui-group features replaced by the treatment's.
        const ui = fitted.features().filter((f) => f.group === 'ui');
        assert.ok(ui.some((f) => f.kind === 'id') && ui.some((f) => f.kind === 'dense'));
        for (let t = 0; t < K; t++) {
          const pair: Batch = { ...candidates, ids: candidates.ids.slice(), dense: candidates.dense!.slice() };
          for (let n = 0; n < N; n++) copyColumns(pair, n, treatments, t, ui);
          const z = m.forward(pair).data;
          for (let n = 0; n < N; n++) {
            assert.ok(Math.abs(scores[n * K + t]! - z[n]!) <= 1e-6 * (1 + Math.abs(z[n]!)), `candidate ${n} × treatment ${t}: ${scores[n * K + t]} vs ${z[n]}`);
          }
        }
        // The treatments matter: scores differ across a candidate's row.
        assert.ok(scores.some((s, i) => i % K > 0 && Math.abs(s - scores[i - (i % K)]!) > 1e-3));
        endStep();

        assert.ok(assertSaveLoadBitIdentical(m, QUC, fitted, dims, ds) instanceof QU);
      });
    });
  }

  it('names the config key of a group the data lacks', async () => {
    const { ds, fitted } = await data();
    assertMissingGroupErrors((c) => model(c, fitted, ds), QUC, FIELDS, ['q', 'u'], ['query', 'ad', 'ui']);
    assert.throws(() => parseModelConfig({ ...QUC, q: [] }), /model\.q/);
    assert.throws(() => parseModelConfig({ ...QUC, u: undefined }), /model\.u/);
    assert.throws(() => parseModelConfig({ ...QUC, towerHidden: [8] }), /model\.towerHidden: not a setting of model type 'qu'/);
  });
});
