import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mul } from '../../src/autograd/ops/elementwise.js';
import { reducePending } from '../../src/autograd/ops/embedding.js';
import { sum } from '../../src/autograd/ops/reduce.js';
import { backward, endStep } from '../../src/autograd/tape.js';
import { Tensor } from '../../src/tensor/tensor.js';
import type { Batch } from '../../src/data/batch.js';
import { RowGatherer } from '../../src/data/batching.js';
import type { Dataset } from '../../src/data/dataset.js';
import type { FeatureInfo } from '../../src/data/features.js';
import { parseExperimentConfig } from '../../src/experiment/config.js';
import { loadModel, saveModel } from '../../src/io/modelFile.js';
import { createModel, parseModelConfig, type ModelConfigInput } from '../../src/models/registry.js';
import { QU } from '../../src/models/qu.js';
import { buildDataset, type FittedSchema } from '../../src/schema/index.js';
import { ConfigError } from '../../src/schema/errors.js';
import { Rng } from '../../src/util/random.js';
import { predictRows } from '../../src/train/predict.js';
import { testBackends, withBackend } from '../helpers/backends.js';
import { bits, trainSteps } from '../helpers/trainSteps.js';
import { assertGradcheck } from '../helpers/gradcheck.js';
import { dataConfig, tempFiles } from '../schema/helpers.js';

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

async function data(rows = 300): Promise<{ ds: Dataset; fitted: FittedSchema }> {
  const { dataset: ds, fitted } = await buildDataset(dataConfig({
    source: { format: 'csv', path: 'd.csv' }, labels: [{ name: 'click', column: 'y' }], fields: FIELDS.map((f) => ({ ...f })),
  }), tempFiles({ 'd.csv': csv(rows, 5) }));
  return { ds, fitted };
}

const QUC: ModelConfigInput = { type: 'qu', dim: 4, q: ['query', 'ad'], u: ['ui'], qHidden: [6], uHidden: [5], outDim: 3, activation: 'tanh', initStd: 0.3 };

function model(input: ModelConfigInput, fitted: FittedSchema, ds: Dataset, seed = 3): { model: QU; dims: Parameters<typeof createModel>[1] } {
  const dims = { numIds: ds.numIds, numFields: ds.numFields, denseDim: 2, numSequences: 1, features: fitted.features() };
  return { model: createModel(parseModelConfig(input), dims, seed) as QU, dims };
}

const rows = (ds: Dataset, from: number, to: number): Batch => new RowGatherer(ds).gather(Int32Array.from({ length: ds.numRows }, (_, i) => i), from, to);

