/**
 * data.sampling.loss and data.sampling.position end to end, on the real Criteo and Avazu heads:
 * online, a teacher trained on an earlier slice of Criteo sets the keep probabilities (one pass,
 * cached), every row is still scored, and a run stopped mid-stream and resumed ends on the bits of
 * an uninterrupted one; Avazu's banner_pos (the only position-like column of the shared data)
 * thins impressions beyond position 0, online and in epoch mode; bad configs are refused by key.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { loadExperimentConfig, parseExperimentConfig } from '../../src/experiment/config.js';
import { runOnlineTraining } from '../../src/experiment/onlineRun.js';
import { runTraining } from '../../src/experiment/trainRun.js';
import { ConfigError } from '../../src/schema/index.js';
import { packageRoot, sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';

const CRITEO = 'criteo_kaggle_dac_head10k/criteo_kaggle_train_head10k.txt.gz';
const AVAZU = 'avazu_head9k/avazu_train_head8999.csv.gz';
const root = packageRoot();

/** Within 6 standard deviations of a count of independent Bernoulli(p_i) with these Σp and Σp(1−p). */
const near = (kept: number, sumP: number, varP: number): boolean => Math.abs(kept - sumP) <= 6 * Math.sqrt(varP);

const criteoFields = [
  ...Array.from({ length: 13 }, (_, i) => `    - { name: I${i + 1}, kind: numeric, transform: log-bucket }`),
  ...Array.from({ length: 26 }, (_, i) => `    - { name: C${i + 1}, kind: categorical }`),
].join('\n');

describe('loss-based sampling online (Criteo head, teacher trained on the earlier slice)', { skip: skipWithoutSharedData(CRITEO) }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-ipw-'));
    const lines = gunzipSync(readFileSync(join(sharedDataDir(), CRITEO))).toString('utf8').split('\n');
    writeFileSync(join(dir, 'early.txt'), lines.slice(0, 1024).join('\n') + '\n');
    writeFileSync(join(dir, 'late.txt'), lines.slice(1024, 3072).join('\n') + '\n');
  });
  before(async () => {
    await run(config('teacher', 'early.txt', ''));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const config = (name: string, input: string, sampling: string): string => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, `data:
  source: { format: criteo, path: ${join(dir, input)} }
${sampling === '' ? '' : `  sampling: ${sampling}\n`}  labels: [{ name: click, column: label, type: binary }]
  fields:
${criteoFields}
model: { type: lr }
train: { epochs: 1, batchSize: 128, seed: 2, optimizer: { type: adagrad, lr: 0.2, initialAccumulator: 0.1 }, online: { hashBuckets: 4096 } }
output: ${join(dir, name)}
`);
    return file;
  };
  const run = async (file: string, opts: Parameters<typeof runOnlineTraining>[1] = {}): ReturnType<typeof runOnlineTraining> =>
    runOnlineTraining(await loadExperimentConfig(file, root), { quiet: true, ...opts });

  it('keeps keepRate of the rows (weighted 1/p), scores them all, and a stopped, resumed run ends on the same bits', async () => {
    const sampling = `{ loss: { teacher: ${join(dir, 'teacher', 'model')}, keepRate: 0.4, pMin: 0.05 }, seed: 11 }`;
    const whole = await run(config('whole', 'late.txt', sampling));
    assert.equal(whole.rows, 2048);
    assert.equal(whole.progressive.rows, 2048, 'every row is scored');
    // The probabilities average exactly 0.4, so the count is 0.4·N within 6σ (σ² = Σp(1−p) ≤ N/4).
    assert.ok(near(whole.trainedRows, 0.4 * 2048, 2048 / 4), `trained on ${whole.trainedRows}`);
    const cache = join(dir, 'whole', 'sampling-teacher');
    assert.equal(readdirSync(cache).length, 1, 'the teacher scores once, cached by its hash');

    // Stopped after the batch that reaches 1024 rows (as Ctrl-C does), then resumed on the same file.
    const stop = new AbortController();
    const progress = new Writable({
      write(chunk: Buffer, _enc, done): void {
        if (/ 1024 /.test(chunk.toString())) stop.abort();
        done();
      },
    });
    const cfg = config('resumed', 'late.txt', sampling);
    const first = await run(cfg, { quiet: false, stream: progress, signal: stop.signal });
    assert.equal(first.interrupted, true);
    assert.equal(first.rows, 1024);
    const resumed = await run(cfg, { resume: true });
    assert.equal(resumed.resumedAfter, 1024);
    assert.equal(resumed.trainedRows, whole.trainedRows);
    assert.deepEqual(readFileSync(join(resumed.modelDir, 'model.safetensors')), readFileSync(join(whole.modelDir, 'model.safetensors')));

    // Another seed keeps other rows (the decision is the seed's hash of the line, not the teacher alone).
    const other = await run(config('other', 'late.txt', sampling.replace('seed: 11', 'seed: 12')));
    assert.notDeepEqual(readFileSync(join(other.modelDir, 'model.safetensors')), readFileSync(join(whole.modelDir, 'model.safetensors')));

    // A teacher that is not a model directory, and a keep rate the floor cannot reach, are the config's errors.
    await assert.rejects(run(config('noteacher', 'late.txt', `{ loss: { teacher: ${join(dir, 'nowhere')}, keepRate: 0.4 } }`)),
      (e: Error) => e instanceof ConfigError && /data\.sampling\.loss\.teacher: .*nowhere is not a ctrkit model directory/.test(e.message));
    await assert.rejects(run(config('floor', 'late.txt', `{ loss: { teacher: ${join(dir, 'teacher', 'model')}, keepRate: 0.2, pMin: 0.05, keepPositives: true } }`)),
      (e: Error) => e instanceof ConfigError && /data\.sampling\.loss\.keepRate: keepRate 0\.2 is below what pMin and the kept positives alone keep/.test(e.message));
  });

  it('epoch mode: keepRate of the fit rows, the teacher scores cached under data.cache as distillation caches them', async () => {
    const file = config('epoch', 'late.txt', `{ loss: { teacher: ${join(dir, 'teacher', 'model')}, keepRate: 0.4, keepPositives: true }, seed: 4 }`);
    writeFileSync(file, readFileSync(file, 'utf8')
      .replace('  labels:', `  cache: ${join(dir, 'cache')}\n  labels:`)
      .replace(', online: { hashBuckets: 4096 }', ''));
    const notes: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done): void {
        notes.push(chunk.toString());
        done();
      },
    });
    const a = await runTraining(await loadExperimentConfig(file, root), { stream });
    // file-order split of 2048 rows: fit 1474 (0.8 · 0.9), sampled to 0.4 of them on average.
    assert.ok(near(a.rows.fit, 0.4 * 1474, 1474 / 4), `fit rows ${a.rows.fit}`);
    assert.deepEqual([a.rows.validation, a.rows.test], [164, 410]);
    assert.ok(notes.some((n) => /teacher .* scored 2048 rows, cached in .*teachers/.test(n)), notes.join(''));
    notes.length = 0;
    const b = await runTraining(await loadExperimentConfig(file, root), { stream, output: join(dir, 'epoch2') });
    assert.ok(notes.some((n) => /teacher scores loaded from the cache/.test(n)), notes.join(''));
    assert.equal(b.rows.fit, a.rows.fit, 'same seed, same rows');
  });
});

