/** The zod-validated `distill` config: types, β, the curriculum ramp, and errors by field. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { endStep } from '../../src/autograd/tape.js';
import * as L from '../../src/losses/index.js';
import { assertNear, f32, i32 } from '../helpers/close.js';

const z = (): Tensor => new Tensor(f32([2, 0, 1, -1]), [4], true);
const teacher = f32([1, -1, 0.5, 0]);
const batch = { labels: f32([1, 0, 1, 0]), groupOffsets: i32([0, 2, 4]) };

describe('createDistillation', () => {
  it('builds every type, each the loss its module computes, weighted by β', () => {
    for (const type of L.DISTILL_TYPES) {
      const d = L.createDistillation({ type, beta: 0.5 });
      const direct = L.distillationLoss(z(), teacher, batch, { type }).item();
      assert.equal(d.loss(z(), teacher, batch).item(), direct, type);
      assert.equal(d.weight(), 0.5);
      endStep();
    }
    assert.equal(L.createDistillation({ type: 'clid' }).weight(123), 1, 'β defaults to 1');
    // Options reach the loss: τ and confidence for pointwise, the softmax target for listnet.
    const opts = { temperature: 3, confidence: { edges: [0.5], weights: [0.2, 1] } };
    assert.equal(L.createDistillation({ type: 'pointwise', ...opts }).loss(z(), teacher, batch).item(),
      L.pointwiseKd(z(), teacher, batch, opts).item());
    assert.equal(L.createDistillation({ type: 'listnet', target: 'softmax', lists: 'batch' }).loss(z(), teacher, batch).item(),
      L.listNetKd(z(), teacher, batch, { teacher: 'softmax', lists: 'batch' }).item());
    endStep();
  });

  it('ramps β in after a BCE-only warm-up, computing nothing while the weight is 0', () => {
    const d = L.createDistillation({ type: 'listnet', beta: 2, curriculum: { warmupSteps: 10, rampSteps: 20 } });
    assert.deepEqual([0, 9, 10, 20, 30, 100].map((s) => d.weight(s)), [0, 0, 0, 1, 2, 2]);
    assert.throws(() => d.weight(), /distill 'listnet' has a curriculum: pass the optimiser step/);
    // Without lists the term would throw; during the warm-up it is never evaluated.
    const noLists = { labels: batch.labels };
    const bce = L.weightedBce(z(), noLists).item();
    const s = z();
    assertNear(L.combineLosses([{ loss: L.weightedBce(s, noLists), weight: 1 }, d.term(s, teacher, noLists, 5)]).item(), bce, 1e-7);
    assert.throws(() => L.combineLosses([{ loss: L.weightedBce(s, noLists), weight: 1 }, d.term(s, teacher, noLists, 15)]),
      /listNetKd: scope 'group' needs batch.groupOffsets/);
    endStep();
  });

  it('reports every config problem by field', () => {
    const bad = (cfg: unknown, ...patterns: RegExp[]): void => {
      assert.throws(() => L.createDistillation(cfg), (e: unknown) => {
        assert.ok(e instanceof L.LossConfigError, String(e));
        assert.match(e.message, /^invalid distill config/);
        for (const p of patterns) assert.match(e.message, p);
        return true;
      });
    };
    bad({ type: 'kl' }, /type: type must be one of 'pointwise', 'clid', 'listnet', 'listmle'/);
    bad({ type: 'clid', beta: -1, temperature: 2 }, /beta: beta must be ≥ 0/, /temperature: temperature applies to type 'pointwise' only, not 'clid'/);
    bad({ type: 'listnet', confidence: { edges: [0.5], weights: [1, 1] } }, /confidence: confidence applies to type 'pointwise' only/);
    bad({ type: 'pointwise', lists: 'group', target: 'softmax' }, /lists: lists applies to type 'clid' \/ 'listnet' \/ 'listmle' only/,
      /target: target applies to type 'listnet' only/);
    bad({ type: 'pointwise', temperature: 0, confidence: { edges: [0.6, 0.2], weights: [1, 1, 1] } }, /temperature: temperature must be > 0/,
      /confidence: edges must increase, but edges\[1\] = 0.2 follows 0.6/);
    bad({ type: 'pointwise', confidence: { edges: [1.5], weights: [1] } }, /confidence: 1 edges make 2 buckets/);
    bad({ type: 'clid', curriculum: { warmupSteps: 2 } }, /curriculum.rampSteps/);
    bad({ type: 'clid', alpha: 0.5 }, /alpha: not a setting of distill type "clid"/);
  });
});
