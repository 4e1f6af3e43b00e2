/**
 * DCN-v2 as Google runs it (SPEC §4): the cross ramp a = min(1, step / crossRamp), ReZero
 * scalars, low-rank MLP bottlenecks and SmeLU; gradients of the cross layer on every backend,
 * the ramp's step taken from the trainer's checkpointed state (resume mid-ramp is
 * bit-identical), and the old (no ramp, no ReZero) computation left exactly as it was.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/random.js';
import { backward, endStep } from '../../src/autograd/tape.js';
import { add, mul } from '../../src/autograd/ops/elementwise.js';
import { sum } from '../../src/autograd/ops/reduce.js';
import { bceWithLogits } from '../../src/autograd/ops/loss.js';
import { CrossNet, crossRampScale } from '../../src/nn/crossNet.js';
import { DCNv2, type DCNv2Config } from '../../src/models/dcnv2.js';
import { DNN } from '../../src/models/dnn.js';
import type { CTRModel } from '../../src/models/ctrModel.js';
import type { Batch } from '../../src/data/batch.js';
import { ShuffledBatches } from '../../src/data/batching.js';
import { Adam } from '../../src/optim/adam.js';
import { MemoryCheckpointStore } from '../../src/train/checkpoint.js';
import { Trainer } from '../../src/train/trainer.js';
import { idsDataset } from '../helpers/dataset.js';
import { assertGradcheck } from '../helpers/gradcheck.js';
import { testBackends, withBackend } from '../helpers/backends.js';

const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function hash(model: CTRModel): string {
  const h = createHash('sha256');
  for (const [name, a] of model.stateDict()) h.update(name).update(bits(a));
  return h.digest('hex');
}

function uniformValues(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform() * 2 - 1);
}

/** Float64 cross network with the given per-layer weights (W, or U and V), biases and gates. */
function cross64(x0: Float64Array, B: number, d: number, layers: { W?: Float64Array; U?: Float64Array; V?: Float64Array; r?: number; b: Float64Array; g: number }[], a: number): Float64Array {
  let x = x0.slice();
  for (const l of layers) {
    const next = new Float64Array(B * d);
    for (let i = 0; i < B; i++) {
      let h: Float64Array;
      if (l.W) {
        h = new Float64Array(d);
        for (let o = 0; o < d; o++) for (let k = 0; k < d; k++) h[o] += x[i * d + k]! * l.W[k * d + o]!;
      } else {
        const r = l.r!;
        const t = new Float64Array(r);
        for (let j = 0; j < r; j++) for (let k = 0; k < d; k++) t[j] += x[i * d + k]! * l.U![k * r + j]!;
        h = new Float64Array(d);
        for (let o = 0; o < d; o++) for (let j = 0; j < r; j++) h[o] += t[j]! * l.V![j * d + o]!;
      }
      for (let o = 0; o < d; o++) next[i * d + o] = l.g * a * x0[i * d + o]! * (h[o]! + l.b[o]!) + x[i * d + o]!;
    }
    x = next;
  }
  return x;
}

describe('cross ramp schedule', () => {
  it('a = min(1, step / N), by hand', () => {
    assert.equal(crossRampScale(0, 100), 0);
    assert.equal(crossRampScale(1, 100), 0.01);
    assert.equal(crossRampScale(25, 100), 0.25);
    assert.equal(crossRampScale(50, 100), 0.5);
    assert.equal(crossRampScale(99, 100), 0.99);
    assert.equal(crossRampScale(100, 100), 1);
    assert.equal(crossRampScale(1000, 100), 1);
    assert.equal(crossRampScale(3, 4), 0.75);
  });

  it('the forward uses the step it was given while training and a = 1 at inference', () => {
    // One full-rank layer on a 1×2 input with W = I, b = 0: out = a·x0⊙x0 + x0.
    const net = new CrossNet({ dim: 2, layers: 1, ramp: 8 }, new Rng(1));
    net.layers[0]!.W!.data.set([1, 0, 0, 1]);
    const x0 = new Tensor(Float32Array.of(2, -3), [1, 2]);
    const out = (): number[] => [...net.forward(x0).data];
    for (const [step, expected] of [[0, [2, -3]], [2, [3, -0.75]], [4, [4, 1.5]], [6, [5, 3.75]], [8, [6, 6]], [20, [6, 6]]] as const) {
      net.onTrainingStep(step);
      assert.deepEqual(out(), expected, `step ${step}`);
    }
    net.onTrainingStep(2);
    net.eval();
    assert.deepEqual(out(), [6, 6]);
    endStep();
  });

  it('training with a ramp but no step is a clear error, not a silent a = 0', () => {
    const net = new CrossNet({ dim: 2, layers: 1, ramp: 8 }, new Rng(1));
    assert.throws(() => net.forward(new Tensor(Float32Array.of(1, 1), [1, 2])), /cross ramp needs the global training step; call model\.onTrainingStep/);
    assert.throws(() => new CrossNet({ dim: 2, layers: 1, ramp: 0.5 }, new Rng(1)), /ramp must be a positive integer/);
  });

  it('ReZero gates start at 0, so the cross network starts as the identity', () => {
    const net = new CrossNet({ dim: 3, layers: 2, rank: 2, rezero: true }, new Rng(4));
    assert.deepEqual(net.namedParameters().map(([n, p]) => `${n}:${p.shape.join('x')}`).filter((n) => n.startsWith('rezero')), ['rezero.0:1', 'rezero.1:1']);
    const x0 = new Tensor(Float32Array.of(0.5, -1, 2, 3, 0.25, -0.75), [2, 3]);
    assert.deepEqual(net.forward(x0).data, x0.data);
    endStep();
  });
});

