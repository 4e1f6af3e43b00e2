import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { bceWithLogits } from '../../src/autograd/ops/loss.js';
import { stepArena, backward, endStep } from '../../src/autograd/tape.js';
import { sum } from '../../src/autograd/ops/reduce.js';
import { linear } from '../../src/autograd/ops/linear.js';
import { add } from '../../src/autograd/ops/elementwise.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { AdaGrad } from '../../src/optim/adagrad.js';
import { trainStep, NonFiniteLossError } from '../../src/train/step.js';
import { DNN } from '../../src/models/dnn.js';
import { DCNv2 } from '../../src/models/dcnv2.js';
import type { Batch } from '../../src/data/batch.js';
import type { CTRModel } from '../../src/models/ctrModel.js';
import { Rng } from '../../src/util/random.js';
import { loadNativeKernels } from '../../src/backend/native.js';
import { testBackends, withBackend } from '../helpers/backends.js';

function batches(n: number, size: number, fields: number, vocab: number): Batch[] {
  const rng = new Rng(7);
  return Array.from({ length: n }, () => {
    const ids = Int32Array.from({ length: size * fields }, (_, i) => (i % fields) * (vocab / fields) + rng.int(vocab / fields));
    const labels = Float32Array.from({ length: size }, (_, b) => ((ids[b * fields]! + ids[b * fields + 1]!) % 3 === 0 ? 1 : 0));
    return { size, numFields: fields, ids, labels };
  });
}

function train(make: () => CTRModel, data: Batch[], steps: number): { hash: string; losses: number[] } {
  const model = make();
  const opt = new AdaGrad([{ params: model.parameters(), tables: model.tables() }], { lr: 0.05 });
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const b = data[s % data.length]!;
    model.onTrainingStep(s);
    losses.push(trainStep(opt, () => bceWithLogits(model.forward(b), b.labels)));
  }
  const h = createHash('sha256');
  for (const [name, arr] of model.stateDict()) h.update(name).update(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
  return { hash: h.digest('hex'), losses };
}

const dnn = (): CTRModel => new DNN({ numIds: 600, numFields: 6, dim: 4, hidden: [32, 16], initStd: 0.05, seed: 3 });
const dcn = (): CTRModel => new DCNv2({ numIds: 600, numFields: 6, dim: 4, hidden: [32, 16], crossLayers: 2, initStd: 0.05, seed: 3 });
/** Google's DCN-v2: mid-ramp for the 8 steps below, ReZero gates, low-rank cross and MLP, SmeLU. */
const google = (): CTRModel => new DCNv2({
  numIds: 600, numFields: 6, dim: 4, hidden: [32, 16], rank: 8, activation: 'smelu', smeluBeta: 0.5, crossLayers: 2, crossRank: 6,
  crossRamp: 16, rezero: true, initStd: 0.05, seed: 3,
});

