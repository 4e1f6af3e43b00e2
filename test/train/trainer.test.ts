import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dataset } from '../../src/data/dataset.js';
import type { Batch } from '../../src/data/batch.js';
import { ShuffledBatches } from '../../src/data/batching.js';
import { LR } from '../../src/models/lr.js';
import { DNN } from '../../src/models/dnn.js';
import type { CTRModel } from '../../src/models/ctrModel.js';
import { Adam } from '../../src/optim/adam.js';
import { Rng } from '../../src/util/random.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { bceWithLogits } from '../../src/autograd/ops/loss.js';
import { predictRows } from '../../src/train/predict.js';
import { auc } from '../../src/metrics/auc.js';
import { MemoryCheckpointStore, type Checkpoint, type CheckpointStore, type CheckpointTag } from '../../src/train/checkpoint.js';
import { FileCheckpointStore } from '../../src/io/checkpointStore.js';
import { Trainer, NonFiniteTrainingError, type TrainerOptions, type TrainResult } from '../../src/train/trainer.js';
import { MetricLog, parseMetricLog, type MetricRecord } from '../../src/train/metricLog.js';
import type { EpochEnd, EpochStart, ProgressReporter, ProgressUpdate } from '../../src/train/progress.js';

class RecordingProgress implements ProgressReporter {
  readonly starts: EpochStart[] = [];
  readonly updates: ProgressUpdate[] = [];
  readonly ends: EpochEnd[] = [];
  stops = 0;
  startEpoch(s: EpochStart): void { this.starts.push(s); }
  update(u: ProgressUpdate): void { this.updates.push(u); }
  endEpoch(e: EpochEnd): void { this.ends.push(e); }
  stop(): void { this.stops++; }
}

const F = 4;
const VOCAB = 10; // per field
const NUM_IDS = F * VOCAB + 8; // the last 8 rows are never referenced by any batch

/** Synthetic clicks: the label depends additively on fields 0 and 1 (learnable by LR), with 10% noise. */
function dataset(n = 200, seed = 11): Dataset {
  const rng = new Rng(seed);
  const ids = new Int32Array(n * F);
  const labels = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    for (let f = 0; f < F; f++) ids[r * F + f] = f * VOCAB + rng.int(VOCAB);
    const rule = ids[r * F]! % VOCAB < 5 || ids[r * F + 1]! % VOCAB < 2 ? 1 : 0;
    labels[r] = rng.uniform() < 0.1 ? 1 - rule : rule;
  }
  return {
    numRows: n, numFields: F, fieldNames: ['a', 'b', 'c', 'd'], ids,
    fieldSizes: Int32Array.from({ length: F }, () => VOCAB),
    fieldOffsets: Int32Array.from({ length: F }, (_, f) => f * VOCAB),
    numIds: NUM_IDS, labels: [labels], labelNames: ['click'],
  };
}

type Kind = 'lr' | 'dnn' | 'dropout';
const makeModel = (kind: Kind): CTRModel => kind === 'lr'
  ? new LR({ numIds: NUM_IDS, initStd: 0.01, seed: 1 })
  : new DNN({ numIds: NUM_IDS, numFields: F, dim: 4, hidden: [16, 8], initStd: 0.05, seed: 1, dropout: kind === 'dropout' ? 0.3 : 0 });

