import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bceWithLogits } from '../../src/autograd/ops/loss.js';
import { AdaGrad } from '../../src/optim/adagrad.js';
import { trainStep } from '../../src/train/step.js';
import { predictRows } from '../../src/train/predict.js';
import type { Dataset } from '../../src/data/dataset.js';
import { idsDataset } from '../helpers/dataset.js';
import { Rng } from '../../src/util/random.js';
import { createModel, parseModelConfig, type ModelConfigInput } from '../../src/models/registry.js';
import type { CTRModel } from '../../src/models/ctrModel.js';
import { loadModel, saveModel, type SaveModelOptions } from '../../src/io/modelFile.js';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { ctrkitVersion, sha256File } from '../../src/io/provenance.js';
import { testBackends, withBackend } from '../helpers/backends.js';
import { tmpDirs } from '../helpers/tmpDir.js';

const FIELDS = 4;
const VOCAB = 40;

function rows(n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const ids = Int32Array.from({ length: n * FIELDS }, (_, i) => (i % FIELDS) * (VOCAB / FIELDS) + rng.int(VOCAB / FIELDS));
  const labels = Float32Array.from({ length: n }, (_, r) => (ids[r * FIELDS]! % 3 === 0 ? 1 : 0));
  return idsDataset(ids, labels, FIELDS, VOCAB);
}

function trained(input: ModelConfigInput, steps = 5): { model: CTRModel; opts: SaveModelOptions } {
  const modelConfig = parseModelConfig(input);
  const model = createModel(modelConfig, { numIds: VOCAB, numFields: FIELDS }, 11);
  const opt = new AdaGrad([{ params: model.parameters(), tables: model.tables() }], { lr: 0.1 });
  const data = rows(64, 3);
  for (let s = 0; s < steps; s++) {
    const size = 16;
    const b = { size, numFields: FIELDS, ids: data.ids.subarray(s % 4 * size * FIELDS, (s % 4 + 1) * size * FIELDS), labels: data.labels[0]!.subarray(s % 4 * size, (s % 4 + 1) * size) };
    model.onTrainingStep(s);
    trainStep(opt, () => bceWithLogits(model.forward(b), b.labels));
  }
  return {
    model,
    opts: {
      model, modelConfig,
      schema: { fields: ['a', 'b', 'c', 'd'], vocabularies: { a: ['x', 'y'] } },
      metrics: { auc: 0.75, logloss: 0.5, gauc: NaN },
      provenance: { dataHash: 'sha256:' + '0'.repeat(64), seed: 11, createdBy: 'test', trainRows: 64 },
    },
  };
}

const withTmp = tmpDirs('ctrkit-model-');

const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const configs: ModelConfigInput[] = [
  { type: 'lr', initStd: 0.05 },
  { type: 'fm', dim: 4, initStd: 0.05 },
  { type: 'dnn', dim: 4, hidden: [16, 8], dropout: 0.2, initStd: 0.05 },
  { type: 'dnn', dim: 4, hidden: [16], activation: 'smelu', smeluBeta: 0.5, rank: 2, initStd: 0.05 },
  { type: 'dnn', dim: 4, hidden: [8], wide: true, initStd: 0.05 },
  { type: 'dcnv2', dim: 4, hidden: [16, 8], crossLayers: 2, initStd: 0.05 },
  { type: 'dcnv2', dim: 4, hidden: [8], crossLayers: 1, crossRank: 3, structure: 'stacked', initStd: 0.05 },
  // Google's DCN-v2, saved mid-ramp (5 steps of 8): inference runs at the ramp's final value.
  { type: 'dcnv2', dim: 4, hidden: [16, 8], rank: 4, activation: 'smelu', smeluBeta: 0.5, crossLayers: 2, crossRank: 3, crossRamp: 8, rezero: true, initStd: 0.05 },
];