for (const k of testBackends()) {
  describe(`training loop (${k.name})`, () => {
    it('DNN and DCN-v2 learn a synthetic rule (loss falls)', () => withBackend(k, () => {
      const data = batches(4, 64, 6, 600);
      for (const make of [dnn, dcn]) {
        const { losses } = train(make, data, 60);
        const first = losses.slice(0, 4).reduce((a, b) => a + b) / 4;
        const last = losses.slice(-4).reduce((a, b) => a + b) / 4;
        assert.ok(last < first * 0.7, `loss ${first} → ${last}`);
      }
    }));

    it('same seed, data and config give bit-identical parameters', () => withBackend(k, () => {
      const data = batches(3, 50, 6, 600);
      assert.equal(train(dcn, data, 12).hash, train(dcn, data, 12).hash);
    }));

    it('steady-state steps allocate no new buffers', () => withBackend(k, () => {
      const data = batches(2, 32, 6, 600);
      const model = dnn();
      const opt = new AdaGrad([{ params: model.parameters(), tables: model.tables() }], { lr: 0.05 });
      const step = (i: number): number => trainStep(opt, () => bceWithLogits(model.forward(data[i % 2]!), data[i % 2]!.labels));
      for (let i = 0; i < 4; i++) step(i);
      const before = [stepArena().allocations, stepArena().views];
      for (let i = 0; i < 10; i++) step(i);
      assert.deepEqual([stepArena().allocations, stepArena().views], before);
    }));

    it('a NaN loss stops before any parameter changes', () => withBackend(k, () => {
      const model = dnn();
      const opt = new AdaGrad([{ params: model.parameters(), tables: model.tables() }], { lr: 0.05 });
      const b = batches(1, 8, 6, 600)[0]!;
      // The output layer's bias: no activation after it can mask the NaN.
      const params = model.parameters();
      params[params.length - 1]!.data[0] = NaN;
      const snapshot = model.parameters().map((p) => p.data.slice());
      assert.throws(() => trainStep(opt, () => bceWithLogits(model.forward(b), b.labels)), (e: Error) =>
        e instanceof NonFiniteLossError || /nan|not finite/i.test(e.message));
      model.parameters().forEach((p, i) => assert.deepEqual(p.data, snapshot[i]));
    }));

    it('relu does not hide a NaN hidden weight from the loss guard', () => withBackend(k, () => {
      const model = dnn();
      const opt = new AdaGrad([{ params: model.parameters(), tables: model.tables() }], { lr: 0.05 });
      const b = batches(1, 8, 6, 600)[0]!;
      model.parameters()[0]!.data[0] = NaN; // first hidden layer, followed by relu
      assert.throws(() => trainStep(opt, () => bceWithLogits(model.forward(b), b.labels)), (e: Error) =>
        e instanceof NonFiniteLossError || /nan|not finite/i.test(e.message));
    }));

    it('shape mismatches name the op and the shapes', () => withBackend(k, () => {
      const x = new Tensor(new Float32Array(6), [2, 3]);
      const w = new Tensor(new Float32Array(8), [4, 2]);
      assert.throws(() => linear(x, w, null), /linear: x \[2, 3\] does not match W \[4, 2\]/);
      assert.throws(() => add(x, new Tensor(new Float32Array(2), [2])), /add: shapes \[2, 3\] and \[2\]/);
      assert.throws(() => bceWithLogits(x, new Float32Array(5)), /bceWithLogits: 5 labels/);
    }));
  });
}

const native = loadNativeKernels().kernels;
describe('threads and determinism (native)', { skip: native ? false : 'native addon not built' }, () => {
  it('1 and 2 threads give bit-identical parameters after N steps', () => {
    const data = batches(3, 300, 6, 600);
    for (const make of [dcn, google]) {
      const hashes = [1, 2, 1].map((t) => {
        native!.setThreads(t);
        return withBackend(native!, () => train(make, data, 8).hash);
      });
      native!.setThreads(2);
      assert.equal(hashes[0], hashes[1]);
      assert.equal(hashes[0], hashes[2]);
    }
  });
});

describe('tape', () => {
  it('an op whose output does not reach the loss is skipped in backward', () => {
    const x = new Tensor(Float32Array.of(1, 2), [2], true);
    add(x, x); // recorded, never used
    const y = add(x, new Tensor(Float32Array.of(3, 4), [2]));
    backward(sum(y));
    assert.deepEqual(Array.from(x.grad!), [1, 1]);
    endStep();
  });
});

describe('Rng state', () => {
  it('survives a JSON round trip with and without a pending normal', () => {
    for (const draws of [0, 1]) {
      const a = new Rng(9);
      for (let i = 0; i < draws; i++) a.normal();
      const b = new Rng(0);
      b.setState(JSON.parse(JSON.stringify(a.getState())) as number[]);
      assert.deepEqual([a.normal(), a.uniform(), a.normal()], [b.normal(), b.uniform(), b.normal()]);
    }
  });
});