for (const k of testBackends()) {
  describe(`cross layer gradients, ramp and ReZero (${k.name} backend)`, () => {
    for (const rank of [undefined, 2] as const) {
      it(`${rank ? `rank ${rank}` : 'full rank'}: autograd vs float64 central differences`, () => withBackend(k, () => {
        const [B, d, L] = [3, 4, 2];
        const rng = new Rng(7);
        const net = new CrossNet({ dim: d, layers: L, rank, ramp: 10, rezero: true }, rng);
        net.onTrainingStep(4); // a = 0.4
        net.gates[0]!.data[0] = 0.8;
        net.gates[1]!.data[0] = -0.6;
        for (const l of net.layers) l.b!.data.set(uniformValues(d, rng));
        const x0 = new Tensor(uniformValues(B * d, rng), [B, d], true);
        const r = uniformValues(B * d, rng);
        const out = net.forward(x0);
        backward(sum(mul(out, new Tensor(r, [B, d]))));
        const params = net.layers.flatMap((l, i) => [...(rank ? [l.U!, l.V!] : [l.W!]), l.b!, net.gates[i]!]);
        const analytic = [Float64Array.from(x0.grad!), ...params.map((p) => Float64Array.from(p.grad))];
        const forward32 = Float64Array.from(out.data);
        endStep();

        const inputs = [Float64Array.from(x0.data), ...params.map((p) => Float64Array.from(p.data))];
        const per = rank ? 4 : 3;
        const f = (xs: Float64Array[]): Float64Array => cross64(xs[0]!, B, d, Array.from({ length: L }, (_, i) => {
          const o = 1 + i * per;
          return rank
            ? { U: xs[o]!, V: xs[o + 1]!, r: rank, b: xs[o + 2]!, g: xs[o + 3]![0]! }
            : { W: xs[o]!, b: xs[o + 1]!, g: xs[o + 2]![0]! };
        }), 0.4);
        const y = f(inputs);
        for (let i = 0; i < y.length; i++) assert.ok(Math.abs(y[i]! - forward32[i]!) < 1e-5, `forward[${i}] ${forward32[i]} vs ${y[i]}`);
        const loss = (xs: Float64Array[]): number => f(xs).reduce((s, v, i) => s + v * r[i]!, 0);
        assertGradcheck(loss, inputs, analytic, { eps: 1e-5, atol: 2e-3, rtol: 2e-3 }, 'cross layer');
        // Ramped, gated: the gates' own gradients are not zero (ReZero learns from step 1 of the ramp).
        assert.ok(Math.abs(analytic[per]![0]!) > 1e-3 && Math.abs(analytic[2 * per]![0]!) > 1e-3);
      }));
    }
  });
}

const F = 4;
const VOCAB = 10;
const NUM_IDS = F * VOCAB;

function data(n = 200, seed = 11): ReturnType<typeof idsDataset> {
  const rng = new Rng(seed);
  const ids = new Int32Array(n * F);
  const labels = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    for (let f = 0; f < F; f++) ids[r * F + f] = f * VOCAB + rng.int(VOCAB);
    // An interaction of fields 0 and 1, which the cross layers can express.
    const rule = (ids[r * F]! % VOCAB < 5) !== (ids[r * F + 1]! % VOCAB < 5) ? 1 : 0;
    labels[r] = rng.uniform() < 0.1 ? 1 - rule : rule;
  }
  return idsDataset(ids, labels, F, NUM_IDS);
}

const DS = data();
const google: DCNv2Config = {
  numIds: NUM_IDS, numFields: F, dim: 4, hidden: [16, 8], rank: 4, activation: 'smelu', smeluBeta: 0.5, crossLayers: 2, crossRank: 3,
  crossRamp: 20, rezero: true, initStd: 0.05, seed: 1,
};

/** 150 fit rows in 16-row batches: 10 steps per epoch, 30 in all; the ramp spans steps 0..20. */
function trainer(model: CTRModel, store?: MemoryCheckpointStore, resume = false, crashAt?: number): Trainer {
  let calls = 0;
  return new Trainer({
    model, optimizer: new Adam([{ params: model.parameters(), tables: model.tables() }], { lr: 0.02 }),
    train: new ShuffledBatches(DS, { start: 0, end: 150 }, 16), epochs: 3, seed: 5,
    loss: (m, b) => {
      if (++calls === crashAt) throw new Error('simulated crash');
      return bceWithLogits(m.forward(b), b.labels);
    },
    checkpoints: store ? { store, everySteps: 4, location: 'memory' } : undefined,
    resume,
  });
}