function hash(model: CTRModel): string {
  const h = createHash('sha256');
  for (const [name, a] of model.stateDict()) h.update(name).update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

function hashMap(m: ReadonlyMap<string, Float32Array>): string {
  const h = createHash('sha256');
  for (const [name, a] of m) h.update(name).update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

/** Store that records what was saved, in order. */
class SpyStore extends MemoryCheckpointStore {
  readonly saves: { tag: CheckpointTag; globalStep: number }[] = [];
  override save(tag: CheckpointTag, c: Checkpoint): void {
    this.saves.push({ tag, globalStep: c.trainer.globalStep });
    super.save(tag, c);
  }
}

const DS = dataset();
const TRAIN_ROWS = { start: 0, end: 150 }; // 16-row batches: 10 per epoch, the last has 6 rows
const VALID_ROWS = { start: 150, end: 200 };

/** Validation AUC computed in the test: the trainer itself never sees a metric implementation. */
function validateAuc(model: CTRModel): Record<string, number> {
  const z = predictRows(model, DS, VALID_ROWS);
  return { auc: auc(z, DS.labels[0]!.subarray(VALID_ROWS.start, VALID_ROWS.end)) };
}

interface Setup {
  kind?: Kind;
  seed?: number;
  epochs?: number;
  store?: CheckpointStore;
  everySteps?: number;
  resume?: boolean;
  /** Called before each loss computation with the 1-based call number of this trainer. */
  beforeLoss?: (call: number, model: CTRModel) => void;
  extra?: Partial<TrainerOptions>;
}

function trainer(s: Setup = {}): { t: Trainer; model: CTRModel } {
  const model = makeModel(s.kind ?? 'dnn');
  const optimizer = new Adam([{ params: model.parameters(), tables: model.tables() }], { lr: 0.02 });
  let calls = 0;
  const loss = (m: CTRModel, b: Batch): Tensor => {
    s.beforeLoss?.(++calls, m);
    return bceWithLogits(m.forward(b), b.labels, b.weights ?? null);
  };
  const t = new Trainer({
    model, optimizer, train: new ShuffledBatches(DS, TRAIN_ROWS, 16), epochs: s.epochs ?? 3, seed: s.seed ?? 5, loss,
    validate: validateAuc,
    checkpoints: s.store ? { store: s.store, everySteps: s.everySteps, location: 'memory' } : undefined,
    resume: s.resume,
    restoreBest: false,
    ...s.extra,
  });
  return { t, model };
}

async function straight(s: Setup = {}): Promise<{ hash: string; result: TrainResult }> {
  const { t, model } = trainer(s);
  const result = await t.run();
  return { hash: hash(model), result };
}

describe('Trainer', () => {
  it('same seed, data and config give bit-identical models; another seed gives another model', async () => {
    for (const kind of ['lr', 'dnn', 'dropout'] as const) {
      const a = await straight({ kind, seed: 5 });
      const b = await straight({ kind, seed: 5 });
      const c = await straight({ kind, seed: 6 });
      assert.equal(a.hash, b.hash, kind);
      assert.notEqual(a.hash, c.hash, kind);
      assert.deepEqual(a.result.history, b.result.history);
      assert.equal(a.result.globalStep, 30);
      // Training on the rule actually learns something.
      assert.ok(a.result.history.at(-1)!.auc! > 0.6, `${kind} auc ${a.result.history.at(-1)!.auc}`);
    }
  });

  it('resume after a crash is bit-identical (mid-epoch and at an epoch boundary), with dropout too, in memory and on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctrkit-resume-'));
    try {
      const stores: [string, () => CheckpointStore][] = [
        ['memory', () => new MemoryCheckpointStore()],
        ['files', () => new FileCheckpointStore(mkdtempSync(join(dir, 'ckpt-')))],
      ];
      for (const kind of ['dnn', 'dropout'] as const) {
        for (const [where, makeStore] of stores) await resumeMatchesStraight(kind, where, makeStore);
      }
      // Dropout is on: its model differs from the plain DNN's.
      assert.notEqual((await straight({ kind: 'dropout' })).hash, (await straight({ kind: 'dnn' })).hash);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  async function resumeMatchesStraight(kind: Kind, where: string, makeStore: () => CheckpointStore): Promise<void> {
    const ref = await straight({ kind, store: makeStore(), everySteps: 4 });
    // Crash during call 13: steps 1..12 done, the periodic save at 12 is mid-epoch 2 (step 2).
    // Crash during call 11: steps 1..10 done, the last save is the end of epoch 1.
    // Crash during call 25: the last save is the periodic one at step 24 (epoch 3 step 4).
    for (const [crashAt, savedAt, epoch, stepInEpoch] of [[13, 12, 1, 2], [11, 10, 1, 0], [25, 24, 2, 4]] as const) {
      const store = makeStore();
      const crashing = trainer({ kind, store, everySteps: 4, beforeLoss: (call) => {
        if (call === crashAt) throw new Error('simulated crash');
      } });
      await assert.rejects(crashing.t.run(), /simulated crash/);
      const last = store.load('last')!;
      assert.equal(last.trainer.globalStep, savedAt);
      assert.equal(last.trainer.epoch, epoch);
      assert.equal(last.trainer.stepInEpoch, stepInEpoch);

      const resumed = trainer({ kind, store, everySteps: 4, resume: true });
      const r = await resumed.t.run();
      const what = `${kind}, ${where}, crash at ${crashAt}`;
      assert.ok(r.resumed);
      assert.equal(r.globalStep, 30);
      assert.equal(hash(resumed.model), ref.hash, what);
      assert.deepEqual(r.history, ref.result.history, `history: ${what}`);
      assert.deepEqual(r.best, ref.result.best);
    }
  }

  it('resume without a checkpoint starts from scratch', async () => {
    const ref = await straight();
    const r = trainer({ store: new MemoryCheckpointStore(), resume: true });
    const res = await r.t.run();
    assert.equal(res.resumed, false);
    assert.equal(hash(r.model), ref.hash);
  });

  it('an abort stops at the batch boundary, saves an interrupt checkpoint, and resume finishes identically', async () => {
    const ref = await straight({ kind: 'lr' });
    const store = new SpyStore();
    const ac = new AbortController();
    const first = trainer({ kind: 'lr', store, beforeLoss: (call) => { if (call === 7) ac.abort(); }, extra: { signal: ac.signal } });
    const r1 = await first.t.run();
    assert.equal(r1.interrupted, true);
    assert.equal(r1.globalStep, 7);
    assert.deepEqual(store.saves, [{ tag: 'last', globalStep: 7 }]);
    assert.equal(hashMap(store.load('last')!.model), hash(first.model));

    const second = trainer({ kind: 'lr', store, resume: true });
    const r2 = await second.t.run();
    assert.equal(r2.interrupted, false);
    assert.equal(hash(second.model), ref.hash);
    assert.deepEqual(r2.history, ref.result.history);
  });

  it('a timer-driven abort (as from a SIGINT handler) is seen: training yields to the event loop', async () => {
    const store = new SpyStore();
    const ac = new AbortController();
    // Each batch is made slow so the run would take far longer than the timer.
    const spin = (): void => { const t = Date.now() + 2; while (Date.now() < t); };
    const { t, model } = trainer({ kind: 'lr', store, epochs: 1000, beforeLoss: spin, extra: { signal: ac.signal, validate: undefined } });
    setTimeout(() => ac.abort(), 100);
    const r = await t.run();
    assert.equal(r.interrupted, true);
    assert.ok(r.globalStep < 10000, `stopped at ${r.globalStep}`);
    const last = store.load('last')!;
    assert.equal(last.trainer.globalStep, r.globalStep);
    assert.equal(hashMap(last.model), hash(model));
  });

  it('an abort on the last batch of an epoch resumes into the epoch end (validation, next epoch)', async () => {
    const ref = await straight();
    const store = new MemoryCheckpointStore();
    const ac = new AbortController();
    const first = trainer({ store, beforeLoss: (call) => { if (call === 10) ac.abort(); }, extra: { signal: ac.signal } });
    const r1 = await first.t.run();
    assert.equal(r1.interrupted, true);
    assert.equal(r1.history.length, 0, 'the interrupted epoch is not validated');
    const second = trainer({ store, resume: true });
    const r2 = await second.t.run();
    assert.equal(hash(second.model), ref.hash);
    assert.deepEqual(r2.history, ref.result.history);
  });

  it('early stopping with patience: stops after epoch 4, best epoch 2, best weights restored', async () => {
    const scripted = [0.6, 0.7, 0.69, 0.68, 0.9, 0.95];
    const store = new SpyStore();
    let atEpoch2 = '';
    const { t, model } = trainer({
      store, epochs: 6,
      extra: {
        validate: (m, epoch) => {
          if (epoch === 2) atEpoch2 = hash(m);
          return { auc: scripted[epoch - 1]!, logloss: 1 / epoch };
        },
        validationMetric: { name: 'auc', mode: 'max' },
        earlyStopping: { patience: 2 },
        restoreBest: true,
      },
    });
    const r = await t.run();
    assert.equal(r.stoppedEarly, true);
    assert.equal(r.epochsRun, 4);
    assert.deepEqual(r.best, { metric: 0.7, epoch: 2 });
    assert.equal(r.restoredBest, true);
    assert.deepEqual(r.history.map((h) => h.auc), [0.6, 0.7, 0.69, 0.68]);
    // 'best' was written when the metric improved (epochs 1 and 2) and holds epoch 2's weights.
    assert.deepEqual(store.saves.filter((s) => s.tag === 'best').map((s) => s.globalStep), [10, 20]);
    const best = store.load('best')!;
    assert.equal(best.trainer.epoch, 2);
    assert.equal(hashMap(best.model), atEpoch2);
    assert.equal(hash(model), atEpoch2);
    assert.notEqual(hashMap(store.load('last')!.model), atEpoch2, 'last holds epoch 4, not the best');

    // Resuming a run that already stopped early trains nothing more.
    const again = trainer({
      store, epochs: 6, resume: true,
      extra: { validate: () => ({ auc: 1 }), earlyStopping: { patience: 2 }, restoreBest: true },
    });
    const r2 = await again.t.run();
    assert.equal(r2.stoppedEarly, true);
    assert.equal(r2.globalStep, 40);
    assert.equal(hash(again.model), atEpoch2);
  });

  it('early stopping without a store keeps the best weights in memory; mode min works', async () => {
    let atEpoch1 = '';
    const { t, model } = trainer({
      epochs: 5,
      extra: {
        validate: (m, epoch) => {
          if (epoch === 1) atEpoch1 = hash(m);
          return { logloss: [0.5, 0.51, 0.52, 0.4][epoch - 1]! };
        },
        validationMetric: { name: 'logloss', mode: 'min' },
        earlyStopping: { patience: 2 },
        restoreBest: true,
      },
    });
    const r = await t.run();
    assert.equal(r.epochsRun, 3);
    assert.deepEqual(r.best, { metric: 0.5, epoch: 1 });
    assert.equal(hash(model), atEpoch1);
  });

  it('a missing validation metric is a clear error', async () => {
    const { t } = trainer({ extra: { validate: () => ({ logloss: 0.3 }) } });
    await assert.rejects(t.run(), /validation returned no 'auc' \(got logloss\)/);
  });

  it('a NaN logit stops training, names epoch and step, and keeps the last good checkpoint', async () => {
    const store = new SpyStore();
    const dir = mkdtempSync(join(tmpdir(), 'ctrkit-trainer-'));
    try {
      const logPath = join(dir, 'metrics.jsonl');
      const { t } = trainer({
        kind: 'lr', store, everySteps: 5,
        beforeLoss: (call, m) => { if (call === 13) (m as LR).bias.data[0] = NaN; },
        extra: { log: new MetricLog(logPath) },
      });
      const err = await t.run().then(() => null, (e: unknown) => e);
      assert.ok(err instanceof NonFiniteTrainingError, String(err));
      assert.match(err.message, /^training stopped: non-finite value \(bceWithLogits: logit z\[0\] = NaN is not finite\) at epoch 2 step 3 \(global step 13\); the last good checkpoint \(step 10\) is kept in memory$/);
      assert.equal(err.lastGoodStep, 10);
      assert.equal(err.globalStep, 13);
      // Nothing was written after the failure: the last save is the one at step 10.
      assert.deepEqual(store.saves.at(-1), { tag: 'last', globalStep: 10 });
      const last = store.load('last')!;
      assert.ok([...last.model.values()].every((a) => a.every(Number.isFinite)));
      const recs = parseMetricLog(readFileSync(logPath, 'utf8'));
      const stop = recs.at(-1)!;
      assert.equal(stop.event, 'stop');
      assert.equal(stop.reason, 'non_finite');
      assert.equal(stop.globalStep, 13);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a NaN loss stops with "loss is NaN" before any checkpoint was saved', async () => {
    const store = new SpyStore();
    const model = makeModel('lr');
    let calls = 0;
    const t = new Trainer({
      model, optimizer: new Adam([{ params: model.parameters(), tables: model.tables() }], { lr: 0.02 }),
      train: new ShuffledBatches(DS, TRAIN_ROWS, 16), epochs: 2, seed: 1,
      loss: (m, b) => {
        const l = bceWithLogits(m.forward(b), b.labels);
        if (++calls === 4) l.data[0] = NaN;
        return l;
      },
      checkpoints: { store, everySteps: 5, location: '/runs/x/checkpoints' },
    });
    await assert.rejects(t.run(), (e: Error) => {
      assert.equal(e.message, 'training stopped: loss is NaN at epoch 1 step 4 (global step 4); no checkpoint had been saved yet; nothing was written to /runs/x/checkpoints');
      return true;
    });
    assert.equal(store.saves.length, 0);
  });

  it('refuses to checkpoint a non-finite parameter that the loss does not see', async () => {
    const store = new SpyStore();
    // Row NUM_IDS-1 is never looked up, so its NaN leaves every loss finite.
    const { t } = trainer({
      store, everySteps: 4,
      beforeLoss: (call, m) => { if (call === 6) (m as DNN).input.emb.weight.data[(NUM_IDS - 1) * 4 + 2] = NaN; },
    });
    await assert.rejects(t.run(), (e: Error) => {
      assert.ok(e instanceof NonFiniteTrainingError);
      assert.match(e.message, /^training stopped: parameter 'input\.emb\.[\w.]+'\[\d+\] is NaN after epoch 1 step 8 \(global step 8\); the last good checkpoint \(step 4\) is kept in memory$/);
      return true;
    });
    assert.deepEqual(store.saves, [{ tag: 'last', globalStep: 4 }]);
  });

  it('writes a JSONL log of every event that parses line by line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctrkit-trainer-'));
    try {
      const logPath = join(dir, 'nested', 'dir', 'metrics.jsonl');
      let clock = 0;
      const log = new MetricLog(logPath, { everySteps: 3, now: () => (clock += 10) });
      await trainer({ epochs: 2, extra: { log } }).t.run();
      const recs: MetricRecord[] = parseMetricLog(readFileSync(logPath, 'utf8'));
      const events = recs.map((r) => r.event);
      assert.equal(events[0], 'start');
      assert.equal(events.at(-1), 'stop');
      assert.equal(recs.at(-1)!.reason, 'completed');
      assert.deepEqual(events.filter((e) => e !== 'step'), ['start', 'epoch', 'validation', 'epoch', 'validation', 'stop']);
      const steps = recs.filter((r) => r.event === 'step');
      assert.deepEqual(steps.map((r) => r.globalStep), [3, 6, 9, 12, 15, 18]);
      // Three steps per line; the 10th batch of an epoch holds the 6 leftover rows.
      assert.deepEqual(steps.map((r) => r.rows), [48, 48, 48, 38, 48, 48]);
      for (const r of steps) {
        assert.equal(typeof r.loss, 'number');
        assert.ok((r.rows_per_s as number) > 0);
      }
      for (const r of recs) assert.match(String(r.time), /^\d{4}-\d\d-\d\dT/);
      const val = recs.filter((r) => r.event === 'validation');
      assert.deepEqual(val.map((r) => r.epoch), [1, 2]);
      assert.equal(typeof val[0]!.auc, 'number');
      assert.equal(val[0]!.metric, 'auc');
      const ep = recs.filter((r) => r.event === 'epoch');
      assert.deepEqual(ep.map((r) => [r.epoch, r.step, r.rows]), [[1, 10, 150], [2, 10, 150]]);
      // Appending: a second run continues the same file.
      const before = recs.length;
      await trainer({ epochs: 1, extra: { log: new MetricLog(logPath) } }).t.run();
      assert.ok(parseMetricLog(readFileSync(logPath, 'utf8')).length > before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports progress per epoch and batch, continuing mid-epoch after resume', async () => {
    const store = new MemoryCheckpointStore();
    const crashing = trainer({ store, everySteps: 4, beforeLoss: (call) => { if (call === 13) throw new Error('crash'); } });
    await assert.rejects(crashing.t.run(), /crash/);
    const progress = new RecordingProgress();
    await trainer({ store, everySteps: 4, resume: true, extra: { progress } }).t.run();
    assert.deepEqual(progress.starts.map((s) => [s.epoch, s.epochs, s.totalRows, s.rowsDone]), [[2, 3, 150, 32], [3, 3, 150, 0]]);
    assert.equal(progress.updates.length, 18);
    assert.equal(progress.updates[0]!.rowsDone, 48);
    assert.equal(progress.updates.at(-1)!.rowsDone, 150);
    assert.ok(progress.updates.every((u) => Number.isFinite(u.loss)));
    assert.deepEqual(progress.ends.map((e) => [e.epoch, e.rows]), [[2, 150], [3, 150]]);
    assert.equal(typeof progress.ends[0]!.metrics.auc, 'number');
    assert.equal(progress.stops, 1);
  });

  it('rejects inconsistent options', () => {
    const model = makeModel('lr');
    const optimizer = new Adam([{ params: model.parameters(), tables: model.tables() }], { lr: 0.01 });
    const train = new ShuffledBatches(DS, TRAIN_ROWS, 16);
    assert.throws(() => new Trainer({ model, optimizer, train, epochs: 2, seed: 1, earlyStopping: { patience: 1 } }), /needs a validate/);
    assert.throws(() => new Trainer({ model, optimizer, train, epochs: 2, seed: 1, resume: true }), /resume needs a checkpoint store/);
    assert.throws(() => new Trainer({ model, optimizer, train, epochs: 2, seed: 1, checkpoints: { store: new MemoryCheckpointStore(), everySteps: 0 } }), /everySteps/);
  });
});
