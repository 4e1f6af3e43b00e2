/**
 * `loss: contrastive` trains from a config: the models with hidden layers hand the loss the
 * representation their logit layer reads (forwardWithRepresentation), and the runner passes it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel, fixedHeads, hasRepresentation, headsAreTasks, isMultiTaskType, MODEL_TYPES, modelConfigSchema, parseModelConfig } from '../../src/models/registry.js';
import { MultiTaskModel } from '../../src/models/ctrModel.js';
import { endStep, noGrad } from '../../src/autograd/tape.js';
import { reshape } from '../../src/autograd/ops/layout.js';
import { loadExperimentConfig } from '../../src/experiment/config.js';
import { runTraining, type TrainRunResult } from '../../src/experiment/trainRun.js';
import type { Batch } from '../../src/data/batch.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import type { CTRModel } from '../../src/models/ctrModel.js';
import type { DNN } from '../../src/models/dnn.js';
import type { DCNv2 } from '../../src/models/dcnv2.js';
import { writeCensusSlice } from '../helpers/censusSlice.js';

const FIELDS = 3;
const N = 5;
const batch: Batch = {
  size: N, numFields: FIELDS, labels: new Float32Array(N),
  ids: Int32Array.from({ length: N * FIELDS }, (_, i) => (i * 7) % 30),
};
const dims = { numIds: 30, numFields: FIELDS };

/** The model's logits and what its logit layer makes of the representation, as plain arrays. */
function headCheck(model: CTRModel, head: (rep: Tensor) => Tensor): { logits: number[]; viaHead: number[]; forward: number[]; width: number } {
  return noGrad(() => {
    const out = model.forwardWithRepresentation!(batch);
    const r = {
      logits: [...out.logits.data], viaHead: [...reshape(head(out.representation), [N]).data],
      forward: [...model.forward(batch).data], width: out.representation.shape[1]!,
    };
    assert.equal(out.representation.shape[0], N);
    endStep();
    return r;
  });
}

describe('scoresAsInEval (one forward per batch in online training)', () => {
  it('a model that declares it gives bit-identical logits in training mode and under evaluation; dropout, ramps and gates do not declare it', () => {
    const configs = [
      ...MODEL_TYPES.filter((t) => modelConfigSchema.safeParse({ type: t }).success).map((type) => ({ type })),
      { type: 'dnn', dropout: 0.3 }, { type: 'dcnv2', crossRamp: 100 }, { type: 'mmoe', dropout: 0.3 },
    ];
    let declared = 0;
    for (const c of configs) {
      const m = createModel(parseModelConfig(c), { ...dims, tasks: ['a', 'b'] }, 2);
      const logits = (train: boolean): number[] => {
        m.train(train);
        m.onTrainingStep(5);
        const z = m instanceof MultiTaskModel ? m.forwardHeads(batch)[m.heads[0]!]! : m.forward(batch);
        const out = [...z.data];
        endStep();
        return out;
      };
      const expectDeclared = !('dropout' in c) && !('crossRamp' in c) && c.type !== 'snr';
      assert.equal(m.scoresAsInEval(), expectDeclared, JSON.stringify(c));
      if (!m.scoresAsInEval()) continue;
      declared++;
      assert.deepEqual(logits(true), noGrad(() => logits(false)), JSON.stringify(c));
    }
    assert.ok(declared >= 5);
  });
});

describe('forwardWithRepresentation', () => {
  it('the models with hidden layers have it, and only they; every declared trait matches the built model', () => {
    // Types that need more than their type to be configured (named features: din, twotower, qu) are built in their own tests.
    const buildable = MODEL_TYPES.filter((t) => modelConfigSchema.safeParse({ type: t }).success);
    for (const type of buildable) {
      // Task names for the multi-task types; the other types ignore them.
      const m = createModel(parseModelConfig({ type }), { ...dims, tasks: ['a', 'b'] }, 1);
      assert.equal(m.forwardWithRepresentation !== undefined, hasRepresentation(type), type);
      // The other declared traits (config validation relies on them before any model exists).
      assert.equal(m instanceof MultiTaskModel, isMultiTaskType(type), `${type}: multi-task`);
      if (m instanceof MultiTaskModel) {
        assert.deepEqual([...m.heads], headsAreTasks(type) ? ['a', 'b'] : [...fixedHeads(type)!], `${type}: heads`);
      }
    }
  });

  it('dnn: the last hidden layer, which the output layer maps to forward()’s logits', () => {
    const m = createModel(parseModelConfig({ type: 'dnn', dim: 4, hidden: [6, 5] }), dims, 1) as DNN;
    const r = headCheck(m, (h) => m.mlp.layers.at(-1)!.forward(h));
    assert.equal(r.width, 5);
    assert.deepEqual(r.logits, r.forward);
    assert.deepEqual(r.viaHead, r.logits);
  });

  it('dcnv2: concat(cross, mlp) when parallel, the MLP’s last hidden layer when stacked', () => {
    const p = createModel(parseModelConfig({ type: 'dcnv2', dim: 4, hidden: [6], crossLayers: 2 }), dims, 1) as DCNv2;
    const rp = headCheck(p, (h) => p.head!.forward(h));
    assert.equal(rp.width, FIELDS * 4 + 6);
    assert.deepEqual(rp.logits, rp.forward);
    assert.deepEqual(rp.viaHead, rp.logits);
    const s = createModel(parseModelConfig({ type: 'dcnv2', dim: 4, hidden: [6, 3], structure: 'stacked' }), dims, 1) as DCNv2;
    const rs = headCheck(s, (h) => s.mlp.layers.at(-1)!.forward(h));
    assert.equal(rs.width, 3);
    assert.deepEqual(rs.logits, rs.forward);
    assert.deepEqual(rs.viaHead, rs.logits);
  });
});

describe('train.loss: contrastive end to end (census slice)', () => {
  let dir = '';
  const runs: Record<string, TrainRunResult> = {};
  const train = (loss: string): string => `{ epochs: 3, batchSize: 128, seed: 2, optimizer: { type: adam, lr: 0.01 }, loss: ${loss} }`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-contrastive-'));
    for (const [name, loss] of [['contrastive', '{ type: contrastive, alpha: 0.5, temperature: 0.2 }'], ['bce', '{ type: bce }']] as const) {
      const slice = writeCensusSlice(dir, { model: '{ type: dnn, dim: 4, hidden: [16] }', train: train(loss) });
      runs[name] = await runTraining(await loadExperimentConfig(slice.config), { quiet: true, output: join(dir, name) });
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('trains, and the contrastive term changes the model', () => {
    const c = runs.contrastive!;
    // Far above chance (measured 0.84; BCE alone 0.95 on this slice: the term is a regulariser, not tuned here).
    assert.ok(c.test.auc! > 0.75, `test auc ${c.test.auc}`);
    const weights = (r: TrainRunResult): Buffer => readFileSync(join(r.modelDir, 'model.safetensors'));
    assert.notDeepEqual(weights(c), weights(runs.bce!));
  });
});
