/**
 * Every loss's gradient from the autograd tape, on every backend, against central differences
 * of the independent float64 implementation in reference.ts (which is also compared in value).
 */
import { describe } from 'node:test';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/random.js';
import { backward, endStep } from '../../src/autograd/tape.js';
import * as L from '../../src/losses/index.js';
import { assertGradcheck } from '../helpers/gradcheck.js';
import { assertNear, f32, i32 } from '../helpers/close.js';
import { stepTest, testBackends } from '../helpers/backends.js';
import * as R from './reference.js';

const rng = new Rng(7);

/** Analytical gradient of loss(z) vs numeric gradient of ref at the same (float32-rounded) point. */
function check(label: string, shape: number[], loss: (z: Tensor) => Tensor, ref: (z: Float64Array) => number, scale = 2): void {
  const n = shape.reduce((a, b) => a * b, 1);
  const z = new Tensor(Float32Array.from({ length: n }, () => (rng.uniform() * 2 - 1) * scale), shape, true);
  const x = Float64Array.from(z.data);
  const l = loss(z);
  const value = l.item();
  backward(l);
  const g = Float64Array.from(z.grad ?? new Float32Array(n));
  endStep();
  assertNear(value, ref(x), 1e-4, 1e-4, `${label} value`);
  assertGradcheck(([v]) => ref(v!), [x], [g], { eps: 1e-5, atol: 2e-4, rtol: 2e-3 }, label);
}

const labels = f32([1, 0, 0, 1, 0, 0, 0, 1, 0, 0]);
const groups = i32([0, 4, 4, 7, 10]); // lists: mixed, empty, all-negative, mixed
const graded = f32([2, 0, 1, 1, 0, 3, 0, 1, 2, 0]);

