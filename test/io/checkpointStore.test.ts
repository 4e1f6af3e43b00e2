import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bceWithLogits } from '../../src/autograd/ops/loss.js';
import { Adam } from '../../src/optim/adam.js';
import { trainStep } from '../../src/train/step.js';
import { Rng } from '../../src/util/random.js';
import { DCNv2 } from '../../src/models/dcnv2.js';
import type { Checkpoint, TrainerState } from '../../src/train/checkpoint.js';
import { FileCheckpointStore } from '../../src/io/checkpointStore.js';
import { tmpDirs } from '../helpers/tmpDir.js';

const withTmp = tmpDirs('ctrkit-ckpt-');

/** A checkpoint from a few real Adam steps, with awkward trainer values (NaN spare, -0, Infinity). */
function checkpoint(steps: number): Checkpoint {
  const model = new DCNv2({ numIds: 30, numFields: 3, dim: 2, hidden: [4], crossLayers: 1, initStd: 0.1, seed: 5 });
  const opt = new Adam([{ params: model.parameters(), tables: model.tables() }], { lr: 0.01 });
  const rng = new Rng(1);
  for (let s = 0; s < steps; s++) {
    const ids = Int32Array.from({ length: 24 }, (_, i) => (i % 3) * 10 + rng.int(10));
    const labels = Float32Array.from({ length: 8 }, (_, i) => i % 2);
    trainStep(opt, () => bceWithLogits(model.forward({ size: 8, numFields: 3, ids, labels }), labels));
  }
  // Odd step counts leave a pending normal in the Rng state (a fifth number); even ones none.
  if (steps % 2 === 1) rng.normal();
  const trainer: TrainerState = {
    epoch: 2, stepInEpoch: steps, globalStep: 40 + steps, epochRngState: rng.getState(),
    best: { metric: 0.71, epoch: 1 }, epochsWithoutImprovement: 1,
    history: [{ loss: 0.6, auc: NaN, delta: -0, bound: Infinity }, { loss: 0.5, auc: 0.7 }],
  };
  return { model: model.stateDict(), optimizer: opt.saveState(), trainer };
}

const sameBits = (a: Checkpoint, b: Checkpoint): void => {
  const bytes = (m: Map<string, Float32Array>): [string, Buffer][] => [...m].sort(([x], [y]) => x.localeCompare(y)).map(([k, v]) => [k, Buffer.from(v.buffer, v.byteOffset, v.byteLength)]);
  assert.deepEqual(bytes(b.model), bytes(a.model));
  assert.deepEqual(bytes(b.optimizer.buffers), bytes(a.optimizer.buffers));
  assert.equal(b.optimizer.stepCount, a.optimizer.stepCount);
  assert.deepEqual(b.trainer, a.trainer);
  assert.ok(Object.is(b.trainer.history[0]!.delta, -0));
};

describe('FileCheckpointStore', () => {
  it('returns null when there is no checkpoint', () => withTmp((dir) => {
    const store = new FileCheckpointStore(join(dir, 'ckpt'));
    assert.equal(store.load('last'), null);
    assert.equal(store.load('best'), null);
  }));

  it('save → load gives identical bits; last and best are independent', () => withTmp((dir) => {
    const store = new FileCheckpointStore(join(dir, 'ckpt'));
    const a = checkpoint(3);
    const b = checkpoint(4);
    assert.ok(b.optimizer.buffers.size > 0);
    assert.ok(b.trainer.epochRngState.length === 4 && a.trainer.epochRngState.length === 5);
    store.save('last', a);
    store.save('best', b);
    sameBits(a, store.load('last')!);
    sameBits(b, new FileCheckpointStore(join(dir, 'ckpt')).load('best')!);
    // A restored Rng continues exactly where the saved one stopped, spare normal or not.
    for (const [saved, tag] of [[a, 'last'], [b, 'best']] as const) {
      const want = new Rng(0);
      want.setState(saved.trainer.epochRngState);
      const got = new Rng(0);
      got.setState(store.load(tag)!.trainer.epochRngState);
      assert.deepEqual([got.normal(), got.normal(), got.nextU32()], [want.normal(), want.normal(), want.nextU32()]);
    }
    store.save('last', b);
    sameBits(b, store.load('last')!);
    assert.deepEqual(readdirSync(join(dir, 'ckpt')).sort(), ['best', 'last']);
  }));

  it('a crash mid-write keeps the previous checkpoint loadable', () => withTmp((dir) => {
    const store = new FileCheckpointStore(join(dir, 'ckpt'));
    const good = checkpoint(2);
    store.save('last', good);
    const next = checkpoint(4);
    // Fails while the trainer state is serialised, after the tensors file is already written.
    const crashing = { ...next, trainer: { ...next.trainer, get history(): never { throw new Error('killed'); } } } as Checkpoint;
    assert.throws(() => store.save('last', crashing), /killed/);
    sameBits(good, store.load('last')!);
    assert.deepEqual(readdirSync(join(dir, 'ckpt')), ['last']);
  }));

  it('a crash between the two renames is repaired on load', () => withTmp((dir) => {
    const store = new FileCheckpointStore(join(dir, 'ckpt'));
    const good = checkpoint(2);
    store.save('last', good);
    renameSync(join(dir, 'ckpt', 'last'), join(dir, 'ckpt', '.last.old-9-x'));
    sameBits(good, store.load('last')!);
  }));

  it('refuses to overwrite a checkpoint with non-finite weights', () => withTmp((dir) => {
    const store = new FileCheckpointStore(join(dir, 'ckpt'));
    const good = checkpoint(2);
    store.save('last', good);
    const bad = checkpoint(3);
    bad.model.get('input.emb.weight')![7] = -Infinity;
    assert.throws(() => store.save('last', bad), /checkpoint 'last' \(model\): tensor 'input\.emb\.weight' has a non-finite value \(-Infinity\) at index 7/);
    sameBits(good, store.load('last')!);
  }));

  it('a corrupt checkpoint is a clear error, not null', () => withTmp((dir) => {
    const store = new FileCheckpointStore(join(dir, 'ckpt'));
    store.save('last', checkpoint(1));
    const last = join(dir, 'ckpt', 'last');
    const tensors = readFileSync(join(last, 'tensors.safetensors'));
    writeFileSync(join(last, 'tensors.safetensors'), tensors.subarray(0, tensors.length - 3));
    assert.throws(() => store.load('last'), { message: new RegExp(`^FileCheckpointStore: checkpoint ${last} is corrupt: .*tensors\\.safetensors`) });
    writeFileSync(join(last, 'tensors.safetensors'), tensors);
    writeFileSync(join(last, 'trainer.json'), '{"formatVersion":1,"optimizerStepCount":1,"trainer":{"epoch":-1}}');
    assert.throws(() => store.load('last'), { message: /is corrupt: trainer\.json: trainer\.epoch: Too small/ });
    rmSync(join(last, 'trainer.json'));
    assert.throws(() => store.load('last'), { message: /is corrupt: trainer\.json is missing/ });
  }));
});