describe('DCN-v2 (Google) training', () => {
  it('the trainer tells the model its global step before every step, continuing from a checkpoint', async () => {
    class Spy extends DNN {
      readonly steps: number[] = [];
      override onTrainingStep(step: number): void {
        this.steps.push(step);
        super.onTrainingStep(step);
      }
    }
    const cfg = { numIds: NUM_IDS, numFields: F, dim: 4, hidden: [8], initStd: 0.05, seed: 1 };
    const straight = new Spy(cfg);
    await trainer(straight).run();
    assert.deepEqual(straight.steps, Array.from({ length: 30 }, (_, i) => i));
    const store = new MemoryCheckpointStore();
    await assert.rejects(trainer(new Spy(cfg), store, false, 15).run(), /simulated crash/);
    const resumed = new Spy(cfg);
    await trainer(resumed, store, true).run();
    assert.deepEqual(resumed.steps, Array.from({ length: 18 }, (_, i) => 12 + i));
  });

  it('resume mid-ramp is bit-identical to an uninterrupted run', async () => {
    const ref = new DCNv2(google);
    await trainer(ref, new MemoryCheckpointStore()).run();
    // The ramp is live: the same model without it trains to other weights.
    const noRamp = new DCNv2({ ...google, crossRamp: undefined });
    await trainer(noRamp).run();
    assert.notEqual(hash(noRamp), hash(ref));

    for (const crashAt of [7, 13]) { // last saves at steps 4 and 12, both within the 20-step ramp
      const store = new MemoryCheckpointStore();
      await assert.rejects(trainer(new DCNv2(google), store, false, crashAt).run(), /simulated crash/);
      assert.ok(store.load('last')!.trainer.globalStep < 20);
      const resumed = new DCNv2(google);
      const r = await trainer(resumed, store, true).run();
      assert.ok(r.resumed);
      assert.equal(hash(resumed), hash(ref), `crash at call ${crashAt}`);
    }
  });

  it('ReZero gates are trained and checkpointed like any parameter', async () => {
    const m = new DCNv2(google);
    const store = new MemoryCheckpointStore();
    await trainer(m, store).run();
    const gates = [...store.load('last')!.model].filter(([n]) => n.startsWith('cross.rezero.'));
    assert.deepEqual(gates.map(([n]) => n), ['cross.rezero.0', 'cross.rezero.1']);
    for (const [n, g] of gates) assert.ok(g[0] !== 0, `${n} still 0 after training`);
  });

  it('without crossRamp / rezero the cross network computes exactly the old x0 ⊙ (W x + b) + x, at any step', () => {
    const model = new DCNv2({ ...google, crossRamp: undefined, rezero: undefined });
    assert.deepEqual(model.namedParameters().map(([n]) => n).filter((n) => n.startsWith('cross.')),
      ['cross.layers.0.U', 'cross.layers.0.V', 'cross.layers.0.b', 'cross.layers.1.U', 'cross.layers.1.V', 'cross.layers.1.b']);
    const rng = new Rng(3);
    const x0 = new Tensor(uniformValues(5 * 16, rng), [5, 16]);
    const old = model.cross.layers.reduce((x, l) => add(mul(x0, l.forward(x)), x), x0);
    for (const step of [0, 7, 100]) {
      model.onTrainingStep(step);
      assert.deepEqual(bits(model.cross.forward(x0).data), bits(old.data), `step ${step}`);
    }
    endStep();
  });

  it('the MLP has low-rank bottlenecks and SmeLU with the configured beta', () => {
    const m = new DCNv2(google);
    assert.deepEqual(m.namedParameters().map(([n, p]) => `${n}:${p.shape.join('x')}`).filter((n) => n.startsWith('mlp.')),
      ['mlp.layers.0.U:16x4', 'mlp.layers.0.V:4x16', 'mlp.layers.0.b:16', 'mlp.layers.1.U:16x4', 'mlp.layers.1.V:4x8', 'mlp.layers.1.b:8']);
    for (const l of m.mlp.layers) assert.deepEqual([l.cfg.activation, l.cfg.smeluBeta], ['smelu', 0.5]);
  });

  it('a batch forward in eval mode uses a = 1 whatever step the model last saw', () => {
    // Without ReZero (whose zero gates would hide a), the same seed without a ramp is the reference.
    const m = new DCNv2({ ...google, rezero: undefined }).eval();
    const plain = new DCNv2({ ...google, rezero: undefined, crossRamp: undefined }).eval();
    const b: Batch = { size: 4, numFields: F, ids: DS.ids.subarray(0, 4 * F), labels: DS.labels[0]!.subarray(0, 4) };
    const want = Float32Array.from(plain.forward(b).data);
    for (const step of [0, 5, 40]) {
      m.onTrainingStep(step);
      assert.deepEqual(bits(m.forward(b).data), bits(want), `step ${step}`);
    }
    m.train();
    m.onTrainingStep(5);
    assert.notDeepEqual(bits(m.forward(b).data), bits(want));
    endStep();
  });
});
