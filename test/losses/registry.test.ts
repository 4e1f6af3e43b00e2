/** Curriculum ramp values and the zod-validated loss registry. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { endStep } from '../../src/autograd/tape.js';
import * as L from '../../src/losses/index.js';
import { assertNear, f32 } from '../helpers/close.js';

describe('curriculum', () => {
  it('is 0 during warm-up, then rises linearly to the target', () => {
    const cfg = { warmupSteps: 10, rampSteps: 20 };
    const at = (s: number): number => L.curriculumFactor(s, cfg);
    assert.deepEqual([0, 9, 10, 15, 20, 30, 31, 1000].map(at), [0, 0, 0, 0.25, 0.5, 1, 1, 1]);
    // α = 0.4: aux target 0.6; BCE takes the rest so the weights always sum to 1
    assert.deepEqual(L.curriculumWeights(0, 0.4, cfg), { main: 1, aux: 0 });
    const mid = L.curriculumWeights(20, 0.4, cfg); // r = 0.5 → aux 0.3
    assertNear(mid.aux, 0.3);
    assertNear(mid.main, 0.7);
    const end = L.curriculumWeights(30, 0.4, cfg);
    assertNear(end.aux, 0.6);
    assertNear(end.main, 0.4);
    assert.deepEqual(L.curriculumWeights(5, 0.4), { main: 0.4, aux: 0.6 }, 'no curriculum = target weights');
  });

  it('rampSteps = 0 switches at the end of warm-up; bad configs are refused', () => {
    assert.deepEqual([0, 4, 5, 6].map((s) => L.curriculumFactor(s, { warmupSteps: 5, rampSteps: 0 })), [0, 0, 1, 1]);
    assert.deepEqual([0, 1, 2].map((s) => L.curriculumFactor(s, { rampSteps: 2 })), [0, 0.5, 1]);
    assert.throws(() => L.curriculumFactor(0, { rampSteps: -1 }), /rampSteps must be an integer ≥ 0/);
  });
});

describe('createLoss', () => {
  const z = (): Tensor => new Tensor(f32([2, 0, 1, -1]), [4], true);
  const batch = { labels: f32([1, 0, 1, 0]) };

  it('builds every type', () => {
    const h = new Tensor(f32([1, 0, 0, 1, 1, 1, 0.5, 0]), [4, 2], true);
    for (const type of L.LOSS_TYPES) {
      const loss = L.createLoss({ type });
      const logits = type === 'jrc' ? new Tensor(f32([0, 1, 1, 0, 0.5, 0.5, 2, -1]), [4, 2], true) : z();
      const v = loss(logits, batch, { representation: h }).item();
      assert.ok(Number.isFinite(v) && v > 0, `${type}: ${v}`);
      endStep();
    }
  });

  it('uses β_pos, γ and α, and is plain BCE during a curriculum warm-up', () => {
    const bce = L.weightedBce(z(), batch, { betaPos: 0.5 }).item();
    const rank = L.rankNet(z(), batch).item();
    endStep();
    const cp = L.createLoss({ type: 'combined-pair', alpha: 0.7, betaPos: 0.5, pairs: 'batch' });
    assertNear(cp(z(), batch).item(), 0.7 * bce + 0.3 * rank, 1e-6, 1e-5);
    assert.deepEqual(cp.weights(), { main: 0.7, aux: 0.30000000000000004 });
    endStep();
    assertNear(L.createLoss({ type: 'focal', gamma: 1 })(z(), batch).item(), L.focal(z(), batch, { gamma: 1 }).item(), 1e-7);
    endStep();
    const cur = L.createLoss({ type: 'combined-pair', alpha: 0.7, betaPos: 0.5, curriculum: { warmupSteps: 3, rampSteps: 10 } });
    assertNear(cur(z(), batch, { step: 2 }).item(), bce, 1e-6, 1e-5);
    assertNear(cur(z(), batch, { step: 100 }).item(), 0.7 * bce + 0.3 * rank, 1e-6, 1e-5);
    endStep();
    assert.throws(() => cur(z(), batch), /has a curriculum: pass ctx.step/);
    assert.throws(() => L.createLoss({ type: 'contrastive' })(z(), batch), /ctx.representation/);
    endStep();
  });

  it('reports every config problem by field', () => {
    const bad = (cfg: unknown, ...patterns: RegExp[]): void => {
      assert.throws(() => L.createLoss(cfg), (e: unknown) => {
        assert.ok(e instanceof L.LossConfigError, String(e));
        for (const p of patterns) assert.match(e.message, p);
        return true;
      });
    };
    bad({ type: 'hinge' }, /type: type must be one of 'bce', 'focal'/);
    bad({ type: 'combined-pair', alpha: 1.5, pairs: 'list' }, /alpha: alpha must be in \[0, 1\]/, /pairs: pairs must be 'batch' or 'group'/);
    bad({ type: 'combined-list', gamma: 2, pairs: 'batch' }, /gamma: gamma applies to type 'focal' only/, /pairs: pairs applies to type 'combined-pair' only/);
    bad({ type: 'bce', alpha: 0.5, curriculum: { rampSteps: 5 } }, /alpha: alpha needs an auxiliary loss/, /curriculum: curriculum needs/);
    bad({ type: 'rcr', curriculum: { warmupSteps: 1.5 } }, /curriculum.warmupSteps: .*whole number/, /curriculum.rampSteps/);
    bad({ type: 'bce', betaPos: 0 }, /betaPos: betaPos must be > 0/);
    bad({ type: 'bce', lr: 1 }, /lr|Unrecognized key/);
    bad('bce', /config/);
  });
});

describe('BCE-family losses and labels outside [0, 1]', () => {
  it('refuse a graded label, naming the loss and the value; ranking terms still take grades', () => {
    const batch = { labels: f32([0, 2, 1, 0.5]) };
    const z = (shape = [4]): Tensor => new Tensor(f32(Array(shape.reduce((a, b) => a * b, 1)).fill(0.1)), shape, true);
    assert.throws(() => L.weightedBce(z(), batch), /^Error: weightedBce: label 2 \(row 1 of the batch\) is outside \[0, 1\]/);
    assert.throws(() => L.focal(z(), batch), /focal: label 2 \(row 1/);
    assert.throws(() => L.jrcCalibration(z([4, 2]), batch), /jrc: label 2 \(row 1/);
    assert.throws(() => L.createLoss({ type: 'combined-list' })(z(), batch), /weightedBce: label 2/);
    endStep();
    // α = 0: no BCE term is evaluated, so graded relevance is fine (MQ2008).
    assert.ok(Number.isFinite(L.createLoss({ type: 'combined-list', alpha: 0 })(z(), batch).item()));
    // Soft labels in [0, 1] stay allowed (distillation targets, label smoothing).
    assert.ok(Number.isFinite(L.weightedBce(z(), { labels: f32([0, 0.3, 1, 0.5]) }).item()));
    endStep();
  });
});

describe('declared loss traits match what the losses compute', () => {
  // Two lists of 3 rows; the same rows as one list when groupOffsets is absent.
  const labels = f32([1, 0, 0, 0, 1, 1]);
  const groupOffsets = Int32Array.of(0, 3, 6);
  const cases: { cfg: L.LossConfig['type'] | { type: 'combined-pair'; pairs: 'batch' | 'group' } }[] = [
    ...L.LOSS_TYPES.filter((t) => t !== 'contrastive' && t !== 'combined-pair').map((t) => ({ cfg: t })),
    { cfg: { type: 'combined-pair', pairs: 'group' } }, { cfg: { type: 'combined-pair', pairs: 'batch' } },
  ];
  for (const { cfg } of cases) {
    const c = typeof cfg === 'string' ? { type: cfg } : cfg;
    it(`${JSON.stringify(c)}: keepsListsWhole ⇔ the value depends on the lists; lossLogits is what it reads`, () => {
      const loss = L.createLoss(c);
      const k = L.lossLogits(c.type), n = k * labels.length;
      const z = () => new Tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(3 * i + 1) * 2), k === 1 ? [n] : [labels.length, k]);
      const inLists = loss(z(), { labels, groupOffsets }).item();
      // A loss that cannot run without lists (pairs within a group) depends on them too.
      let oneList: number | null = null;
      try {
        oneList = loss(z(), { labels }).item();
      } catch (e) {
        assert.match(String(e), /groupOffsets/);
      }
      endStep();
      assert.equal(inLists !== oneList, L.keepsListsWhole(c), `${inLists} vs ${oneList}`);
      if (L.lossLogits(c.type) === 2) assert.throws(() => loss(new Tensor(new Float32Array(labels.length), [labels.length]), { labels }));
    });
  }
  it('contrastive reads a representation; the others do not', () => {
    for (const t of L.LOSS_TYPES) assert.equal(L.needsRepresentation(t), t === 'contrastive', t);
  });
});
