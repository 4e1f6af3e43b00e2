import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bceWithLogits } from '../../src/autograd/ops/loss.js';
import { endStep, noGrad } from '../../src/autograd/tape.js';
import { Tensor } from '../../src/tensor/tensor.js';
import type { Batch } from '../../src/data/batch.js';
import { RowGatherer } from '../../src/data/batching.js';
import type { Dataset } from '../../src/data/dataset.js';
import type { FeatureInfo } from '../../src/data/features.js';
import { scoreFile } from '../../src/experiment/scoring.js';
import { parseModelConfig, type ModelConfigInput, type ModelDims } from '../../src/models/registry.js';
import { TwoTower } from '../../src/models/twoTower.js';
import { Adam } from '../../src/optim/adam.js';
import type { FittedSchema } from '../../src/schema/index.js';
import { Rng } from '../../src/util/random.js';
import { predictRows } from '../../src/train/predict.js';
import { trainStep } from '../../src/train/step.js';
import { testBackends, withBackend } from '../helpers/backends.js';
import { bits, trainSteps } from '../helpers/trainSteps.js';
import { assertMatchesReference64, assertMissingGroupErrors, assertSaveLoadBitIdentical, copyColumns, groupData, groupInputs64, groupModel, mlp64, rowsBatch } from '../helpers/groupModels.js';

/** Users with a taste (g0..g3), items of a genre, histories, a display hour; a click when the item's genre is the user's taste. */
function csv(rows: number, seed: number): string {
  const r = new Rng(seed);
  const lines = ['y,user,item,hist,age,genre,price,hour'];
  for (let i = 0; i < rows; i++) {
    const user = r.int(30);
    const item = r.int(20);
    const hist = Array.from({ length: r.int(5) }, () => `m${r.int(20)}`);
    const y = (user % 4 === item % 4) !== (r.uniform() < 0.1) ? 1 : 0;
    lines.push(`${y},u${user},m${item},${hist.join('|')},${r.int(60)},g${item % 4},${(r.uniform() * 10).toFixed(2)},h${r.int(3)}`);
  }
  return lines.join('\n');
}

const FIELDS = [
  { name: 'user', kind: 'categorical', group: 'user' },
  { name: 'item', kind: 'categorical', group: 'item', required: true },
  { name: 'hist', kind: 'sequence', vocab: 'item', group: 'user' },
  { name: 'age', kind: 'numeric', transform: 'standardize', group: 'user' },
  { name: 'genre', kind: 'categorical', group: 'item' },
  { name: 'price', kind: 'numeric', transform: 'standardize', group: 'item' },
  { name: 'hour', kind: 'categorical', group: 'ctx' },
] as const;

const TT: ModelConfigInput = {
  type: 'twotower', dim: 4, user: ['user'], item: ['item'], bias: ['ctx', 'user'], towerHidden: [6], outDim: 3, biasHidden: [4],
  activation: 'tanh', initStd: 0.3,
};

const data = async (rows = 300): Promise<{ ds: Dataset; fitted: FittedSchema }> => groupData(csv(rows, 5), FIELDS);
const model = (input: ModelConfigInput, fitted: FittedSchema, ds: Dataset, seed = 3): { model: TwoTower; dims: ModelDims } => groupModel<TwoTower>(input, fitted, ds, seed);

const train = trainSteps;
const rows = rowsBatch;

/** The model written out in float64 from the config's definition: tanh hidden layers, a linear output; z = u·v + b. */
function reference64(features: readonly FeatureInfo[], batch: Batch, dim: number, p: Map<string, Float64Array>, shapes: Map<string, readonly number[]>): Float64Array {
  const inputs = (groups: readonly string[]): Float64Array[] => groupInputs64(features, batch, dim, p.get('emb.weight')!, groups);
  const [u, v, c] = [inputs(['user']), inputs(['item']), inputs(['ctx', 'user'])];
  return Float64Array.from({ length: batch.size }, (_, r) => {
    const [ur, vr] = [mlp64(p, shapes, 'user', u[r]!, 2), mlp64(p, shapes, 'item', v[r]!, 2)];
    return ur.reduce((s, x, d) => s + x * vr[d]!, 0) + mlp64(p, shapes, 'bias', c[r]!, 2)[0]!;
  });
}