for (const k of testBackends()) {
  describe(`loss gradients vs float64 finite differences (${k.name} backend)`, () => {
    const t = stepTest(k);

    t('weighted BCE (β_pos and sample weights)', () => {
      const w = f32([1, 2, 0.5, 1, 1, 3, 1, 1, 1, 0.25]);
      const bw = Array.from(w, (v, i) => v * (labels[i]! ? 0.3 : 1));
      check('bce', [10], (z) => L.weightedBce(z, { labels, weights: w }, { betaPos: 0.3 }), (z) => R.bce64(z, labels, bw), 4);
    });

    t('focal', () => {
      for (const gamma of [0, 1, 2.5]) check(`focal γ=${gamma}`, [10], (z) => L.focal(z, { labels }, { gamma }), (z) => R.focal64(z, labels, gamma), 3);
    });

    t('RankNet over the batch, within groups, graded labels', () => {
      check('rankNet batch', [10], (z) => L.rankNet(z, { labels, groupOffsets: groups }, { pairs: 'batch' }), (z) => R.rankNet64(z, labels));
      check('rankNet group', [10], (z) => L.rankNet(z, { labels, groupOffsets: groups }, { pairs: 'group' }), (z) => R.rankNet64(z, labels, groups));
      check('rankNet graded', [10], (z) => L.rankNet(z, { labels: graded, groupOffsets: groups }), (z) => R.rankNet64(z, graded, groups));
    });

    t('ListNet and RCR (binary and graded, with empty and positive-free lists)', () => {
      for (const y of [labels, graded]) {
        check('listNet', [10], (z) => L.listNet(z, { labels: y, groupOffsets: groups }), (z) => R.listNet64(z, y, groups));
        check('listNet batch', [10], (z) => L.listNet(z, { labels: y }), (z) => R.listNet64(z, y));
        check('rcr', [10], (z) => L.rcr(z, { labels: y, groupOffsets: groups }), (z) => R.rcr64(z, y, groups), 3);
      }
    });

    t('ListMLE by label and by teacher', () => {
      const teacher = Array.from({ length: 10 }, () => rng.uniform());
      check('listMle labels', [10], (z) => L.listMle(z, { labels: graded, groupOffsets: groups }), (z) => R.listMle64(z, graded, groups));
      check('listMle teacher', [10], (z) => L.listMle(z, { labels, groupOffsets: groups }, { teacher }), (z) => R.listMle64(z, teacher, groups));
    });

    t('JRC ([N, 2] logits, lists incl. single-class)', () => {
      check('jrc', [10, 2], (z) => L.jrc(z, { labels, groupOffsets: groups }, { alpha: 0.4 }), (z) => R.jrc64(z, labels, 0.4, groups));
      check('jrc batch', [10, 2], (z) => L.jrc(z, { labels }, { alpha: 0.7 }), (z) => R.jrc64(z, labels, 0.7));
    });

    t('contrastive on representations [N, d]', () => {
      check('contrastive', [10, 3], (h) => L.contrastive(h, { labels }, { temperature: 0.5 }), (h) => R.contrastive64(h, labels, 3, 0.5), 1);
    });

    t('distillation: pointwise KD (τ, sample and confidence weights), CLID, ListNet-KD, ListMLE-KD', () => {
      const zt = Float32Array.from({ length: 10 }, () => (rng.uniform() * 2 - 1) * 3);
      const batch = { labels, groupOffsets: groups };
      const w = f32([1, 2, 0.5, 1, 1, 3, 1, 1, 1, 0.25]);
      const confidence = { edges: [0.3, 0.6], weights: [0.25, 0.5, 1] };
      const c = Array.from(zt, (v) => { const p = R.sig(v); return p < 0.3 ? 0.25 : p < 0.6 ? 0.5 : 1; });
      for (const tau of [1, 2.5]) {
        check(`pointwiseKd τ=${tau}`, [10], (z) => L.pointwiseKd(z, zt, batch, { temperature: tau }), (z) => R.pointwiseKd64(z, zt, tau), 3);
        check(`pointwiseKd τ=${tau} weighted`, [10], (z) => L.pointwiseKd(z, zt, { labels, weights: w }, { temperature: tau, confidence }),
          (z) => R.pointwiseKd64(z, zt, tau, w, c), 3);
      }
      check('clid', [10], (z) => L.clid(z, zt, batch), (z) => R.clid64(z, zt, groups), 3);
      check('clid batch', [10], (z) => L.clid(z, zt, batch, { lists: 'batch' }), (z) => R.clid64(z, zt), 3);
      check('listNetKd', [10], (z) => L.listNetKd(z, zt, batch), (z) => R.listNetKd64(z, zt, groups));
      check('listNetKd softmax', [10], (z) => L.listNetKd(z, zt, batch, { teacher: 'softmax' }), (z) => R.listNetKd64(z, zt, groups, 'softmax'));
      check('listMleKd', [10], (z) => L.listMleKd(z, zt, batch), (z) => R.listMle64(z, zt, groups));
      // Teacher logits of a list at −40: σ(−40) ≈ 4e-18, a distribution only in log space.
      const far = Float32Array.from(zt, (v, i) => (i >= 7 ? v - 40 : v));
      check('clid far-negative teacher', [10], (z) => L.clid(z, far, batch), (z) => R.clid64(z, far, groups), 3);
    });

    t('distillation config: β and a curriculum mid-ramp', () => {
      const zt = Float32Array.from({ length: 10 }, () => rng.uniform() * 4 - 2);
      const d = L.createDistillation({ type: 'clid', beta: 2, curriculum: { warmupSteps: 2, rampSteps: 4 } });
      const batch = { labels, groupOffsets: groups };
      // step 5: r = (5−2)/4 = 0.75 → BCE + 1.5·CLID
      check('bce + distill @ step 5', [10], (z) => L.combineLosses([{ loss: () => L.weightedBce(z, batch), weight: 1 }, d.term(z, zt, batch, 5)]),
        (z) => R.bce64(z, labels) + 1.5 * R.clid64(z, zt, groups), 3);
    });

    t('registry losses with a curriculum mid-ramp', () => {
      const loss = L.createLoss({ type: 'combined-list', alpha: 0.2, curriculum: { warmupSteps: 2, rampSteps: 4 } });
      // step 4: aux = (4−2)/4 · 0.8 = 0.4, main = 0.6
      check('combined-list @ step 4', [10], (z) => loss(z, { labels, groupOffsets: groups }, { step: 4 }),
        (z) => 0.6 * R.bce64(z, labels) + 0.4 * R.listNet64(z, labels, groups));
    });
  });
}