describe('position-based sampling on Avazu banner_pos', { skip: skipWithoutSharedData(AVAZU) }, () => {
  let dir: string;
  let pos: number[];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-ipw-pos-'));
    const rows = gunzipSync(readFileSync(join(sharedDataDir(), AVAZU))).toString('utf8').trim().split('\n').slice(1);
    pos = rows.map((r) => Number(r.split(',')[4]));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const config = (name: string, train: string): string => {
    const text = readFileSync(join(root, 'examples', 'avazu.yaml'), 'utf8')
      .replace('../shared/data', sharedDataDir())
      .replace('  labels:', '  sampling: { position: { column: banner_pos, beyond: 0, rate: 0.3 }, seed: 5 }\n  labels:')
      .replace(/^model:.*$/m, 'model: { type: lr }')
      .replace(/^train:.*$/m, `train: ${train}`)
      .replace(/^output:.*$/m, `output: ${join(dir, name)}`);
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, text);
    return file;
  };
  /** Σp and Σp(1−p) of rows [0, n) under beyond 0, rate 0.3. */
  const moments = (n: number): [number, number] => {
    let s = 0;
    let v = 0;
    for (const p of pos.slice(0, n).map((x) => (x > 0 ? 0.3 : 1))) {
      s += p;
      v += p * (1 - p);
    }
    return [s, v];
  };

  it('online: thins the impressions beyond position 0 at 0.3, scores every row, records no position label', async () => {
    const cfg = await loadExperimentConfig(config('online', '{ epochs: 1, batchSize: 256, seed: 1, optimizer: { type: adagrad, lr: 0.2 }, online: { hashBuckets: 4096 } }'), root);
    const r = await runOnlineTraining(cfg, { quiet: true });
    assert.equal(r.progressive.rows, pos.length);
    const [s, v] = moments(pos.length);
    assert.ok(near(r.trainedRows, s, v), `trained on ${r.trainedRows}, expected ${s.toFixed(0)}`);
    assert.ok(!near(r.trainedRows, pos.length, v), 'the bound tells sampling from none');
    assert.ok(!readFileSync(join(r.modelDir, 'manifest.json'), 'utf8').includes('sampling.position'));
  });

  it('epoch: the fit rows only, with the same probabilities', async () => {
    const cfg = await loadExperimentConfig(config('epoch', '{ epochs: 1, batchSize: 256, seed: 1, optimizer: { type: adagrad, lr: 0.2 } }'), root);
    const r = await runTraining(cfg, { quiet: true });
    // file-order split of 8999 rows: 7199 train, 6479 fit; validation and test unsampled.
    const [s, v] = moments(6479);
    assert.ok(near(r.rows.fit, s, v), `fit rows ${r.rows.fit}, expected ${s.toFixed(0)}`);
    assert.deepEqual([r.rows.validation, r.rows.test], [720, 1800]);
    assert.equal(r.sampling, undefined, 'weighted 1/p: nothing to correct');
    assert.equal(existsSync(join(r.modelDir, 'manifest.json')), true);
    assert.ok(!readFileSync(join(r.modelDir, 'manifest.json'), 'utf8').includes('sampling.position'));
  });
});