describe('two-tower with a bias net', () => {
  for (const k of testBackends()) {
    // Data first: withBackend restores the backend when its callback returns, i.e. at an async callback's first await.
    it(`autograd gradients match float64 central differences (${k.name})`, async () => {
      const { ds, fitted } = await data();
      withBackend(k, () => {
        const { model: m } = model(TT, fitted, ds);
        const batch = rows(ds, 0, 12);
        // The check covers every part: embeddings and all three MLPs have non-zero gradients.
        assertMatchesReference64(m, batch, (p, shapes) => reference64(fitted.features(), batch, 4, p, shapes), ['emb.', 'user.', 'item.', 'bias.'], 'two-tower');
      });
    });

    it(`scores from exported item vectors equal the full model's; save → load → predict is bit-identical (${k.name})`, async () => {
      const { ds, fitted } = await data();
      withBackend(k, () => {
        const { model: m, dims } = model(TT, fitted, ds);
        const losses = train(m, ds, 60);
        assert.ok(losses.at(-1)! < losses[0]! - 0.05, `loss ${losses[0]} → ${losses.at(-1)}`);
        m.eval();
        const batch = rows(ds, 0, 64);
        const full = m.forward(batch).data.slice();
        // Item vectors exported in a different batch (all items in one go), then reused per request.
        const vectors = m.itemVectors(rows(ds, 0, 128)).data.slice(0, 64 * 3);
        assert.deepEqual(bits(m.scoreRowsWithItemVectors(batch, new Tensor(vectors, [64, 3])).data.slice()), bits(full));
        // One matrix product: every request row against every item; the diagonal is each row's own score.
        const all = m.scoreWithItemVectors(batch, new Tensor(vectors, [64, 3]));
        assert.deepEqual(all.shape, [64, 64]);
        for (let i = 0; i < 64; i++) {
          assert.ok(Math.abs(all.data[i * 64 + i]! - full[i]!) <= 1e-6 * (1 + Math.abs(full[i]!)), `row ${i}: ${all.data[i * 64 + i]} vs ${full[i]}`);
        }
        // Off the diagonal: user i with item j is what the full model scores for a row pairing them.
        const swapped: Batch = { ...batch, ids: batch.ids.slice(), dense: batch.dense!.slice() };
        const itemCols = fitted.features().filter((f) => f.group === 'item');
        for (let i = 0; i < 64; i++) {
          const j = (i * 7 + 3) % 64;
          copyColumns(swapped, i, batch, j, itemCols);
        }
        const pairs = m.forward(swapped).data.slice();
        for (let i = 0; i < 64; i++) {
          const j = (i * 7 + 3) % 64;
          assert.ok(Math.abs(all.data[i * 64 + j]! - pairs[i]!) <= 1e-6 * (1 + Math.abs(pairs[i]!)), `user ${i} × item ${j}`);
        }
        endStep();

        assert.ok(assertSaveLoadBitIdentical(m, TT, fitted, dims, ds) instanceof TwoTower);
      });
    });
  }

  it('without bias groups the bias is one learned intercept', async () => {
    const { ds, fitted } = await data();
    const { model: m } = model({ ...TT, bias: undefined }, fitted, ds);
    assert.equal(m.biasNet, null);
    assert.deepEqual(m.namedParameters().filter(([n]) => !/^(user|item)\./.test(n)).map(([n]) => n), ['intercept']);
    const batch = rows(ds, 0, 8);
    const z0 = m.forward(batch).data.slice();
    m.intercept!.data[0] = 1.5;
    const z1 = m.forward(batch).data.slice();
    for (let i = 0; i < 8; i++) assert.ok(Math.abs(z1[i]! - z0[i]! - 1.5) < 1e-6);
    const all = m.scoreWithItemVectors(batch, m.itemVectors(batch));
    for (let i = 0; i < 8; i++) assert.ok(Math.abs(all.data[i * 8 + i]! - z1[i]!) <= 1e-6 * (1 + Math.abs(z1[i]!)), `row ${i}`);
    endStep();
    assert.ok(train(m, ds, 30).at(-1)! < 0.69);
  });

  it('learns a user × item interaction through the dot product', async () => {
    // Click ⇔ the item's genre is the user's taste: only u·v can express it (the bias net sees no item).
    const { ds, fitted } = await data(3000);
    const { model: m } = model({ ...TT, towerHidden: [16], outDim: 8, dim: 8 }, fitted, ds);
    const opt = new Adam([{ params: m.parameters(), tables: m.tables() }], { lr: 0.02 });
    const g = new RowGatherer(ds);
    const order = Int32Array.from({ length: 2400 }, (_, i) => i);
    for (let e = 0; e < 15; e++) for (let s = 0; s + 100 <= 2400; s += 100) {
      const b = g.gather(order, s, s + 100);
      trainStep(opt, () => bceWithLogits(m.forward(b), b.labels));
    }
    const p = predictRows(m, ds, { start: 2400, end: 3000 });
    const y = ds.labels[0]!.subarray(2400, 3000);
    let right = 0;
    for (let i = 0; i < 600; i++) right += (p[i]! > 0.5) === (y[i]! === 1) ? 1 : 0;
    assert.ok(right / 600 > 0.85, `held-out accuracy ${right / 600} (10 % label noise)`);
  });

  it('names the config key of a group the data lacks', async () => {
    const { ds, fitted } = await data();
    assertMissingGroupErrors((c) => model(c, fitted, ds), TT, FIELDS, ['user', 'item', 'bias'], ['user', 'item', 'ctx']);
    assert.throws(() => parseModelConfig({ ...TT, user: [] }), /model\.user/);
    assert.throws(() => parseModelConfig({ ...TT, hidden: [8] }), /model\.hidden: not a setting of model type 'twotower'/);
    assert.throws(() => parseModelConfig({ ...TT, item: undefined }), /model\.item/);
  });
});

