import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bceWithLogits } from '../../src/autograd/ops/loss.js';
import { add, mul } from '../../src/autograd/ops/elementwise.js';
import { segmentLinear } from '../../src/autograd/ops/linear.js';
import { targetAttentionUnit } from '../../src/autograd/ops/attention.js';
import { sum } from '../../src/autograd/ops/reduce.js';
import { segmentBroadcast, segmentWeightedSum } from '../../src/autograd/ops/segment.js';
import { backward } from '../../src/autograd/tape.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { endStep } from '../../src/autograd/tape.js';
import type { Batch } from '../../src/data/batch.js';
import { RowGatherer } from '../../src/data/batching.js';
import type { Dataset } from '../../src/data/dataset.js';
import { loadModel, saveModel } from '../../src/io/modelFile.js';
import { recentEvents } from '../../src/models/din.js';
import { createModel, parseModelConfig, type ModelConfigInput } from '../../src/models/registry.js';
import { Adam } from '../../src/optim/adam.js';
import { buildDataset, type FittedSchema } from '../../src/schema/index.js';
import { ConfigError } from '../../src/schema/errors.js';
import { Rng } from '../../src/util/random.js';
import { predictRows } from '../../src/train/predict.js';
import { auc } from '../../src/metrics/auc.js';
import { trainStep } from '../../src/train/step.js';
import { testBackends, withBackend } from '../helpers/backends.js';
import { bits, trainSteps } from '../helpers/trainSteps.js';
import { dataConfig, tempFiles } from '../schema/helpers.js';

/** Users, target items and histories of up to 7 earlier items (same id space); a click when the target is in the history. */
function csv(rows: number, seed: number): string {
  const r = new Rng(seed);
  const lines = ['y,user,item,hist,age,genre,genres'];
  for (let i = 0; i < rows; i++) {
    const hist = Array.from({ length: r.int(8) }, () => `m${r.int(20)}`);
    const item = `m${r.int(20)}`;
    const y = hist.includes(item) !== (r.uniform() < 0.1) ? 1 : 0;
    lines.push(`${y},u${r.int(30)},${item},${hist.join('|')},${r.int(60)},g${r.int(5)},${hist.map(() => `g${r.int(5)}`).join('|')}`);
  }
  return lines.join('\n');
}

async function data(): Promise<{ ds: Dataset; fitted: FittedSchema }> {
  const dir = tempFiles({ 'd.csv': csv(300, 5) });
  const { dataset: ds, fitted } = await buildDataset(dataConfig({
    source: { format: 'csv', path: 'd.csv' },
    labels: [{ name: 'click', column: 'y' }],
    fields: [
      { name: 'user', kind: 'categorical', group: 'user' },
      { name: 'item', kind: 'categorical', group: 'item', required: true },
      { name: 'hist', kind: 'sequence', vocab: 'item', group: 'user' },
      { name: 'age', kind: 'numeric', transform: 'standardize' },
      { name: 'genre', kind: 'categorical', group: 'item' },
      { name: 'genres', kind: 'sequence', vocab: 'genre', group: 'user' },
    ],
  }), dir);
  return { ds, fitted };
}

const DIN: ModelConfigInput = { type: 'din', dim: 4, attention: [{ sequence: 'hist', target: 'item' }], attentionHidden: [8], hidden: [16, 8], initStd: 0.05 };

function model(input: ModelConfigInput, fitted: FittedSchema, ds: Dataset, seed = 3) {
  const dims = { numIds: ds.numIds, numFields: ds.numFields, denseDim: 1, numSequences: 2, features: fitted.features() };
  return { model: createModel(parseModelConfig(input), dims, seed), dims };
}

const train = trainSteps;

