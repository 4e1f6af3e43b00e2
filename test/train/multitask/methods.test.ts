/**
 * Each multi-task method's arithmetic against a hand computation on small vectors, the
 * derivatives of the learned weights (uncertainty weighting, GradNorm) against float64 central
 * differences, determinism, and save/load round trips of every method's state.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../../src/tensor/tensor.js';
import { backward, endStep } from '../../../src/autograd/tape.js';
import type { GradientBlock } from '../../../src/autograd/taskGradients.js';
import { taskGradients } from '../../../src/autograd/taskGradients.js';
import { PCGrad } from '../../../src/train/multitask/pcgrad.js';
import { GradVac } from '../../../src/train/multitask/gradVac.js';
import { PeLtr, minNormWeights, projectOntoBoundedSimplex } from '../../../src/train/multitask/peLtr.js';
import { GradNorm, gradNormObjective, gradNormTargets, gradNormWeightGrad } from '../../../src/train/multitask/gradNorm.js';
import { UncertaintyWeighting, uncertaintyGrad, uncertaintyObjective } from '../../../src/train/multitask/uncertainty.js';
import { DynamicWeightAverage } from '../../../src/train/multitask/dwa.js';
import { taskOrders } from '../../../src/train/multitask/taskOrder.js';
import type { MultiTaskMethod } from '../../../src/train/multitask/method.js';
import { assertGradcheck } from '../../helpers/gradcheck.js';
import { TinyMultiTask, tinyBatch } from '../../helpers/tinyMultiTask.js';

const block = (name: string, ...grads: number[][]): GradientBlock => ({
  name, width: 1, grads: grads.map((g) => Float32Array.from(g)), tasks: grads.map((_, t) => t).filter((t) => grads[t]!.some((v) => v !== 0)),
});
const near = (actual: ArrayLike<number>, expected: readonly number[], tol = 1e-6, what = ''): void => {
  assert.equal(actual.length, expected.length, what);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i]! - e) <= tol * Math.max(1, Math.abs(e)), `${what}[${i}]: ${actual[i]} vs ${e}`));
};
const info = (step: number, losses: number[] = [1, 1]) => ({ step, losses });
const leaf = (v: number): Tensor => new Tensor(Float32Array.of(v), [1], true);

describe('PCGrad by hand', () => {
  it('projects conflicting gradients onto each other\'s normal plane and sums', () => {
    // g1·g2 = −1: g1 − (−1/2) g2 = [0.5, 0.5]; g2 − (−1/1) g1 = [0, 1]; sum [0.5, 1.5].
    const out = new PCGrad(2, 1, { split: 'none', chunkSize: 1 }).combine([block('w', [1, 0], [-1, 1])], info(0));
    near(out[0]!, [0.5, 1.5]);
  });
  it('logs the finished epoch\'s conflict rate', () => {
    const m = new PCGrad(2, 1, { split: 'none', chunkSize: 1 });
    m.combine([block('w', [1, 0], [-1, 1])], info(0)); // 2 tests, both conflict
    m.combine([block('w', [1, 0], [1, 1])], info(1)); // 2 tests, none
    m.endEpoch();
    assert.deepEqual(m.epochRecord(), { conflict_rate: 0.5 });
  });
  it('leaves agreeing gradients and task-specific blocks alone', () => {
    const tower = block('tower', [0, 3], [0, 0]);
    const out = new PCGrad(2, 1, { split: 'none', chunkSize: 1 }).combine([block('w', [1, 2], [2, 1]), tower], info(0));
    near(out[0]!, [3, 3]);
    assert.equal(out[1], tower.grads[0], 'task-specific block passes through');
  });
  it('split per tensor tests conflict per tensor', () => {
    // As one vector [1, 0 | 1, 0]·[-1, 1 | 2, 0] = 1 > 0: no projection. Per tensor: the first conflicts.
    // A method combines over the blocks' gradients: fresh blocks for every call.
    const blocks = (): GradientBlock[] => [block('u', [1, 0], [-1, 1]), block('v', [1, 0], [2, 0])];
    near(new PCGrad(2, 1, { split: 'none', chunkSize: 1 }).combine(blocks(), info(0))[0]!, [0, 1]);
    const perTensor = new PCGrad(2, 1, { split: 'tensor', chunkSize: 1 }).combine(blocks(), info(0));
    near(perTensor[0]!, [0.5, 1.5]);
    near(perTensor[1]!, [3, 0]);
    // Chunks of one float: [1]·[−1] conflicts → both projected to 0; [0]·[1] = 0 does not.
    near(new PCGrad(2, 1, { split: 'chunk', chunkSize: 1 }).combine(blocks(), info(0))[0]!, [0, 1]);
  });
  it('the order of the other tasks is a pure function of (seed, step)', () => {
    assert.deepEqual(taskOrders(4, 9, 17), taskOrders(4, 9, 17));
    const seen = new Set<string>();
    for (let s = 0; s < 20; s++) seen.add(taskOrders(4, 9, s).map((o) => o.join('')).join('|'));
    assert.ok(seen.size > 5, 'orders vary with the step');
  });
  it('same seed and step → bit-identical result on a tiny model (3 tasks, order matters)', () => {
    const model = new TinyMultiTask(2);
    const run = (seed: number, step: number): Float32Array[] => {
      const g = taskGradients(model.losses(tinyBatch(32, 4)), model.namedParameters(), model.namedTables());
      const out = new PCGrad(3, seed, { split: 'none', chunkSize: 1 }).combine(g.blocks, info(step, [1, 1, 1])).map((a) => a.slice());
      endStep();
      return out;
    };
    const a = run(5, 3);
    assert.deepEqual(run(5, 3), a);
    const differs = [0, 1, 2, 4, 5, 6, 7].some((s) => run(5, s).some((g, i) => g.some((v, k) => v !== a[i]![k])));
    assert.ok(differs, 'some other step visits the tasks in another order, with another result');
  });
});

describe('GradVac by hand', () => {
  it('with targets at 0 it is PCGrad; the targets follow the cosines by EMA', () => {
    const m = new GradVac(2, 1, { split: 'none', chunkSize: 1 }, 0.5);
    near(m.combine([block('w', [1, 0], [-1, 1])], info(0))[0]!, [0.5, 1.5]);
    const phi = -1 / Math.SQRT2;
    near(m.targetOf('*')!, [0, 0.5 * phi, 0.5 * phi, 0]);
  });
  it('raises a cosine below its target exactly to the target (SPEC §5 formula)', () => {
    const m = new GradVac(2, 1, { split: 'none', chunkSize: 1 }, 0.5);
    m.combine([block('w', [1, 0], [1, 1])], info(0)); // cos = 1/√2 → target 0.5/√2
    const goal = 0.5 / Math.SQRT2;
    near(m.targetOf('*')!, [0, goal, goal, 0]);
    const g1 = [1, 0], g2 = [-1, 0.2];
    const n2 = Math.hypot(...g2);
    const phi = -1 / n2;
    const a12 = (1 * (goal * Math.sqrt(1 - phi * phi) - phi * Math.sqrt(1 - goal * goal))) / (n2 * Math.sqrt(1 - goal * goal));
    const g1c = [g1[0]! + a12 * g2[0]!, g1[1]! + a12 * g2[1]!];
    const a21 = (n2 * (goal * Math.sqrt(1 - phi * phi) - phi * Math.sqrt(1 - goal * goal))) / (1 * Math.sqrt(1 - goal * goal));
    const g2c = [g2[0]! + a21 * g1[0]!, g2[1]! + a21 * g1[1]!];
    const out = m.combine([block('w', g1, g2)], info(1))[0]!;
    near(out, [g1c[0]! + g2c[0]!, g1c[1]! + g2c[1]!], 1e-6);
    const cos = (x: number[], y: number[]): number => (x[0]! * y[0]! + x[1]! * y[1]!) / (Math.hypot(...x) * Math.hypot(...y));
    assert.ok(Math.abs(cos(g1c, g2) - goal) < 1e-12, 'corrected g1 meets g2 at the target cosine');
  });
});

describe('PE-LTR by hand', () => {
  it('closed form of min ‖Σ w g‖² s.t. Σ w = 1, applied as T·w', () => {
    // M = diag(1, 4): w* = M⁻¹1 / 1ᵀM⁻¹1 = [1, 0.25] / 1.25 = [0.8, 0.2]; applied 2w = [1.6, 0.4].
    near(minNormWeights(Float64Array.of(1, 0, 0, 4), 2), [0.8, 0.2]);
    const m = new PeLtr(['a', 'b'], [0, 0]);
    near(m.combine([block('w', [1, 0], [0, 2])])[0]!, [1.6, 0.8]);
    m.combine([block('w', [1, 0], [0, 1])]); // M = I: even weights, 2w = [1, 1]
    m.endEpoch(); // the trainer asks for the record after ending the epoch
    const rec = m.epochRecord();
    near([rec['weight_a'] as number, rec['weight_b'] as number], [1.3, 0.7], 1e-12, 'epoch mean of the applied weights');
    m.endEpoch();
    assert.deepEqual(m.epochRecord(), { weight_a: null, weight_b: null }, 'an epoch without shared gradients has no weights');
  });
  it('the closed form satisfies the Lagrange condition Mw ∝ 1 on a random 3-task M', () => {
    const g = [[1, 2, -1, 0.5], [0.3, -1, 2, 1], [-2, 0.5, 0.1, 1]];
    const M = new Float64Array(9);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) M[i * 3 + j] = g[i]!.reduce((s, v, k) => s + v * g[j]![k]!, 0);
    const w = minNormWeights(M, 3);
    near([w[0]! + w[1]! + w[2]!], [1], 1e-12);
    const Mw = [0, 1, 2].map((i) => M[i * 3]! * w[0]! + M[i * 3 + 1]! * w[1]! + M[i * 3 + 2]! * w[2]!);
    near(Mw, [Mw[0]!, Mw[0]!, Mw[0]!], 1e-9);
  });
  it('parallel gradients (singular M) get even weights', () => {
    near(minNormWeights(Float64Array.of(1, 1, 1, 1), 2), [0.5, 0.5], 1e-6);
  });
  it('projects onto Σ w = 1, w ≥ c', () => {
    // w* − c = [0.8, −0.1] onto the simplex of radius 0.7: θ = 0.1 → [0.7, 0] + c = [0.7, 0.3].
    near(projectOntoBoundedSimplex([0.8, 0.2], [0, 0.3]), [0.7, 0.3], 1e-12);
    near(projectOntoBoundedSimplex([0.5, 0.3, 0.2], [0.1, 0.1, 0.1]), [0.5, 0.3, 0.2], 1e-12, 'a feasible point stays');
    near(projectOntoBoundedSimplex([2, -1, 0], [0, 0, 0]), [1, 0, 0], 1e-12);
    near(projectOntoBoundedSimplex([0.5, 0.5], [0.5, 0.5]), [0.5, 0.5], 1e-12, 'bounds summing to 1 fix w');
    const m = new PeLtr(['a', 'b'], [0, 0.3]);
    near(m.combine([block('w', [1, 0], [0, 2])])[0]!, [1.4, 1.2]);
  });
});

describe('GradNorm', () => {
  it('two steps by hand: first step records L(0); weights move against the norm imbalance, sum to T', () => {
    const lr = 0.1;
    const m = new GradNorm(['a', 'b'], ['W'], { alpha: 1.5, lr });
    const blocks = (): GradientBlock[] => [block('W', [3, 4], [0, 1]), block('tower', [1, 1], [0, 0])];
    // Step 1: w = [1, 1] → update Σ w g = [3, 5]; norms [5, 1], L̃ = [1, 1], targets 3 each;
    // ∂/∂w = [+5, −1] → Adam's first step is −lr·sign: w = [0.9, 1.1] (already sums to 2).
    const first = blocks();
    const out = m.combine(first, info(0, [2, 1]));
    near(out[0]!, [3, 5]);
    assert.equal(out[1], first[1]!.grads[0]);
    near(m.currentWeights, [0.9, 1.1], 1e-9);
    // Step 2: losses [1, 1] → L̃ = [0.5, 1], mean 0.75, r = [2/3, 4/3]; G = [4.5, 1.1], mean 2.8.
    const targets = gradNormTargets([0.9, 1.1], [5, 1], [1, 1], [2, 1], 1.5);
    near(targets, [2.8 * (2 / 3) ** 1.5, 2.8 * (4 / 3) ** 1.5], 1e-12);
    near(m.combine(blocks(), info(1, [1, 1]))[0]!, [0.9 * 3, 0.9 * 4 + 1.1], 1e-6);
  });
  it('the weight gradient equals float64 central differences of L_grad', () => {
    const norms = [5, 1.3, 0.7];
    const targets = Float64Array.of(2.2, 3.1, 0.2);
    const w = Float64Array.of(0.8, 1.4, 0.8);
    assertGradcheck(([x]) => gradNormObjective(x!, norms, targets), [w], [gradNormWeightGrad(w, norms, targets)], {}, 'gradnorm');
  });
  it('a last-shared-layer name that is not a block is an error at the first step', () => {
    const m = new GradNorm(['a', 'b'], ['shared.Wrong'], { alpha: 1, lr: 0.01 });
    assert.throws(() => m.combine([block('W', [1], [1])], info(0)), /gradnorm: last shared layer parameter\(s\) shared.Wrong got no gradient/);
  });
});

describe('uncertainty weighting', () => {
  it('L = Σ exp(−s) L + s/2: value, gradients into the losses, and the Adam step of s', () => {
    const lr = 0.05;
    const m = new UncertaintyWeighting(['a', 'b'], lr);
    const l = [leaf(2), leaf(0.25)];
    const total = m.combine(l, info(0, [2, 0.25]));
    assert.equal(total.item(), 2.25); // s = 0
    backward(total);
    near([l[0]!.grad![0]!, l[1]!.grad![0]!], [1, 1]);
    endStep();
    // ∂/∂s = −L + 1/2 = [−1.5, +0.25] → s = [+lr, −lr].
    near(m.logVars, [lr, -lr], 1e-7); // Adam's first step is lr·g/(|g| + ε)
    const l2 = [leaf(1), leaf(1)];
    const t2 = m.combine(l2, info(1, [1, 1]));
    near([t2.item()], [Math.exp(-lr) + lr / 2 + Math.exp(lr) - lr / 2], 1e-6);
    backward(t2);
    near([l2[0]!.grad![0]!, l2[1]!.grad![0]!], [Math.exp(-lr), Math.exp(lr)], 1e-6);
    endStep();
  });
  it('∂L/∂s equals float64 central differences', () => {
    const losses = [0.7, 0.05, 2.5];
    const s = Float64Array.of(0.3, -1.2, 0.8);
    assertGradcheck(([x]) => uncertaintyObjective(x!, losses), [s], [uncertaintyGrad(s, losses)], {}, 'uw');
  });
});

describe('DWA', () => {
  it('equal weights for two epochs, then T·softmax(r/τ) of the last two epoch means', () => {
    const m = new DynamicWeightAverage(['a', 'b'], 2);
    const step = (la: number, lb: number): number => {
      const v = m.combine([leaf(la), leaf(lb)], info(0, [la, lb])).item();
      endStep();
      return v;
    };
    assert.equal(step(1, 2), 3);
    assert.equal(step(3, 2), 5);
    m.endEpoch(); // means [2, 2]
    assert.equal(step(1, 2), 3);
    m.endEpoch(); // means [1, 2] → r = [0.5, 1]
    const ea = Math.exp(0.5 / 2), eb = Math.exp(1 / 2);
    const w = [(2 * ea) / (ea + eb), (2 * eb) / (ea + eb)];
    near(m.currentWeights, w, 1e-12);
    assert.deepEqual(m.epochRecord(), { weight_a: 1, weight_b: 1 }, 'the record (asked after endEpoch) has the finished epoch\'s weights');
    near([step(1, 1)], [w[0]! + w[1]!], 1e-6);
    near([step(2, 0.5)], [w[0]! * 2 + w[1]! * 0.5], 1e-6);
    m.endEpoch();
    const rec = m.epochRecord();
    near([rec['weight_a'] as number, rec['weight_b'] as number], w, 1e-12);
  });
});

describe('save/load round trips', () => {
  const blocksAt = (k: number): GradientBlock[] => [block('W', [1 + k, -2, 0.5], [-1, 1 + 0.1 * k, 2]), block('t', [0.5, 0], [0, 0])];
  const lossesAt = (k: number): number[] => [1 / (1 + k), 0.5 + 0.1 * k];
  const makers: [string, () => MultiTaskMethod][] = [
    ['uw', () => new UncertaintyWeighting(['a', 'b'], 0.1)],
    ['dwa', () => new DynamicWeightAverage(['a', 'b'], 2)],
    ['gradnorm', () => new GradNorm(['a', 'b'], ['W'], { alpha: 1.5, lr: 0.1 })],
    ['pe-ltr', () => new PeLtr(['a', 'b'], [0.1, 0.1])],
    ['pcgrad', () => new PCGrad(2, 3, { split: 'chunk', chunkSize: 2 })],
    ['gradvac', () => new GradVac(2, 3, { split: 'chunk', chunkSize: 2 }, 0.3)],
  ];
  /** One step's outcome: the combined loss value, or every combined gradient. */
  const stepOf = (m: MultiTaskMethod, k: number): number[] => {
    if (m.level === 'gradient') return m.combine(blocksAt(k), info(k, lossesAt(k))).flatMap((g) => Array.from(g));
    const v = m.combine(lossesAt(k).map(leaf), info(k, lossesAt(k))).item();
    endStep();
    return [v];
  };
  for (const [name, make] of makers) {
    it(`${name}: a restored method continues bit-identically`, () => {
      const a = make();
      for (let k = 0; k < 5; k++) {
        stepOf(a, k);
        if (k % 2 === 1) a.endEpoch?.();
      }
      const b = make();
      b.load(JSON.parse(JSON.stringify(a.save())));
      for (let k = 5; k < 9; k++) {
        assert.deepEqual(stepOf(b, k), stepOf(a, k), `step ${k}`);
        if (k % 2 === 1) {
          a.endEpoch?.();
          b.endEpoch?.();
        }
        assert.deepEqual(b.epochRecord?.(), a.epochRecord?.());
      }
      assert.deepEqual(b.save(), a.save());
    });
    it(`${name}: a malformed state is a clear error`, () => {
      assert.throws(() => make().load({ bogus: 1 }), new RegExp(`^Error: ${name.replace('-', '.')}`, 'i'));
    });
  }
});