for (const k of testBackends()) {
  describe(`model files (${k.name})`, () => {
    for (const cfg of configs) {
      it(`${JSON.stringify(cfg)}: a loaded model predicts bit-identically`, () => withBackend(k, () => withTmp((dir) => {
        const { model, opts } = trained(cfg);
        const test = rows(300, 9);
        const before = predictRows(model, test, { start: 0, end: 300 }, 128);
        const out = join(dir, 'm');
        saveModel(out, opts);
        const { model: loaded, manifest } = loadModel(out);
        assert.deepEqual(bits(predictRows(loaded, test, { start: 0, end: 300 }, 128)), bits(before));
        assert.deepEqual(loaded.stateDict(), model.stateDict());
        assert.deepEqual(manifest.model, opts.modelConfig);
        assert.deepEqual(readdirSync(out).sort(), ['manifest.json', 'model.safetensors']);
      })));
    }
  });
}

describe('model files: manifest and errors', () => {
  it('writes the documented manifest', () => withTmp((dir) => {
    const { opts } = trained({ type: 'dcnv2', dim: 4, hidden: [8], crossLayers: 1, initStd: 0.05 });
    const out = join(dir, 'm');
    saveModel(out, { ...opts, calibration: { method: 'platt', a: 1, b: 0 } });
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(m.formatVersion, 1);
    assert.deepEqual(m.dims, { numIds: VOCAB, numFields: FIELDS });
    assert.deepEqual(m.schema, opts.schema);
    assert.deepEqual(m.metrics, { auc: 0.75, logloss: 0.5, gauc: null });
    assert.deepEqual(m.provenance, { ...opts.provenance, ctrkitVersion: ctrkitVersion() });
    assert.deepEqual(m.calibration, { method: 'platt', a: 1, b: 0 });
    const w = m.weights as { file: string; sha256: string; bytes: number };
    assert.equal(w.file, 'model.safetensors');
    assert.equal(w.sha256, sha256File(join(out, 'model.safetensors')));
    assert.equal(readSafetensors(join(out, 'model.safetensors')).tensors.get('input.emb.weight')!.shape.join('x'), `${VOCAB}x4`);
  }));

  it('refuses non-finite weights, naming tensor and index, and keeps the previous model', () => withTmp((dir) => {
    const { model, opts } = trained({ type: 'dnn', dim: 4, hidden: [8], initStd: 0.05 });
    const out = join(dir, 'm');
    saveModel(out, opts);
    const good = readFileSync(join(out, 'model.safetensors'));
    model.namedParameters()[1]![1].data[3] = NaN;
    const name = model.namedParameters()[1]![0];
    assert.throws(() => saveModel(out, opts), { message: new RegExp(`tensor '${name.replace(/\./g, '\\.')}' has a non-finite value \\(NaN\\) at index 3`) });
    assert.deepEqual(readFileSync(join(out, 'model.safetensors')), good);
    assert.deepEqual(readdirSync(dir), ['m']);
  }));

  it('refuses a modelConfig that does not describe the model', () => withTmp((dir) => {
    const { opts } = trained({ type: 'dnn', dim: 4, hidden: [8], initStd: 0.05 });
    assert.throws(() => saveModel(join(dir, 'm'), { ...opts, modelConfig: parseModelConfig({ type: 'dnn', dim: 4, hidden: [16], initStd: 0.05 }) }),
      /modelConfig\.hidden is \[16\] but the model was built with \[8\]/);
    assert.throws(() => saveModel(join(dir, 'm'), { ...opts, modelConfig: parseModelConfig({ type: 'fm' }) }), /modelConfig\.type is 'fm' but the model is 'dnn'/);
    assert.equal(existsSync(join(dir, 'm')), false);
  }));

  describe('loading reports what is wrong, naming the file', () => {
    const setup = (dir: string): { out: string; manifest: string; weights: string } => {
      const out = join(dir, 'm');
      saveModel(out, trained({ type: 'dnn', dim: 4, hidden: [8], initStd: 0.05 }, 1).opts);
      return { out, manifest: join(out, 'manifest.json'), weights: join(out, 'model.safetensors') };
    };
    /** Rewrites the weights through `edit` and re-signs them, so only the edit is wrong. */
    const retensor = (p: { manifest: string; weights: string }, edit: (t: Map<string, { data: Float32Array; shape: number[] }>) => void): void => {
      const t = new Map([...readSafetensors(p.weights).tensors].map(([n, v]) => [n, { data: v.data as Float32Array, shape: v.shape }]));
      edit(t);
      writeSafetensors(p.weights, t);
      const m = JSON.parse(readFileSync(p.manifest, 'utf8')) as { weights: { sha256: string } };
      m.weights.sha256 = sha256File(p.weights);
      writeFileSync(p.manifest, JSON.stringify(m));
    };
    const editManifest = (p: { manifest: string }, edit: (m: Record<string, unknown>) => void): void => {
      const m = JSON.parse(readFileSync(p.manifest, 'utf8')) as Record<string, unknown>;
      edit(m);
      writeFileSync(p.manifest, JSON.stringify(m));
    };

    it('missing directory or manifest', () => withTmp((dir) => {
      assert.throws(() => loadModel(join(dir, 'nope')), /nope[/\\]manifest\.json: not found/);
    }));
    it('corrupt manifest JSON', () => withTmp((dir) => {
      const p = setup(dir);
      writeFileSync(p.manifest, '{"formatVersion": 1, ');
      assert.throws(() => loadModel(p.out), { message: new RegExp(`^${p.manifest}: corrupt manifest, not valid JSON`) });
    }));
    it('unknown formatVersion', () => withTmp((dir) => {
      const p = setup(dir);
      editManifest(p, (m) => { m.formatVersion = 2; });
      assert.throws(() => loadModel(p.out), { message: new RegExp(`^${p.manifest}: unknown formatVersion 2; .* reads version 1`) });
    }));
    it('manifest fields of the wrong type', () => withTmp((dir) => {
      const p = setup(dir);
      editManifest(p, (m) => { (m.provenance as Record<string, unknown>).seed = 'x'; m.weights = { file: '../x' }; });
      assert.throws(() => loadModel(p.out), { message: new RegExp(`^${p.manifest}: corrupt manifest: .*provenance\\.seed.*weights\\.file`) });
    }));
    it('invalid model config in the manifest', () => withTmp((dir) => {
      const p = setup(dir);
      editManifest(p, (m) => { m.model = { type: 'gbdt' }; });
      assert.throws(() => loadModel(p.out), { message: `${p.manifest}: model.type: expected one of lr, fm, dnn, dcnv2, din, twotower, qu, shared-bottom, mmoe, ple, snr, esmm, got "gbdt"` });
    }));
    it('damaged weights (sha256 mismatch)', () => withTmp((dir) => {
      const p = setup(dir);
      const b = readFileSync(p.weights);
      b[b.length - 1] ^= 1;
      writeFileSync(p.weights, b);
      assert.throws(() => loadModel(p.out), { message: new RegExp(`^${p.weights}: sha256 .* does not match`) });
    }));
    it('missing weights file', () => withTmp((dir) => {
      const p = setup(dir);
      rmSync(p.weights);
      assert.throws(() => loadModel(p.out), { message: new RegExp(`^${p.weights}: weights file named by the manifest is missing`) });
    }));
    it('missing and extra tensors', () => withTmp((dir) => {
      const p = setup(dir);
      retensor(p, (t) => {
        t.delete('input.emb.weight');
        t.set('mlp.extra', { data: new Float32Array(1), shape: [1] });
      });
      assert.throws(() => loadModel(p.out), { message: new RegExp(`^${p.weights}: tensors do not match .*missing: input\\.emb\\.weight; unexpected: mlp\\.extra`) });
    }));
    it('shape mismatch', () => withTmp((dir) => {
      const p = setup(dir);
      retensor(p, (t) => { t.get('input.emb.weight')!.shape = [VOCAB * 2, 2]; });
      assert.throws(() => loadModel(p.out), { message: `${p.weights}: tensor 'input.emb.weight' has shape [80, 2], the model expects [40, 4]` });
    }));
  });
});
