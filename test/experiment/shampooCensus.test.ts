/**
 * Shampoo trains a DNN on the bundled census-income data (a slice of examples/census-income.yaml,
 * 3 epochs) to an AUC comparable to AdaGrad's, the optimiser it grafts its step size from.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadExperimentConfig } from '../../src/experiment/config.js';
import { runTraining, type TrainRunResult } from '../../src/experiment/trainRun.js';
import { writeCensusSlice } from '../helpers/censusSlice.js';

describe('Shampoo on census-income (slice)', () => {
  let dir = '';
  const runs: Record<string, TrainRunResult> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-shampoo-census-'));
    const optimizers = {
      adagrad: '{ type: adagrad, lr: 0.05 }',
      shampoo: '{ type: shampoo, lr: 0.05, blockSize: 32, precondEvery: 10, startStep: 5, momentum: 0.5 }',
    };
    for (const [name, optimizer] of Object.entries(optimizers)) {
      const slice = writeCensusSlice(join(dir), { model: '{ type: dnn, dim: 8, hidden: [64, 32] }', train: `{ epochs: 3, batchSize: 128, seed: 2, optimizer: ${optimizer} }` });
      runs[name] = await runTraining(await loadExperimentConfig(slice.config), { quiet: true, output: join(dir, name) });
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reaches the AUC AdaGrad reaches, with another model', () => {
    const ada = runs.adagrad!.test.auc!;
    const shampoo = runs.shampoo!.test.auc!;
    // Measured: AdaGrad 0.945, Shampoo 0.943 (with its defaults, precondEvery 100 and no momentum: 0.948).
    assert.ok(ada > 0.9, `adagrad auc ${ada}`);
    assert.ok(shampoo > ada - 0.01, `shampoo auc ${shampoo} vs adagrad ${ada}`);
    const weights = (r: TrainRunResult): Buffer => readFileSync(join(r.modelDir, 'model.safetensors'));
    assert.notDeepEqual(weights(runs.shampoo!), weights(runs.adagrad!));
  });
});
