/**
 * JRC end to end and gradient probes through runTraining on the bundled census-income data:
 * a two-logit head trains with the JRC loss, its served probability is softmax₁ of the two
 * logits, and `train.probes` puts the gradient norms in the JSONL log.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadExperimentConfig } from '../../src/experiment/config.js';
import { runTraining } from '../../src/experiment/trainRun.js';
import { predictRows } from '../../src/train/predict.js';
import { scoreFile } from '../../src/experiment/scoring.js';
import { RowGatherer } from '../../src/data/batching.js';
import { noGrad, endStep } from '../../src/autograd/tape.js';
import { parseMetricLog } from '../../src/train/metricLog.js';
import { packageRoot } from '../helpers/sharedData.js';

const root = packageRoot();
const census = join(root, 'data', 'census_income_kdd', 'census-income.test.gz');

function writeConfig(dir: string, name: string, model: string, train: string): string {
  const text = readFileSync(join(root, 'examples', 'census-income.yaml'), 'utf8')
    .replace(/^model:.*$/m, `model: ${model}`)
    .replace(/^train:.*$/m, `train: ${train}`)
    .replace(/^output:.*$/m, `output: ${join(dir, name)}`);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, text);
  return file;
}

describe('JRC and gradient probes on census-income', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'ctrkit-jrc-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a DNN trains with JRC (two-logit head by default); probabilities are softmax₁ of the two logits', async () => {
    const file = writeConfig(dir, 'jrc', '{ type: dnn, dim: 4, hidden: [16] }',
      '{ epochs: 1, batchSize: 1024, seed: 2, optimizer: { type: adam, lr: 0.01 }, loss: { type: jrc, alpha: 0.5 } }');
    const r = await runTraining(await loadExperimentConfig(file, root), { quiet: true });
    assert.ok(r.test.auc! > 0.85, `test auc ${r.test.auc}`);
    assert.equal(r.model.logitsPerRow, 2);
    const manifest = JSON.parse(readFileSync(join(r.modelDir, 'manifest.json'), 'utf8')) as { model: { logits?: number } };
    assert.equal(manifest.model.logits, 2, 'the saved model section names the head it was trained with');
    // softmax([z⁰, z¹])₁ in float64 from the raw [N, 2] output of the first 500 test rows
    const rows = Int32Array.from({ length: 500 }, (_, i) => r.split.test.start + i);
    r.model.eval();
    const z = noGrad(() => {
      const out = r.model.forward(new RowGatherer(r.dataset).gather(rows, 0, rows.length));
      assert.deepEqual(out.shape, [500, 2]);
      const d = Float64Array.from(out.data);
      endStep();
      return d;
    });
    const served = predictRows(r.model, r.dataset, { start: r.split.test.start, end: r.split.test.start + 500 });
    const scored = await scoreFile(r.modelDir, census, { labels: true });
    for (let i = 0; i < 500; i++) {
      const [z0, z1] = [z[2 * i]!, z[2 * i + 1]!];
      const softmax1 = Math.exp(z1) / (Math.exp(z0) + Math.exp(z1));
      assert.equal(served[i], Math.fround(z1 - z0), 'stored logit is z¹ − z⁰');
      assert.ok(Math.abs(scored.probs[r.split.test.start + i]! - softmax1) < 1e-6, `row ${i}: ${scored.probs[r.split.test.start + i]} vs ${softmax1}`);
    }
  });

  it('a head / loss mismatch is refused when the config is loaded', async () => {
    const lr = writeConfig(dir, 'lrjrc', '{ type: lr }', '{ epochs: 1, batchSize: 1024, optimizer: { type: adam, lr: 0.01 }, loss: { type: jrc } }');
    await assert.rejects(loadExperimentConfig(lr, root), /'jrc' needs a two-logit model head \(model.logits: 2, dnn or dcnv2\), which model type 'lr'/);
    const two = writeConfig(dir, 'twobce', '{ type: dnn, dim: 4, hidden: [8], logits: 2 }', '{ epochs: 1, batchSize: 1024, optimizer: { type: adam, lr: 0.01 } }');
    await assert.rejects(loadExperimentConfig(two, root), /model.logits: 2 is the JRC head/);
    const one = writeConfig(dir, 'onejrc', '{ type: dnn, dim: 4, hidden: [8], logits: 1 }', '{ epochs: 1, batchSize: 1024, optimizer: { type: adam, lr: 0.01 }, loss: { type: jrc } }');
    await assert.rejects(loadExperimentConfig(one, root), /model\.logits: loss 'jrc' needs the two-logit head/);
    const lr2 = writeConfig(dir, 'lr2', '{ type: lr, logits: 2 }', '{ epochs: 1, batchSize: 1024, optimizer: { type: adam, lr: 0.01 } }');
    await assert.rejects(loadExperimentConfig(lr2, root), /model.logits: not a setting of model type 'lr'/);
  });

  it('train.probes logs the logit and bottom-layer gradient norms on every logged step, and changes no weight', async () => {
    const model = '{ type: dcnv2, dim: 4, hidden: [16], crossLayers: 1 }';
    const train = (probes: boolean): string =>
      `{ epochs: 1, batchSize: 2048, seed: 1, optimizer: { type: adam, lr: 0.01 }, loss: { type: combined-pair, alpha: 0.5 }, logEvery: 5, probes: ${probes} }`;
    const on = await runTraining(await loadExperimentConfig(writeConfig(dir, 'probes', model, train(true)), root), { quiet: true });
    const off = await runTraining(await loadExperimentConfig(writeConfig(dir, 'noprobes', model, train(false)), root), { quiet: true });
    const steps = parseMetricLog(readFileSync(join(on.output, 'log.jsonl'), 'utf8')).filter((r) => r.event === 'step');
    assert.equal(steps.length, Math.floor(on.train.globalStep / 5));
    for (const s of steps) {
      for (const k of ['grad_neg_logit', 'grad_pos_logit', 'grad_emb_mean', 'grad_emb_p90', 'grad_mlp0_mean', 'grad_mlp0_p90', 'grad_cross0_mean', 'grad_cross0_p90']) {
        assert.equal(typeof s[k], 'number', `step ${s.globalStep}: ${k} = ${s[k]}`);
      }
      assert.ok((s.grad_emb_p90 as number) >= 0 && (s.grad_neg_logit as number) > 0);
    }
    const plain = parseMetricLog(readFileSync(join(off.output, 'log.jsonl'), 'utf8')).filter((r) => r.event === 'step');
    assert.ok(plain.every((s) => !('grad_neg_logit' in s)), 'no probes unless asked for');
    assert.deepEqual(readFileSync(join(on.modelDir, 'model.safetensors')), readFileSync(join(off.modelDir, 'model.safetensors')), 'probing is read-only');
  });
});
