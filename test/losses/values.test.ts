/**
 * Each loss on a tiny batch against arithmetic written out by hand, on every backend, plus the
 * degenerate cases: a list with one class only adds exactly 0 (never NaN).
 */
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { backward, endStep } from '../../src/autograd/tape.js';
import { softmax } from '../../src/autograd/ops/softmax.js';
import * as L from '../../src/losses/index.js';
import { assertClose, assertNear, f32, i32 } from '../helpers/close.js';
import { stepTest, testBackends } from '../helpers/backends.js';

const sp = (v: number): number => Math.log1p(Math.exp(v)); // softplus; −log σ(x) = sp(−x)
const zt = (xs: number[], shape?: number[]): Tensor => new Tensor(f32(xs), shape ?? [xs.length], true);

/** Value of a loss, and its gradient (null when backward never reached z). */
function run(loss: Tensor, z: Tensor): { value: number; grad: Float32Array | null } {
  const value = loss.item();
  backward(loss);
  const grad = z.grad ? Float32Array.from(z.grad) : null;
  endStep();
  return { value, grad };
}

function assertZeroLoss(loss: Tensor, z: Tensor, label: string): void {
  const r = run(loss, z);
  assert.equal(r.value, 0, `${label}: value`);
  if (r.grad) for (const g of r.grad) assert.equal(g, 0, `${label}: gradient`);
}

