/**
 * Bias constraints: the dual ascent moves λ the right way, the logit gradient has the written form,
 * and in a small training loop the constraint removes most of a slice's calibration bias that plain
 * BCE leaves in place.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BiasConstraint, pctrBuckets } from '../../src/calibrate/index.js';
import { calibrationBiasBySlice, probabilitiesFromLogits } from '../../src/metrics/index.js';
import { bceWithLogits } from '../../src/autograd/ops/loss.js';
import { add } from '../../src/autograd/ops/elementwise.js';
import { backward, endStep, noGrad } from '../../src/autograd/tape.js';
import { Parameter } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/random.js';
import { LR } from '../../src/models/lr.js';
import { SGD } from '../../src/optim/sgd.js';
import { trainStep } from '../../src/train/step.js';
import type { Batch } from '../../src/data/batch.js';

const near = (a: number, e: number, tol = 1e-6): void => assert.ok(Math.abs(a - e) < tol, `got ${a}, expected ${e}`);
const logit = (p: number): number => Math.log(p / (1 - p));

describe('BiasConstraint step by step', () => {
  // slice 0: p 0.2, y 1 (under-predicted); slice 1: p 0.9, y 0 (over-predicted); N = 2, lr_λ = 1, α₃ = 1
  const z = [logit(0.2), logit(0.9)], y = [1, 0], s = [0, 1];

  it('λ rises on an under-predicted slice and falls on an over-predicted one', () => {
    const bc = new BiasConstraint({ numSlices: 3, lambdaLr: 1, alpha3: 1 });
    const r1 = bc.update(z, y, s);
    // λ = 0 before the step: term and gradient are 0; ascent λ_k += (Σ(y − p) − α₃ λ W_k)/N
    near(r1.term, 0);
    near(r1.gradLogits[0]!, 0);
    near(r1.gradLogits[1]!, 0);
    near(bc.lambda[0]!, 0.8 / 2); // +0.4
    near(bc.lambda[1]!, -0.9 / 2); // −0.45
    assert.equal(bc.lambda[2], 0); // slice absent from the batch: untouched
    near(r1.sliceGap[0]!, 0.8);
    assert.ok(Number.isNaN(r1.sliceGap[2]!));

    const r2 = bc.update(z, y, s);
    // ∂R/∂z_i = −λ_k p(1 − p)/N: −0.4·0.16/2 = −0.032 (descent raises z), +0.45·0.09/2 = 0.02025 (lowers z)
    near(r2.gradLogits[0]!, -0.032);
    near(r2.gradLogits[1]!, 0.02025);
    // R = [0.4·0.8 − ½·0.4² + (−0.45)(−0.9) − ½·0.45²] / 2 = (0.32 − 0.08 + 0.405 − 0.10125)/2
    near(r2.term, 0.54375 / 2);
    // λ0 = 0.4 + (0.8 − 0.4)/2 = 0.6, λ1 = −0.45 + (−0.9 + 0.45)/2 = −0.675; fixed points ±gap/α₃ = 0.8, −0.9
    near(bc.lambda[0]!, 0.6);
    near(bc.lambda[1]!, -0.675);
    for (let i = 0; i < 200; i++) bc.update(z, y, s);
    near(bc.lambda[0]!, 0.8);
    near(bc.lambda[1]!, -0.9);
  });

  it('ramp: λ frozen before rampStart, then ρ = clamp((step − start)/steps, 0, 1) scales the model-side term', () => {
    const bc = new BiasConstraint({ numSlices: 2, lambdaLr: 1, rampStart: 2, rampSteps: 4 });
    const rho: number[] = [];
    rho.push(bc.update(z, y, s).ramp, bc.update(z, y, s).ramp);
    assert.deepEqual(Array.from(bc.lambda), [0, 0]);
    for (let i = 0; i < 6; i++) rho.push(bc.update(z, y, s).ramp);
    assert.deepEqual(rho, [0, 0, 0, 0.25, 0.5, 0.75, 1, 1]);
    // λ ascends at full rate during the ramp: after 6 ascents it is near +0.8 / −0.9
    assert.ok(bc.lambda[0]! > 0.7 && bc.lambda[1]! < -0.8);
  });

  it('the autograd term backpropagates exactly gradLogits', () => {
    const a = new BiasConstraint({ numSlices: 2, lambdaLr: 1 });
    const b = new BiasConstraint({ numSlices: 2, lambdaLr: 1 });
    a.update(z, y, s); b.update(z, y, s);
    const expected = a.update(z, y, s);
    const p = new Parameter('z', Float32Array.from(z), [2]);
    const t = b.term(p, y, s);
    near(t.item(), expected.term, 1e-6);
    backward(t);
    near(p.grad[0]!, expected.gradLogits[0]!, 1e-7);
    near(p.grad[1]!, expected.gradLogits[1]!, 1e-7);
    endStep();
    // same ascent (the Parameter holds float32 logits, hence the tolerance)
    near(b.lambda[0]!, a.lambda[0]!, 1e-7);
    near(b.lambda[1]!, a.lambda[1]!, 1e-7);
  });

  it('state round trip; bad input names the index', () => {
    const bc = new BiasConstraint({ numSlices: 2, lambdaLr: 1 });
    bc.update(z, y, s);
    const c = new BiasConstraint({ numSlices: 2, lambdaLr: 1 });
    c.loadState(bc.state());
    assert.deepEqual(Array.from(c.lambda), Array.from(bc.lambda));
    assert.equal(c.step, 1);
    assert.throws(() => bc.update(z, y, [0, 2]), /slice id at index 1 is 2/);
    assert.throws(() => bc.update([0, NaN], y, s), /logit at index 1/);
    assert.throws(() => new BiasConstraint({ numSlices: 2, lambdaLr: 1, alpha3: 0 }), /alpha3/);
  });

  it('pctrBuckets: [edges[k−1], edges[k])', () => {
    assert.deepEqual(Array.from(pctrBuckets([0.001, 0.01, 0.05, 0.2, 0.9], [0.01, 0.1])), [0, 1, 1, 2, 2]);
  });
});

describe('BiasConstraint in a training loop', () => {
  /**
   * 10 ads; a hidden binary treatment c (say, a top slot) raises the true CTR: p = σ(θ_ad + 1.5c − 1).
   * Ads 0–4 get c = 1 for 80% of their rows, ads 5–9 for 20%. The LR model sees only the ad, so BCE
   * fits each ad's average and under-predicts slice c = 1 (over-predicts c = 0). The constraint over
   * slices c trades per-ad fit for per-slice calibration.
   */
  function data(): { batch: Batch; slices: Int32Array } {
    const rng = new Rng(11);
    const n = 4000;
    const ids = new Int32Array(n), labels = new Float32Array(n), slices = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const ad = i % 10;
      const c = rng.uniform() < (ad < 5 ? 0.8 : 0.2) ? 1 : 0;
      const p = 1 / (1 + Math.exp(-(-1 + 0.1 * ad + 1.5 * c - 1)));
      ids[i] = ad; slices[i] = c; labels[i] = rng.uniform() < p ? 1 : 0;
    }
    return { batch: { size: n, numFields: 1, ids, labels }, slices };
  }

  function train(withConstraint: boolean): { bias: number; lambda: number } {
    const { batch, slices } = data();
    const model = new LR({ numIds: 10, seed: 1 });
    const opt = new SGD([{ params: model.parameters(), tables: model.tables() }], { lr: 2 });
    const bc = new BiasConstraint({ numSlices: 2, lambdaLr: 0.5, alpha3: 0.02, rampSteps: 50 });
    for (let step = 0; step < 400; step++) {
      trainStep(opt, () => {
        const z = model.forward(batch);
        const bce = bceWithLogits(z, batch.labels);
        return withConstraint ? add(bce, bc.term(z, batch.labels, slices)) : bce;
      });
    }
    const z = noGrad(() => Float32Array.from(model.forward(batch).data));
    endStep();
    const probs = probabilitiesFromLogits(z);
    const per = calibrationBiasBySlice(probs, batch.labels, slices);
    return { bias: per.find((b) => b.slice === 1)!.meanBias!, lambda: bc.lambda[1]! };
  }

  it('BCE alone under-predicts the treated slice; the constraint removes most of that bias', () => {
    const plain = train(false);
    const constrained = train(true);
    assert.ok(plain.bias < -0.05, `plain BCE should under-predict slice 1, mean bias ${plain.bias}`);
    assert.ok(constrained.lambda > 0, `λ for the under-predicted slice should be positive, got ${constrained.lambda}`);
    // observed: −0.092 → −0.019
    assert.ok(Math.abs(constrained.bias) < 0.4 * Math.abs(plain.bias),
      `slice bias ${plain.bias} (BCE) → ${constrained.bias} (constrained)`);
  });
});