/** z = Q·U written out in float64 from the config's definition (inputs as in the two-tower reference: ids ‖ mean-pooled sequences ‖ dense). */
function reference64(features: readonly FeatureInfo[], batch: Batch, dim: number, p: Map<string, Float64Array>, shapes: Map<string, readonly number[]>): Float64Array {
  const emb = p.get('emb.weight')!;
  const inputs = (groups: readonly string[]): Float64Array[] => {
    const of = (k: string): FeatureInfo[] => features.filter((f) => f.group !== undefined && groups.includes(f.group) && f.kind === k);
    return Array.from({ length: batch.size }, (_, r) => {
      const x: number[] = [];
      for (const f of of('id')) for (let d = 0; d < dim; d++) x.push(emb[batch.ids[r * batch.numFields + f.index]! * dim + d]!);
      for (const f of of('sequence')) {
        const { ids, offsets } = batch.sequences![f.index]!;
        const n = offsets[r + 1]! - offsets[r]!;
        for (let d = 0; d < dim; d++) {
          let s = 0;
          for (let j = offsets[r]!; j < offsets[r + 1]!; j++) s += emb[ids[j]! * dim + d]!;
          x.push(n === 0 ? 0 : s / n);
        }
      }
      for (const f of of('dense')) x.push(batch.dense![r * batch.denseDim! + f.index]!);
      return Float64Array.from(x);
    });
  };
  const mlp = (prefix: string, x: Float64Array): Float64Array => {
    for (let l = 0; l < 2; l++) {
      const W = p.get(`${prefix}.layers.${l}.W`)!;
      const b = p.get(`${prefix}.layers.${l}.b`)!;
      const [inD, outD] = shapes.get(`${prefix}.layers.${l}.W`)! as [number, number];
      const y = new Float64Array(outD);
      for (let o = 0; o < outD; o++) {
        let s = b[o]!;
        for (let i = 0; i < inD; i++) s += x[i]! * W[i * outD + o]!;
        y[o] = l === 0 ? Math.tanh(s) : s;
      }
      x = y;
    }
    return x;
  };
  const [q, u] = [inputs(['query', 'ad']), inputs(['ui'])];
  return Float64Array.from({ length: batch.size }, (_, r) => {
    const [qr, ur] = [mlp('q', q[r]!), mlp('u', u[r]!)];
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
        const rng = new Rng(2);
        const probe = Float32Array.from({ length: 12 }, () => rng.uniform() * 2 - 1);
        const z = m.forward(batch);
        backward(sum(mul(z, new Tensor(probe, [12]))));
        const named = m.namedParameters();
        const table = m.emb.weight;
        const g = table.sparseGrad(reducePending(table));
        const tableGrad = new Float64Array(table.data.length);
        for (let i = 0; i < g.count; i++) for (let d = 0; d < table.dim; d++) tableGrad[g.rows[i]! * table.dim + d] = g.values[i * table.dim + d]!;
        const analytic = [tableGrad, ...named.map(([, q]) => Float64Array.from(q.grad))];
        const z32 = Float64Array.from(z.data);
        endStep();

        const names = ['emb.weight', ...named.map(([n]) => n)];
        assert.deepEqual(names.filter((n) => !/^(q|u)\.layers\.[01]\.[Wb]$/.test(n)), ['emb.weight'], 'no parameter besides the embeddings, Q and U');
        const shapes = new Map<string, readonly number[]>(named.map(([n, q]) => [n, q.shape]));
        const inputs = [Float64Array.from(table.data), ...named.map(([, q]) => Float64Array.from(q.data))];
        const f = (xs: Float64Array[]): Float64Array => reference64(fitted.features(), batch, 4, new Map(names.map((n, i) => [n, xs[i]!])), shapes);
        const z64 = f(inputs);
        for (let i = 0; i < 12; i++) assert.ok(Math.abs(z64[i]! - z32[i]!) < 1e-5, `row ${i}: model ${z32[i]} vs float64 ${z64[i]}`);
        assertGradcheck((xs) => f(xs).reduce((s, v, i) => s + v * probe[i]!, 0), inputs, analytic, { eps: 1e-5, atol: 2e-4, rtol: 2e-3 }, 'qu');
        for (const prefix of ['emb.', 'q.', 'u.']) {
          assert.ok(names.some((n, i) => n.startsWith(prefix) && analytic[i]!.some((v) => Math.abs(v) > 1e-4)), prefix);
        }
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
          for (let n = 0; n < N; n++) {
            for (const f of ui) {
              if (f.kind === 'id') pair.ids[n * pair.numFields + f.index] = treatments.ids[t * treatments.numFields + f.index]!;
              if (f.kind === 'dense') pair.dense![n * pair.denseDim! + f.index] = treatments.dense![t * treatments.denseDim! + f.index]!;
            }
          }
          const z = m.forward(pair).data;
          for (let n = 0; n < N; n++) {
            assert.ok(Math.abs(scores[n * K + t]! - z[n]!) <= 1e-6 * (1 + Math.abs(z[n]!)), `candidate ${n} × treatment ${t}: ${scores[n * K + t]} vs ${z[n]}`);
          }
        }
        // The treatments matter: scores differ across a candidate's row.
        assert.ok(scores.some((s, i) => i % K > 0 && Math.abs(s - scores[i - (i % K)]!) > 1e-3));
        endStep();

        const before = predictRows(m, ds, { start: 0, end: ds.numRows }, 64);
        const dir = mkdtempSync(join(tmpdir(), 'ctrkit-qu-'));
        try {
          saveModel(join(dir, 'm'), {
            model: m, modelConfig: parseModelConfig(QUC), schema: fitted.toJSON(), dims, metrics: {},
            provenance: { dataHash: 'sha256:' + '0'.repeat(64), seed: 3 },
          });
          const { model: loaded } = loadModel(join(dir, 'm'));
          assert.ok(loaded instanceof QU);
          assert.deepEqual(bits(predictRows(loaded, ds, { start: 0, end: ds.numRows }, 64)), bits(before));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    });
  }

  it('names the config key of a group the data lacks', async () => {
    const { ds, fitted } = await data();
    assert.throws(() => model({ ...QUC, q: ['query', 'advert'] }, fitted, ds),
      (e: unknown) => e instanceof ConfigError && /^model\.q\[1\]: no feature group "advert" \(groups: query, ad, ui\)/.test(e.message));
    assert.throws(() => model({ ...QUC, u: ['display'] }, fitted, ds), /model\.u\[0\]: no feature group "display"/);
    assert.throws(() => parseExperimentConfig({
      data: { source: { format: 'csv', path: 'd.csv' }, labels: [{ name: 'y' }], fields: FIELDS.map((f) => ({ ...f })) },
      model: { ...QUC, u: ['uis'] }, train: { epochs: 1, batchSize: 32, optimizer: { type: 'adam', lr: 0.01 } }, output: 'out',
    }, 'c.yaml'), /c\.yaml: model\.u\[0\]: no feature group "uis" in data\.fields \(groups: query, ad, ui\)/);
    assert.throws(() => parseModelConfig({ ...QUC, q: [] }), /model\.q/);
    assert.throws(() => parseModelConfig({ ...QUC, u: undefined }), /model\.u/);
    assert.throws(() => parseModelConfig({ ...QUC, towerHidden: [8] }), /model\.towerHidden: not a setting of model type 'qu'/);
  });
});
