/**
 * Opt-in int8 and bf16 scoring end to end: DNN and DCN-v2 trained on a census slice score their
 * test file in reduced precision close to fp32 (and not identically, so the reduced path really
 * ran), the server scores exactly what predict does at the same precision, unsupported models and
 * layers are refused or fall back visibly, and a reduced-precision model cannot be trained.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadExperimentConfig } from '../../src/experiment/config.js';
import { runTraining, type TrainRunResult } from '../../src/experiment/trainRun.js';
import { scoreFile } from '../../src/experiment/scoring.js';
import { loadSnapshot } from '../../src/serve/snapshot.js';
import { createServer } from '../../src/serve/server.js';
import { encodeFile, withSourcePath } from '../../src/schema/index.js';
import { auc } from '../../src/metrics/auc.js';
import { createModel, parseModelConfig } from '../../src/models/registry.js';
import { setLinearPrecision, PrecisionError, precisionNote } from '../../src/nn/quantize.js';
import { int8Kernels } from '../../src/backend/int8.js';
import { bf16Kernels } from '../../src/backend/bf16.js';
import { setInferencePrecision } from '../../src/models/inferencePrecision.js';
import { predictRows } from '../../src/train/predict.js';
import { RowGatherer } from '../../src/data/batching.js';
import { endStep } from '../../src/autograd/tape.js';
import { writeCensusSlice, type CensusSlice } from '../helpers/censusSlice.js';
import { skip } from '../native/setup.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const MODELS = {
  dnn: '{ type: dnn, dim: 8, hidden: [64, 32] }',
  dcnv2: '{ type: dcnv2, dim: 8, hidden: [64, 32], crossLayers: 2 }',
  lr: '{ type: lr }',
} as const;

const REDUCED = ['int8', 'bf16'] as const;

describe('reduced-precision scoring', { skip }, () => {
  let dir = '';
  const runs: Partial<Record<keyof typeof MODELS, { run: TrainRunResult; slice: CensusSlice }>> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-reduced-'));
    for (const [name, model] of Object.entries(MODELS) as [keyof typeof MODELS, string][]) {
      const slice = writeCensusSlice(join(dir), { model, train: '{ epochs: 2, batchSize: 128, seed: 3, optimizer: { type: adam, lr: 0.003 } }' });
      const run = await runTraining(await loadExperimentConfig(slice.config), { quiet: true, output: join(dir, name) });
      runs[name] = { run, slice };
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const kind of ['dnn', 'dcnv2'] as const) for (const precision of REDUCED) {
    it(`${kind}: ${precision} probabilities are within 0.01 of fp32, AUC within 0.002, every dense layer ${precision}`, async () => {
      const { run, slice } = runs[kind]!;
      const fp = await scoreFile(run.modelDir, slice.test, { labels: true });
      const q = await scoreFile(run.modelDir, slice.test, { labels: true, precision });
      assert.equal(fp.precision.precision, 'fp32');
      assert.ok(q.precision.layers.length >= (kind === 'dnn' ? 3 : 5));
      assert.ok(q.precision.layers.every((l) => l.precision === precision), JSON.stringify(q.precision.layers));
      let maxDp = 0;
      for (let i = 0; i < fp.probs.length; i++) maxDp = Math.max(maxDp, Math.abs(fp.probs[i]! - q.probs[i]!));
      assert.ok(maxDp > 0, `${precision} scores equal fp32 ones: the ${precision} path did not run`);
      assert.ok(maxDp < 0.01, `max |Δp| ${maxDp}`);
      const y = fp.dataset.labels[0]!;
      const dAuc = Math.abs(auc(fp.probs, y) - auc(q.probs, y));
      assert.ok(dAuc < 0.002, `|ΔAUC| ${dAuc}`);
    });
  }

  it('serve scores what predict scores, at either precision, bit for bit', async () => {
    const { run, slice } = runs.dcnv2!;
    for (const precision of ['fp32', ...REDUCED] as const) {
      const offline = await scoreFile(run.modelDir, slice.test, { labels: true, precision });
      const snap = loadSnapshot(run.modelDir, precision);
      assert.equal(snap.loaded.precision.precision, precision);
      const { dataset } = await encodeFile(snap.loaded.fitted, withSourcePath(snap.loaded.source, slice.test), { labels: true });
      const served = snap.score(dataset, 0, dataset.numRows)[0]!;
      assert.deepEqual(served, offline.probs, precision);
    }
  });

  for (const precision of REDUCED) {
    it(`ctrkit serve --precision ${precision}: GET /v1/model reports the precision of every layer`, async () => {
      const server = createServer({ modelDir: runs.dnn!.run.modelDir, precision });
      try {
        const j = JSON.parse((await server.app.inject({ method: 'GET', url: '/v1/model' })).body) as { precision: { precision: string; layers: { layer: string; precision: string }[] } };
        assert.equal(j.precision.precision, precision);
        assert.deepEqual(j.precision.layers.map((l) => l.precision), [precision, precision, precision]);
      } finally {
        await server.close();
      }
    });

    it(`an unsupported model kind is a one-line user error (${precision})`, () => {
      const { run, slice } = runs.lr!;
      const r = spawnSync(process.execPath, [MAIN, 'eval', '-m', run.modelDir, '-i', slice.test, '--precision', precision], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`precision ${precision} is supported for dnn and dcnv2 models; this model is lr`));
      assert.throws(() => setInferencePrecision(run.model, precision), PrecisionError);
    });

    it(`ctrkit predict and eval --precision ${precision} say how the layers run`, () => {
      const { run, slice } = runs.dnn!;
      for (const args of [['predict', '-o', join(dir, `p-${precision}.csv`)], ['eval']]) {
        const r = spawnSync(process.execPath, [MAIN, args[0]!, '-m', run.modelDir, '-i', slice.test, ...args.slice(1), '--precision', precision], { encoding: 'utf8', timeout: 60_000 });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, new RegExp(`precision ${precision}: 3 of 3 dense layers ${precision}, embeddings fp32`));
      }
    });
  }

  it('ctrkit export --format onnx refuses bf16 (the graph is fp32 or int8)', () => {
    const r = spawnSync(process.execPath, [MAIN, 'export', '-m', runs.dnn!.run.modelDir, '-o', join(dir, 'm.onnx'), '--precision', 'bf16'], { encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--precision.*bf16/);
  });

  it('low-rank layers stay fp32 and are named in the report; a reduced-precision model refuses to train', () => {
    const cfg = parseModelConfig({ type: 'dnn', dim: 4, hidden: [16, 8], rank: 2 }, 'test');
    const model = createModel(cfg, { numIds: 50, numFields: 3 }, 1);
    const report = setLinearPrecision(model, 'int8');
    assert.deepEqual(report.layers.map((l) => [l.layer, l.precision, l.reason ?? '']), [
      ['mlp.layers.0', 'fp32', 'low-rank layer (U·V)'],
      ['mlp.layers.1', 'fp32', 'low-rank layer (U·V)'],
      ['mlp.layers.2', 'int8', ''],
    ]);
    assert.match(precisionNote(report), /^precision int8: 1 of 3 dense layers int8, embeddings fp32.*; fp32 fallback: mlp\.layers\.0 \(low-rank layer \(U·V\)\), mlp\.layers\.1/);
    // Where the CPU lacks VNNI the note says int8 is the slow path there.
    assert.ok(int8Kernels()._int8ForceKernel('portable'));
    try {
      assert.match(precisionNote(setLinearPrecision(model, 'int8')), /portable int8 kernel: this CPU lacks AVX-512 VNNI/);
    } finally {
      int8Kernels()._int8ForceKernel('auto');
    }
    assert.ok(bf16Kernels()._bf16ForceKernel('portable'));
    try {
      assert.match(precisionNote(setLinearPrecision(model, 'bf16')), /^precision bf16: 1 of 3 dense layers bf16, embeddings fp32 \(portable bf16 kernel: this CPU lacks AVX-512 BF16/);
    } finally {
      bf16Kernels()._bf16ForceKernel('auto');
    }
    const { run } = runs.dnn!;
    const m = run.model;
    const batch = new RowGatherer(run.dataset).gather(Int32Array.from([0, 1, 2, 3]), 0, 4);
    for (const precision of REDUCED) {
      setLinearPrecision(m, precision);
      m.train();
      assert.throws(() => m.forward(batch), new RegExp(`${precision} precision is never used in training`));
      m.eval();
      assert.throws(() => m.forward(batch), new RegExp(`${precision} precision is for inference only`), 'recording gradients in eval mode');
    }
    setLinearPrecision(m, 'fp32');
    assert.equal(predictRows(m, run.dataset, { start: 0, end: 4 }).length, 4);
    endStep();
  });
});