describe('data.sampling.loss / position config checks', () => {
  const base = {
    data: { source: { format: 'csv', path: 'x.csv' }, labels: [{ name: 'click' }], fields: [{ name: 'site', kind: 'categorical' }] },
    model: { type: 'lr' },
    train: { epochs: 1, batchSize: 8, optimizer: { type: 'adagrad', lr: 0.1 } },
    output: 'out',
  };
  const problems = (sampling: object, extra: { split?: object; train?: object } = {}): string => {
    try {
      parseExperimentConfig({ ...base, data: { ...base.data, sampling, ...(extra.split && { split: extra.split }) }, train: { ...base.train, ...extra.train } }, 'c.yaml');
      return 'accepted';
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
      return e.message;
    }
  };
  const loss = { teacher: 'runs/t/model', keepRate: 0.3 };

  it('refuses unknown keys, a missing teacher, probabilities out of range and half-given thresholds, naming the key', () => {
    assert.equal(problems({ loss }), 'accepted');
    assert.equal(problems({ position: { column: 'pos', rates: { 0: 1, 1: 0.5 } } }), 'accepted');
    assert.match(problems({ loss: { ...loss, keeprate: 0.3 } }), /data\.sampling\.loss: .*keeprate/);
    assert.match(problems({ loss: { keepRate: 0.3 } }), /data\.sampling\.loss\.teacher: give the teacher: a trained ctrkit model directory/);
    assert.match(problems({ loss: { ...loss, keepRate: 1.5 } }), /data\.sampling\.loss\.keepRate: a keep probability must be <= 1/);
    assert.match(problems({ loss: { ...loss, pMin: 0 } }), /data\.sampling\.loss\.pMin: a keep probability must be > 0/);
    assert.match(problems({ loss: { ...loss, pMin: 0.5 } }), /data\.sampling\.loss\.pMin: pMin must not exceed keepRate/);
    assert.match(problems({ position: { column: 'pos', beyond: 2 } }), /data\.sampling\.position\.rate: give beyond and rate together/);
    assert.match(problems({ position: { column: 'pos' } }), /data\.sampling\.position\.rates: give beyond and rate, or rates/);
    assert.match(problems({ position: { column: 'pos', rates: { top: 0.5 } } }), /data\.sampling\.position\.rates\.top: position \"top\" is not a number/);
    assert.match(problems({ position: { column: 'pos', beyond: 0, rate: -1 } }), /data\.sampling\.position\.rate: a keep probability must be > 0/);
    assert.match(problems({ position: { column: 'click', beyond: 0, rate: 0.5 } }), /data\.sampling\.position\.column: column click is a label/);
  });

  it('refuses what the teacher cannot score: a reordered split, standard input, JetStream', () => {
    assert.match(problems({ loss }, { split: { mode: 'random', validation: 0.1, test: 0.1 } }), /data\.sampling\.loss\.teacher: a teacher directory scores the data files in file order/);
    const online = (o: object): object => ({ online: { hashBuckets: 64, ...o } });
    assert.match(problems({ loss }, { train: online({ input: '-' }) }), /data\.sampling\.loss: in online mode the teacher scores the stream file once before training: read a file/);
    assert.match(problems({ loss }, { train: online({ jetstream: { servers: 'localhost:4222', stream: 'S' } }) }), /data\.sampling\.loss: in online mode the teacher scores the stream file/);
    assert.equal(problems({ position: { column: 'pos', beyond: 0, rate: 0.5 } }, { train: online({ input: '-' }) }), 'accepted');
  });
});