describe('DIN', () => {
  it('recentEvents keeps each row\'s last maxLen events', () => {
    const seq = { ids: Int32Array.of(1, 2, 3, 4, 5, 6), offsets: Int32Array.of(0, 4, 4, 5, 6) };
    const r = recentEvents(seq, 4, 2);
    assert.deepEqual([...r.offsets], [0, 2, 2, 3, 4]);
    assert.deepEqual([...r.ids], [3, 4, 5, 6]);
    assert.equal(recentEvents(seq, 4, 4), seq);
  });

  it('maxLen attends the same as pre-truncated histories', async () => {
    const { ds, fitted } = await data();
    const a = model({ ...DIN, maxLen: 2 }, fitted, ds).model;
    const b = model(DIN, fitted, ds).model;
    const batch = new RowGatherer(ds).gather(Int32Array.from({ length: 50 }, (_, i) => i), 0, 50);
    const cut: Batch = { ...batch, sequences: [recentEvents(batch.sequences![0]!, 50, 2), batch.sequences![1]!] };
    a.eval();
    b.eval();
    assert.deepEqual(bits(a.forward(batch).data.slice()), bits(b.forward(cut).data.slice()));
    endStep();
  });

  for (const k of testBackends()) {
    it(`trains, and save → load → predict is bit-identical (${k.name})`, async () => withBackend(k, async () => {
      const { ds, fitted } = await data();
      const { model: m, dims } = model(DIN, fitted, ds);
      const losses = train(m, ds, 40);
      assert.ok(losses.at(-1)! < losses[0]!, `loss ${losses[0]} → ${losses.at(-1)}`);
      const before = predictRows(m, ds, { start: 0, end: ds.numRows }, 64);
      const dir = mkdtempSync(join(tmpdir(), 'ctrkit-din-'));
      try {
        saveModel(join(dir, 'm'), {
          model: m, modelConfig: parseModelConfig(DIN), schema: fitted.toJSON(), dims, metrics: {},
          provenance: { dataHash: 'sha256:' + '0'.repeat(64), seed: 3 },
        });
        const { model: loaded, manifest } = loadModel(join(dir, 'm'));
        assert.deepEqual(manifest.dims.features, fitted.features());
        assert.deepEqual(bits(predictRows(loaded, ds, { start: 0, end: ds.numRows }, 64)), bits(before));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }));
  }

  it('a batch whose histories are all empty scores (the pooled vector is 0)', async () => {
    const { ds, fitted } = await data();
    const m = model(DIN, fitted, ds).model;
    const batch = new RowGatherer(ds).gather(Int32Array.of(0, 1, 2), 0, 3);
    const none = { ids: new Int32Array(0), offsets: new Int32Array(4) };
    const empty: Batch = { ...batch, sequences: [none, none] };
    const z = m.forward(empty);
    assert.equal(z.shape[0], 3);
    assert.ok([...z.data].every(Number.isFinite));
    endStep();
  });

  it('native and reference agree, and 1 or 2 threads train bit-identically', async (t) => {
    const backends = testBackends();
    if (backends.length < 2) return t.skip('native addon not built');
    const { ds, fitted } = await data();
    const run = (k: (typeof backends)[number], threads: number): Float32Array => withBackend(k, () => {
      const before = k.getThreads();
      k.setThreads(threads);
      try {
        const m = model(DIN, fitted, ds).model;
        train(m, ds, 12);
        return predictRows(m, ds, { start: 0, end: ds.numRows }, 64);
      } finally {
        k.setThreads(before);
      }
    });
    const ref = run(backends[0]!, 1);
    const n1 = run(backends[1]!, 1);
    const n2 = run(backends[1]!, 2);
    assert.deepEqual(bits(n1), bits(n2));
    for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(ref[i]! - n1[i]!) < 1e-3, `row ${i}: ${ref[i]} vs ${n1[i]}`);
  });

  it('the new segment ops agree between native and reference (values and gradients, 50-event histories)', (t) => {
    const backends = testBackends();
    if (backends.length < 2) return t.skip('native addon not built');
    const S = 300;
    const rng = new Rng(9);
    const offsets = new Int32Array(S + 1);
    for (let s = 0; s < S; s++) offsets[s + 1] = offsets[s]! + (s % 7 === 0 ? 0 : rng.int(51));
    const P = offsets[S]!;
    const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.uniform() * 2 - 1);
    const inputs = { x: rand(P * 16), w: rand(P), W: rand(16 * 36), r: rand(S * 36), tg: rand(S * 16), probe: rand(P * 36) };
    const run = (k: (typeof backends)[number]): Float32Array[] => withBackend(k, () => {
      const x = new Tensor(inputs.x.slice(), [P, 16], true);
      const w = new Tensor(inputs.w.slice(), [P, 1], true);
      const W = new Tensor(inputs.W.slice(), [16, 36], true);
      const r = new Tensor(inputs.r.slice(), [S, 36], true);
      const tg = new Tensor(inputs.tg.slice(), [S, 16], true);
      const pooled = segmentWeightedSum(x, w, offsets);
      const z = segmentLinear([[mul(x, segmentBroadcast(tg, offsets)), W]], r, offsets);
      backward(add(sum(mul(z, new Tensor(inputs.probe, [P, 36]))), sum(pooled)));
      const out = [pooled.data.slice(), z.data.slice(), x.grad!.slice(), w.grad!.slice(), W.grad!.slice(), r.grad!.slice(), tg.grad!.slice()];
      endStep();
      return out;
    });
    const [ref, nat] = [run(backends[0]!), run(backends[1]!)];
    ref.forEach((a, i) => {
      for (let j = 0; j < a.length; j++) {
        const b = nat[i]![j]!;
        assert.ok(Math.abs(a[j]! - b) <= 1e-4 * (1 + Math.abs(a[j]!)), `output ${i}[${j}]: reference ${a[j]} vs native ${b}`);
      }
    });
  });

  it('the fused attention kernel agrees between native and reference (values and every gradient, 50-event histories)', (t) => {
    const backends = testBackends();
    if (backends.length < 2) return t.skip('native addon not built');
    const [S, d, h] = [300, 16, 36];
    const rng = new Rng(11);
    const offsets = new Int32Array(S + 1);
    for (let s = 0; s < S; s++) offsets[s + 1] = offsets[s]! + (s % 7 === 0 ? 0 : rng.int(51));
    const P = offsets[S]!;
    const rand = (n: number, a = 1): Float32Array => Float32Array.from({ length: n }, () => (rng.uniform() * 2 - 1) * a);
    const inputs = [rand(P * d, 0.5), rand(S * d, 0.5), rand(4 * d * h, 0.3), rand(h), rand(h), rand(1)];
    const shapes = [[P, d], [S, d], [4 * d, h], [h], [h, 1], [1]];
    const probe = new Tensor(rand(S * d), [S, d]);
    for (const act of ['relu', 'tanh'] as const) {
      const run = (k: (typeof backends)[number]): Float32Array[] => withBackend(k, () => {
        const ts = inputs.map((v, i) => new Tensor(v.slice(), shapes[i]!, true));
        const pooled = targetAttentionUnit(ts[0]!, ts[1]!, offsets, ts[2]!, ts[3]!, ts[4]!, ts[5]!, act);
        backward(sum(mul(pooled, probe)));
        const out = [pooled.data.slice(), ...ts.map((x) => x.grad!.slice())];
        endStep();
        return out;
      });
      const [ref, nat] = [run(backends[0]!), run(backends[1]!)];
      ref.forEach((a, i) => {
        const scale = a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        for (let j = 0; j < a.length; j++) {
          assert.ok(Math.abs(a[j]! - nat[i]![j]!) <= 1e-4 * scale + 1e-6, `${act}: output ${i}[${j}]: reference ${a[j]} vs native ${nat[i]![j]} (scale ${scale})`);
        }
      });
    }
  });

  it('several sequences, each attending to its own target; an unattended sequence is mean-pooled', async () => {
    const { ds, fitted } = await data();
    const two = model({ ...DIN, attention: [{ sequence: 'hist', target: 'item' }, { sequence: 'genres', target: 'genre' }] }, fitted, ds).model;
    const one = model(DIN, fitted, ds).model;
    assert.deepEqual(two.namedParameters().map(([n]) => n).filter((n) => n.startsWith('attention.')).map((n) => n.split('.')[1]), ['0', '0', '0', '0', '1', '1', '1', '1']);
    // Same MLP input width either way: 3 id fields + 2 pooled sequences, dim 4, 1 dense.
    const width = (m: typeof one): number => m.namedParameters().find(([n]) => n === 'mlp.layers.0.W')![1].shape[0]!;
    assert.equal(width(two), (3 + 2) * 4 + 1);
    assert.equal(width(one), width(two));
    const losses = train(two, ds, 30);
    assert.ok(losses.at(-1)! < losses[0]!);
  });

  it('learns whether the target is in the history, which a mean-pooling DNN cannot', async () => {
    // label = target ∈ history (1–10 of 50 items): a function of the target's relation to each event.
    const r = new Rng(5);
    const lines = ['y,item,hist'];
    for (let i = 0; i < 6000; i++) {
      const hist = Array.from({ length: 1 + r.int(10) }, () => `m${r.int(50)}`);
      const item = `m${r.int(50)}`;
      lines.push(`${hist.includes(item) ? 1 : 0},${item},${hist.join('|')}`);
    }
    const { dataset: ds, fitted } = await buildDataset(dataConfig({
      source: { format: 'csv', path: 'd.csv' }, split: { mode: 'file-order', train: [8, 10], fit: [1, 1] }, labels: [{ name: 'y' }],
      fields: [{ name: 'item', kind: 'categorical' }, { name: 'hist', kind: 'sequence', vocab: 'item' }],
    }), tempFiles({ 'd.csv': lines.join('\n') }));
    const nFit = 4800;
    const testAuc = (input: ModelConfigInput): number => {
      const m = createModel(parseModelConfig(input), { numIds: ds.numIds, numFields: 1, numSequences: 1, features: fitted.features() }, 1);
      const opt = new Adam([{ params: m.parameters(), tables: m.tables() }], { lr: 0.01 });
      const g = new RowGatherer(ds);
      const order = Int32Array.from({ length: nFit }, (_, i) => i);
      for (let e = 0; e < 20; e++) {
        for (let s = 0; s + 64 <= nFit; s += 64) {
          const b = g.gather(order, s, s + 64);
          trainStep(opt, () => bceWithLogits(m.forward(b), b.labels));
        }
      }
      return auc(predictRows(m, ds, { start: nFit, end: ds.numRows }), ds.labels[0]!.subarray(nFit));
    };
    const din = testAuc({ type: 'din', dim: 8, hidden: [32], attention: [{ sequence: 'hist', target: 'item' }], attentionHidden: [16] });
    const dnn = testAuc({ type: 'dnn', dim: 8, hidden: [32] });
    assert.ok(din > 0.95, `DIN test AUC ${din}`);
    assert.ok(din > dnn + 0.1, `DIN ${din} vs DNN ${dnn}`);
  });

  it('names the config key of a sequence or target the data lacks', async () => {
    const { ds, fitted } = await data();
    assert.throws(() => model({ ...DIN, attention: [{ sequence: 'clicks', target: 'item' }] }, fitted, ds),
      (e: unknown) => e instanceof ConfigError && /^model\.attention\[0\]\.sequence: no feature "clicks" \(sequence features: hist, genres\)/.test(e.message));
    assert.throws(() => model({ ...DIN, attention: [{ sequence: 'hist', target: 'age' }] }, fitted, ds),
      /model\.attention\[0\]\.target: feature "age" is dense, not id \(id features: user, item, genre\)/);
    assert.throws(() => parseModelConfig({ ...DIN, attention: [] }), /model\.attention/);
    assert.throws(() => parseModelConfig({ ...DIN, crossLayers: 2 }), /model\.crossLayers: not a setting of model type 'din'/);
  });
});
