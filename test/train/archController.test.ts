/**
 * The efficiency search's controller: the REINFORCE update and the moving-average baseline
 * against a hand computation, sampling that follows P(· | θ) and depends only on (seed, key, θ),
 * random search's answer, and a save / load that continues identically.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ArchController, softmax, type ControllerOptions } from '../../src/train/archController.js';
import { assertClose } from '../helpers/close.js';

const opts = (over: Partial<ControllerOptions> = {}): ControllerOptions => ({
  decisions: [{ name: 'dim', candidates: [8, 12, 16] }, { name: 'hidden0', candidates: [128, 256] }],
  method: 'reinforce', lr: 0.5, baselineMomentum: 0.8, seed: 7, ...over,
});

describe('REINFORCE controller', () => {
  it('θ ← θ + α₀ (R − R̄)(1[k = d] − p), R̄ a moving average starting at the first reward: by hand', () => {
    const c = new ArchController(opts());
    // Step 1: R̄ starts at R = 1, so the advantage is 0 and θ stays 0; R̄ = 0.8·1 + 0.2·1 = 1.
    const s1 = c.update(1, [0, 1], 1);
    assert.equal(s1.baseline, 1);
    assert.deepEqual(c.logits, [[0, 0, 0], [0, 0]]);
    assert.equal(c.baseline, 1);
    // Step 2: choice (16, 128), R = 2, advantage 1, p uniform: θ_dim = 0.5·([0,0,1] − 1/3), θ_h = 0.5·([1,0] − 1/2).
    c.update(2, [2, 0], 2);
    assertClose(c.logits[0]!, [-1 / 6, -1 / 6, 1 / 3], 1e-15, 0, 'θ_dim');
    assertClose(c.logits[1]!, [0.25, -0.25], 1e-15, 0, 'θ_h');
    assertClose([c.baseline!], [0.8 * 1 + 0.2 * 2], 1e-15, 0, 'R̄');
    // Step 3: choice (8, 128), R = 0.2, advantage 0.2 − 1.2 = −1.
    const eA = [Math.exp(-1 / 6), Math.exp(-1 / 6), Math.exp(1 / 3)];
    const zA = eA[0]! + eA[1]! + eA[2]!;
    const pA = eA.map((e) => e / zA);
    const pH = [Math.exp(0.25) / (Math.exp(0.25) + Math.exp(-0.25)), Math.exp(-0.25) / (Math.exp(0.25) + Math.exp(-0.25))];
    c.update(3, [0, 0], 0.2);
    assertClose(c.logits[0]!, [-1 / 6 - 0.5 * (1 - pA[0]!), -1 / 6 + 0.5 * pA[1]!, 1 / 3 + 0.5 * pA[2]!], 1e-14, 0, 'θ_dim');
    assertClose(c.logits[1]!, [0.25 - 0.5 * (1 - pH[0]!), -0.25 + 0.5 * pH[1]!], 1e-14, 0, 'θ_h');
    assertClose([c.baseline!], [0.8 * 1.2 + 0.2 * 0.2], 1e-15, 0, 'R̄');
    assert.equal(c.trajectory.length, 3);
    assert.deepEqual(c.trajectory[2]!.probabilities, c.probabilities());
    // The answer: the most probable candidate of each decision.
    assert.deepEqual(c.best(), [2, 0]);
  });

  it('samples follow P(· | θ) and depend only on the seed, the key and θ', () => {
    const c = new ArchController(opts());
    c.logits = [[0, Math.log(2), Math.log(5)], [Math.log(3), 0]];
    const p = c.probabilities();
    assertClose(p[0]!, [1 / 8, 2 / 8, 5 / 8], 1e-12, 0, 'p');
    const n = 20000;
    const counts = [[0, 0, 0], [0, 0]];
    for (let key = 0; key < n; key++) c.sample(key).forEach((k, j) => { counts[j]![k]!++; });
    assertClose(counts[0]!.map((x) => x / n), p[0]!, 0.015, 0, 'frequency dim');
    assertClose(counts[1]!.map((x) => x / n), p[1]!, 0.015, 0, 'frequency hidden');
    const twin = new ArchController(opts());
    twin.load(c.save());
    for (let key = 0; key < 50; key++) assert.deepEqual(twin.sample(key), c.sample(key));
    const otherSeed = new ArchController(opts({ seed: 8 }));
    otherSeed.load(c.save());
    assert.notDeepEqual(Array.from({ length: 50 }, (_, k) => otherSeed.sample(k)), Array.from({ length: 50 }, (_, k) => c.sample(k)));
  });

  it('saved and loaded mid-search, it continues exactly as the uninterrupted one', () => {
    const rewards = [0.3, 0.9, 0.1, 0.7, 0.5, 0.8];
    const run = (c: ArchController, from: number, to: number): void => {
      for (let i = from; i < to; i++) c.update(i, c.sample(i), rewards[i]!);
    };
    const straight = new ArchController(opts());
    run(straight, 0, 6);
    const first = new ArchController(opts());
    run(first, 0, 3);
    const resumed = new ArchController(opts());
    resumed.load(JSON.parse(JSON.stringify(first.save())));
    run(resumed, 3, 6);
    assert.deepEqual(resumed.save(), straight.save());
    const other = new ArchController({ ...opts(), decisions: [{ name: 'dim', candidates: [8, 16] }] });
    assert.throws(() => other.load(first.save()), /other decisions than the config's search space/);
  });

  it('random search: uniform samples, θ never moves, the answer is the best mean advantage R − R̄', () => {
    const c = new ArchController(opts({ method: 'random' }));
    c.logits = [[5, 0, 0], [0, 0]]; // ignored by random search's sampling
    const n = 9000;
    const counts = [0, 0, 0];
    for (let key = 0; key < n; key++) counts[c.sample(key)[0]!]!++;
    assertClose(counts.map((x) => x / n), [1 / 3, 1 / 3, 1 / 3], 0.02, 0, 'uniform');
    c.logits = [[0, 0, 0], [0, 0]];
    // m = 0.8. R̄: 0.2 (first reward) → 0.22 → 0.356 → …
    c.update(1, [0, 0], 0.2); // advantage 0
    c.update(2, [1, 1], 0.3); // 0.3 − 0.2 = 0.1
    c.update(3, [0, 1], 0.9); // 0.9 − 0.22 = 0.68: the best advantage
    c.update(4, [2, 0], 0.95); // 0.95 − 0.356 = 0.594: the best raw reward, sampled later
    assert.deepEqual(c.logits, [[0, 0, 0], [0, 0]]);
    assert.deepEqual(c.best(), [0, 1]);
    assertClose(c.trajectory.map((t) => t.baseline), [0.2, 0.2, 0.22, 0.356], 1e-12, 0, 'R̄');
    assertClose(softmax([0, 0]), [0.5, 0.5], 0, 0);
  });
});