for (const k of testBackends()) {
  describe(`losses by hand (${k.name} backend)`, () => {
    const t = stepTest(k);

    t('weighted BCE with β_pos = 0.5 folded into the weights', () => {
      // z = [1, −1, 2], y = [1, 0, 0], w = [0.5, 1, 1]:
      // (0.5·sp(−1) + 1·sp(−1) + 1·sp(2)) / 2.5
      const z = zt([1, -1, 2]);
      const v = L.weightedBce(z, { labels: f32([1, 0, 0]) }, { betaPos: 0.5 }).item();
      assertNear(v, (0.5 * sp(-1) + sp(-1) + sp(2)) / 2.5, 1e-6, 1e-5);
      endStep();
      // β_pos multiplies existing weights: w = [2, 3, 1] → [1, 3, 1].
      const v2 = L.weightedBce(z, { labels: f32([1, 0, 0]), weights: f32([2, 3, 1]) }, { betaPos: 0.5 }).item();
      assertNear(v2, (1 * sp(-1) + 3 * sp(-1) + 1 * sp(2)) / 5, 1e-6, 1e-5);
      endStep();
    });

    t('focal, γ = 2', () => {
      // z = [0, ln 3] → p = [1/2, 3/4], y = [1, 0]:
      // [(1 − 1/2)²·(−ln ½) + (3/4)²·(−ln ¼)] / 2 = [¼ ln 2 + (9/16)·2 ln 2] / 2 = 1.375 ln 2 / 2
      const v = L.focal(zt([0, Math.log(3)]), { labels: f32([1, 0]) }, { gamma: 2 }).item();
      assertNear(v, (1.375 * Math.LN2) / 2, 1e-5, 1e-4);
      endStep();
      // γ = 0 is plain BCE.
      const b = L.focal(zt([0.3, -1.2]), { labels: f32([1, 0]) }, { gamma: 0 }).item();
      assertNear(b, (sp(-0.3) + sp(-1.2)) / 2, 1e-5, 1e-4);
      endStep();
    });

    t('RankNet, 2 positives × 2 negatives over the batch', () => {
      // z = [2, 0, 1, −1], y = [1, 0, 1, 0]; pairs (pos, neg) and margins z_i − z_j:
      // (0,1): 2, (0,3): 3, (2,1): 1, (2,3): 2 → L = [2·sp(−2) + sp(−3) + sp(−1)] / 4
      const z = zt([2, 0, 1, -1]);
      const r = run(L.rankNet(z, { labels: f32([1, 0, 1, 0]) }, { pairs: 'batch' }), z);
      assertNear(r.value, (2 * sp(-2) + sp(-3) + sp(-1)) / 4, 1e-6, 1e-5);
      // dL/dz_0 = −[σ(−2) + σ(−3)] / 4 (σ(−m) = 1 − σ(m) is each pair's push)
      const s = (v: number): number => 1 / (1 + Math.exp(-v));
      assertNear(r.grad![0]!, -(s(-2) + s(-3)) / 4, 1e-6, 1e-4);
    });

    t('RankNet within groups: a one-class group adds 0 and does not count in the mean', () => {
      // groups [0,2) y = [1,0] and [2,4) y = [0,0]: L = sp(−(z_0 − z_1)) from the first only
      const z = zt([0.5, 1.5, 3, -2]);
      const v = run(L.rankNet(z, { labels: f32([1, 0, 0, 0]), groupOffsets: i32([0, 2, 4]) }, { pairs: 'group' }), z).value;
      assertNear(v, sp(1), 1e-6, 1e-5);
      // graded labels: y = [2, 1, 0] → pairs (0,1), (0,2), (1,2)
      const g = zt([1, 0, 0.5]);
      const vg = run(L.rankNet(g, { labels: f32([2, 1, 0]) }), g).value;
      assertNear(vg, (sp(-1) + sp(-0.5) + sp(0.5)) / 3, 1e-6, 1e-5);
    });

    t('RankNet / ListNet / RCR / JRC: single-class batches and lists give 0, not NaN', () => {
      let z = zt([1, 2, 3]);
      assertZeroLoss(L.rankNet(z, { labels: f32([1, 1, 1]) }), z, 'rankNet all positive');
      z = zt([1, 2, 3]);
      assertZeroLoss(L.rankNet(z, { labels: f32([0, 0, 0]), groupOffsets: i32([0, 1, 3]) }), z, 'rankNet groups');
      z = zt([1, 2, 3]);
      assertZeroLoss(L.listNet(z, { labels: f32([0, 0, 0]) }), z, 'listNet no positive');
      z = zt([1, 2, 3]);
      assertZeroLoss(L.rcr(z, { labels: f32([0, 0, 0]), groupOffsets: i32([0, 2, 2, 3]) }), z, 'rcr no positive (with an empty list)');
      z = zt([1, 2, 3, 4], [2, 2]);
      assertZeroLoss(L.jrcRanking(z, { labels: f32([1, 1]) }), z, 'jrc ranking all positive');
      z = zt([1, 2, 3, 4], [2, 2]);
      assertZeroLoss(L.jrcRanking(z, { labels: f32([0, 1]), groupOffsets: i32([0, 1, 2]) }), z, 'jrc one-item lists');
      z = zt([1, 2, 3]);
      assertZeroLoss(L.listMle(z, { labels: f32([1, 1, 1]) }), z, 'listMle all ties');
      // A combined loss over such a batch is just its BCE part and stays finite.
      z = zt([1, -2, 3]);
      const c = L.combineAlpha(L.weightedBce(z, { labels: f32([0, 0, 0]) }), L.rankNet(z, { labels: f32([0, 0, 0]) }), 0.3).item();
      assertNear(c, (0.3 * (sp(1) + sp(-2) + sp(3))) / 3, 1e-6, 1e-5);
      endStep();
    });

    t('ListNet: −Σ (y/Σy) log softmax(z) per list, lists without positives skipped', () => {
      // list 1: z = [1, 0, 0], y = [1, 0, 1] → log softmax = [1 − ln(e+2), −ln(e+2), −ln(e+2)]
      //   L₁ = −½(1 − ln(e+2)) − ½(−ln(e+2)) = ln(e+2) − ½;  list 2: y = [0, 0] → skipped
      const z = zt([1, 0, 0, 5, -5]);
      const v = run(L.listNet(z, { labels: f32([1, 0, 1, 0, 0]), groupOffsets: i32([0, 3, 5]) }), z).value;
      assertNear(v, Math.log(Math.E + 2) - 0.5, 1e-6, 1e-5);
    });

    t('RCR: cross-entropy on σ(z_i)/Σσ(z_j)', () => {
      // z = [0, 0, ln 3] → σ = [½, ½, ¾], Σσ = 7/4; y = [1, 0, 0] → L = −ln(½ / (7/4)) = ln 3.5
      const z = zt([0, 0, Math.log(3)]);
      assertNear(run(L.rcr(z, { labels: f32([1, 0, 0]) }), z).value, Math.log(3.5), 1e-6, 1e-5);
    });

    t('ListMLE by label, with ties, and by teacher order', () => {
      // z = [1, 2, 0], y = [2, 0, 1] → π = (0, 2, 1):
      // L = −[1 − ln(e¹+e⁰+e²)] − [0 − ln(e⁰+e²)] − [2 − ln e²] = ln(e+1+e²) − 1 + ln(1+e²)
      const e = Math.E;
      let z = zt([1, 2, 0]);
      assertNear(run(L.listMle(z, { labels: f32([2, 0, 1]) }), z).value, Math.log(e + 1 + e * e) - 1 + Math.log(1 + e * e), 1e-6, 1e-5);
      // ties y = [1, 1, 0]: each positive competes with itself and the negative only:
      // −[1 − ln(e¹+e⁰)] − [2 − ln(e²+e⁰)] = ln(e+1) − 1 + ln(e²+1) − 2, whatever the row order
      z = zt([1, 2, 0]);
      assertNear(run(L.listMle(z, { labels: f32([1, 1, 0]) }), z).value, Math.log(e + 1) - 1 + Math.log(e * e + 1) - 2, 1e-6, 1e-5);
      z = zt([2, 1, 0]);
      assertNear(run(L.listMle(z, { labels: f32([1, 1, 0]) }), z).value, Math.log(e * e + 1) - 2 + Math.log(e + 1) - 1, 1e-6, 1e-5);
      // teacher = [0.1, 0.9, 0.5] → π = (1, 2, 0): −[2 − ln(e²+1+e)] − [0 − ln(1+e)]
      z = zt([1, 2, 0]);
      const v = run(L.listMle(z, { labels: f32([0, 0, 1]) }, { teacher: [0.1, 0.9, 0.5] }), z).value;
      assertNear(v, Math.log(e * e + 1 + e) - 2 + Math.log(1 + e), 1e-6, 1e-5);
    });

    t('JRC: calibration on softmax(z)₁, ranking per label column; probability = softmax₁', () => {
      // z = [[0.5, 2], [1, 0]], y = [1, 0], one list, α = 0.3
      // calib: logits z¹ − z⁰ = [1.5, −1] → (sp(−1.5) + sp(−1)) / 2
      // rank: item 0 (y=1) over column 1 [2, 0] → −ln(e²/(e²+1)) = sp(−2);
      //       item 1 (y=0) over column 0 [0.5, 1] → −ln(e/(e^0.5+e)) = sp(−0.5); mean of the two
      const z = zt([0.5, 2, 1, 0], [2, 2]);
      const want = 0.3 * ((sp(-1.5) + sp(-1)) / 2) + 0.7 * ((sp(-2) + sp(-0.5)) / 2);
      assertNear(run(L.jrc(z, { labels: f32([1, 0]) }, { alpha: 0.3 }), z).value, want, 1e-6, 1e-5);
      const zz = zt([0.5, 2, 1, 0, -3, 4], [3, 2]);
      const p = L.jrcProbability(zz);
      const sm = softmax(zz, -1);
      assertClose(p.data, [sm.data[1]!, sm.data[3]!, sm.data[5]!], 1e-6, 1e-5, 'jrcProbability');
      assert.deepEqual(p.shape, [3]);
      endStep();
    });

    t('contrastive: positives anchored, cosine similarities / τ', () => {
      // h = [[2,0],[0,3],[1,1]], y = [1,0,1], τ = 0.5 → u = [(1,0), (0,1), (1,1)/√2]
      // anchor 0: s₀₂ = (1/√2)/τ = √2, s₀₁ = 0 → −ln(e^√2 / (e^√2 + 1)) = sp(−√2)
      // anchor 2: s₂₀ = s₂₁ = √2 → −ln ½ = ln 2;   L = ½(sp(−√2) + ln 2)
      const h = zt([2, 0, 0, 3, 1, 1], [3, 2]);
      const v = run(L.contrastive(h, { labels: f32([1, 0, 1]) }, { temperature: 0.5 }), h).value;
      assertNear(v, 0.5 * (sp(-Math.SQRT2) + Math.LN2), 1e-5, 1e-4);
      const h1 = zt([2, 0, 0, 3, 1, 1], [3, 2]);
      assertZeroLoss(L.contrastive(h1, { labels: f32([1, 0, 0]) }), h1, 'contrastive one positive');
    });

    t('combined: α·BCE + (1−α)·aux and weighted lists', () => {
      const z = zt([2, 0, 1, -1]);
      const b = { labels: f32([1, 0, 1, 0]) };
      const bce = L.weightedBce(z, b).item();
      const rank = L.rankNet(z, b).item();
      endStep();
      assertNear(L.combineAlpha(L.weightedBce(z, b), L.rankNet(z, b), 0.3).item(), 0.3 * bce + 0.7 * rank, 1e-6, 1e-5);
      endStep();
      assertNear(L.createLoss({ type: 'combined-pair', alpha: 0.3 })(z, b).item(), 0.3 * bce + 0.7 * rank, 1e-6, 1e-5);
      endStep();
      const three = L.combineLosses([
        { loss: L.weightedBce(z, b), weight: 1 }, { loss: () => L.rankNet(z, b), weight: 0.25 }, { loss: () => { throw new Error('evaluated'); }, weight: 0 },
      ]).item();
      assertNear(three, bce + 0.25 * rank, 1e-6, 1e-5);
      endStep();
      // α = 1 never computes the ranking term; α = 0 never computes BCE.
      assertNear(L.combineAlpha(() => L.weightedBce(z, b), () => { throw new Error('evaluated'); }, 1).item(), bce, 1e-6, 1e-5);
      endStep();
    });
  });
}