describe('ctrkit export --format item-vectors', () => {
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

  it('writes each item row\'s vector; ⟨u, v⟩ + b from the file equals the model\'s logits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctrkit-twotower-cli-'));
    try {
      writeFileSync(join(dir, 'd.csv'), csv(300, 5));
      writeFileSync(join(dir, 'c.yaml'), JSON.stringify({
        data: { source: { format: 'csv', path: 'd.csv' }, labels: [{ name: 'click', column: 'y' }], fields: FIELDS, split: { mode: 'random', validation: 0.2, test: 0.2, seed: 1 } },
        model: TT, train: { epochs: 2, batchSize: 32, seed: 1, optimizer: { type: 'adam', lr: 0.01 } }, output: 'run',
      }));
      const t = spawnSync(process.execPath, [cli, 'train', 'c.yaml'], { cwd: dir, encoding: 'utf8' });
      assert.equal(t.status, 0, t.stderr);
      const modelDir = join(dir, 'run', 'model');
      // Items only: the user and display columns are empty; an unseen item is an out-of-vocabulary row.
      const items = ['user,item,hist,age,genre,price,hour', ',m3,,,g3,4.5,', ',m7,,,g3,1.25,', ',zz,,,g9,,'];
      writeFileSync(join(dir, 'items.csv'), `${items.join('\n')}\n`);
      const out = join(dir, 'vectors.csv');
      const p = spawnSync(process.execPath, [cli, 'export', '-m', modelDir, '--format', 'item-vectors', '-i', join(dir, 'items.csv'), '-o', out], { encoding: 'utf8' });
      assert.equal(p.status, 0, p.stderr);
      assert.deepEqual(JSON.parse(p.stdout), { vectors: out, rows: 3, dim: 3 });
      const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
      assert.equal(lines[0], 'line,v0,v1,v2');
      assert.deepEqual(lines.slice(1).map((l) => l.split(',')[0]), ['2', '3', '4']);
      const vectors = Float32Array.from(lines.slice(1).flatMap((l) => l.split(',').slice(1).map(Number)));

      // The same items in full rows (users, hours): their logits from the file's vectors are bit-identical to the model's.
      const full = ['y,user,item,hist,age,genre,price,hour', '1,u1,m3,m1|m2,30,g3,4.5,h0', '0,u2,m7,,41,g3,1.25,h2', '0,u4,zz,m3,20,g9,,h1'];
      writeFileSync(join(dir, 'req.csv'), `${full.join('\n')}\n`);
      // On the backend the CLI used (native when built): backends agree only to rounding.
      const s = await scoreFile(modelDir, join(dir, 'req.csv'), { labels: true });
      const m = s.model as TwoTower;
      withBackend(testBackends().at(-1)!, () => {
        const logits = predictRows(m, s.dataset, { start: 0, end: 3 });
        const fromFile = noGrad(() => m.scoreRowsWithItemVectors(rows(s.dataset, 0, 3), new Tensor(vectors, [3, 3])).data.slice());
        endStep();
        assert.deepEqual(bits(fromFile), bits(logits));
      });

      const wrong = spawnSync(process.execPath, [cli, 'export', '-m', join(dir, 'm'), '--format', 'item-vectors', '-o', join(dir, 'x.csv')], { encoding: 'utf8' });
      assert.equal(wrong.status, 1);
      assert.match(wrong.stderr, /^ctrkit: --format item-vectors needs -i, --input/);
      const onnx = spawnSync(process.execPath, [cli, 'export', '-m', modelDir, '-o', join(dir, 'm.onnx')], { encoding: 'utf8' });
      // Two-tower models export to ONNX too (test/io/onnxExport.test.ts checks the graph in onnxruntime).
      assert.equal(onnx.status, 0, onnx.stderr);
      assert.equal((JSON.parse(onnx.stdout) as { onnx: string }).onnx, join(dir, 'm.onnx'));
      // Item vectors of a model without an item tower: refused by name.
      writeFileSync(join(dir, 'c.yaml'), readFileSync(join(dir, 'c.yaml'), 'utf8').replace(/"model":\{[^}]*\}/, '"model":{"type":"lr"}').replace('"output":"run"', '"output":"lr"'));
      assert.equal(spawnSync(process.execPath, [cli, 'train', 'c.yaml'], { cwd: dir, encoding: 'utf8' }).status, 0);
      const lr = spawnSync(process.execPath, [cli, 'export', '-m', join(dir, 'lr', 'model'), '--format', 'item-vectors', '-i', join(dir, 'items.csv'), '-o', join(dir, 'x.csv')], { encoding: 'utf8' });
      assert.equal(lr.status, 1);
      assert.match(lr.stderr, /^ctrkit: .*lr[/\\]model: item vectors are a two-tower model's; this model is 'lr'\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
