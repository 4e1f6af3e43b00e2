/**
 * Growing vocabularies in online training (train.online.vocab) on the real Criteo head: a run
 * killed with SIGKILL and resumed ends on the same model bits and vocabulary state as an
 * uninterrupted one, 1 and 2 threads agree, the model file encodes as the trained vocabularies
 * stand (unknown and evicted ids → OOV row), and what cannot apply is refused.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { loadExperimentConfig, parseExperimentConfig } from '../../src/experiment/config.js';
import { runOnlineTraining } from '../../src/experiment/onlineRun.js';
import { loadScoringModel, scoreFile } from '../../src/experiment/scoring.js';
import { ConfigError, type GrowingVocabState } from '../../src/schema/index.js';
import { packageRoot, sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';
import { killAtStep } from '../helpers/killAtStep.js';

const CRITEO = 'criteo_kaggle_dac_head10k/criteo_kaggle_train_head10k.txt.gz';
const root = packageRoot();
const cli = join(root, 'dist', 'src', 'cli', 'main.js');

/** I1..I13 log-bucketed and hashed (512 buckets), C1..C26 growing: small capacity, so ids are evicted. */
function config(dir: string, input: string, output: string, name: string, vocab = '{ minCount: 2, capacity: 48, candidates: 200 }'): string {
  const fields = [
    ...Array.from({ length: 13 }, (_, i) => `{ name: I${i + 1}, kind: numeric, transform: log-bucket }`),
    ...Array.from({ length: 26 }, (_, i) => `{ name: C${i + 1}, kind: categorical }`),
  ];
  const text = `data:
  source: { format: criteo, path: ${join(dir, 'head.txt')} }
  labels: [{ name: click, column: label, type: binary }]
  fields:
${fields.map((f) => `    - ${f}`).join('\n')}
model: { type: dnn, dim: 4, hidden: [16] }
train: { epochs: 1, seed: 2, batchSize: 256, checkpointEvery: 4, optimizer: { type: adagrad, lr: 0.05, initialAccumulator: 0.1 }, logEvery: 1,
  online: { input: '${input}', hashBuckets: 512, window: 500${vocab === '' ? '' : `, vocab: ${vocab.replace('}', `, fields: [${Array.from({ length: 26 }, (_, i) => `C${i + 1}`).join(', ')}] }`)}`} } }
output: ${output}
`;
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const vocabState = (out: string): Record<string, GrowingVocabState> =>
  (JSON.parse(readFileSync(join(out, 'checkpoints', 'last', 'trainer.json'), 'utf8')) as { trainer: { auxiliary: { vocab: Record<string, GrowingVocabState> } } }).trainer.auxiliary.vocab;

describe('online training with growing vocabularies on the Criteo head', { skip: skipWithoutSharedData(CRITEO) }, () => {
  let dir: string;
  let lines: string[];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-online-vocab-'));
    lines = gunzipSync(readFileSync(join(sharedDataDir(), CRITEO))).toString('utf8').split('\n').slice(0, 4096);
    writeFileSync(join(dir, 'head.txt'), lines.join('\n') + '\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a run killed with SIGKILL and resumed ends on the bits and vocabularies of an uninterrupted run', async () => {
    const whole = config(dir, join(dir, 'head.txt'), join(dir, 'whole'), 'whole.yaml');
    const ref = spawnSync(process.execPath, [cli, 'train', whole, '-q'], { cwd: root, encoding: 'utf8' });
    assert.equal(ref.status, 0, ref.stderr);
    const refSummary = JSON.parse(ref.stdout) as { progressive: unknown; vocab: { evictions: number; forgotten: number; deferred: number } };
    const v = refSummary.vocab;
    assert.ok(v.evictions > 100 && v.forgotten > 0 && v.deferred > 0, `evictions, forgetting and deferral exercised: ${JSON.stringify(v)}`);

    const streamed = config(dir, '-', join(dir, 'killed'), 'killed.yaml');
    await killAtStep(cli, root, streamed, join(dir, 'killed', 'log.jsonl'), lines.slice(0, 2700).join('\n') + '\n', 10);
    assert.ok(Object.values(vocabState(join(dir, 'killed'))).some((v) => v.candidates.length > 0), 'the checkpoint at step 8 holds counts of ids not yet admitted');

    const resumed = spawnSync(process.execPath, [cli, 'train', streamed, '-q', '--resume'], { cwd: root, encoding: 'utf8', input: lines.join('\n') + '\n' });
    assert.equal(resumed.status, 0, resumed.stderr);
    const summary = JSON.parse(resumed.stdout) as { resumed_after: number; progressive: unknown; vocab: unknown };
    assert.equal(summary.resumed_after, 2048);
    assert.deepEqual(readFileSync(join(dir, 'killed', 'model', 'model.safetensors')), readFileSync(join(dir, 'whole', 'model', 'model.safetensors')));
    assert.deepEqual(summary.progressive, refSummary.progressive);
    assert.deepEqual(summary.vocab, refSummary.vocab);
    assert.deepEqual(vocabState(join(dir, 'killed')), vocabState(join(dir, 'whole')));
  });

  it('1 and 2 threads train the same bits; the model file encodes ids as the trained vocabularies stand', async () => {
    const file = config(dir, join(dir, 'head.txt'), join(dir, 't'), 't.yaml');
    const cfg = await loadExperimentConfig(file, root);
    const one = await runOnlineTraining(cfg, { quiet: true, threads: 1, output: join(dir, 't1') });
    const two = await runOnlineTraining(cfg, { quiet: true, threads: 2, output: join(dir, 't2') });
    assert.deepEqual(readFileSync(join(one.modelDir, 'model.safetensors')), readFileSync(join(two.modelDir, 'model.safetensors')));
    assert.deepEqual(vocabState(one.output), vocabState(two.output));

    // Predict on rows the stream never saw: each growing field's id is its admitted local id, else the OOV row.
    const state = vocabState(one.output);
    const later = gunzipSync(readFileSync(join(sharedDataDir(), CRITEO))).toString('utf8').split('\n').slice(4096, 4608);
    const next = join(dir, 'next.txt');
    writeFileSync(next, later.join('\n') + '\n');
    const scored = await scoreFile(one.modelDir, next, { labels: true });
    const ds = scored.dataset;
    let admitted = 0;
    let oov = 0;
    for (let c = 0; c < 26; c++) {
      const j = 13 + c;
      const ids = new Map(state[`C${c + 1}`]!.admitted);
      for (let r = 0; r < ds.numRows; r++) {
        const token = later[r]!.split('\t')[14 + c]!;
        const local = ids.get(token) ?? 0;
        assert.equal(ds.ids[r * ds.numFields + j], ds.fieldOffsets[j]! + local, `row ${r} C${c + 1} ${token}`);
        if (local === 0) oov++;
        else admitted++;
      }
    }
    assert.ok(admitted > 1000 && oov > 1000, `both admitted and OOV ids scored (${admitted}, ${oov})`);
    assert.equal(ds.fieldSizes[13], 49);
  });

  it('--force-resume from a checkpoint without vocabularies is refused, naming the field', async () => {
    const input = join(dir, 'head512.txt');
    writeFileSync(input, lines.slice(0, 512).join('\n') + '\n');
    const out = join(dir, 'plain');
    await runOnlineTraining(await loadExperimentConfig(config(dir, input, out, 'plain.yaml', ''), root), { quiet: true });
    // Capacity 511: the same table shape as 512 hash buckets, so only the vocabularies are missing.
    const grown = await loadExperimentConfig(config(dir, input, out, 'grown.yaml', '{ minCount: 1, capacity: 511 }'), root);
    await assert.rejects(runOnlineTraining(grown, { quiet: true, forceResume: true }),
      (e: Error) => e instanceof ConfigError && /checkpoints.last: no growing vocabulary of field C1 \(the checkpoint was written without train\.online\.vocab on it\)/.test(e.message));
  });
});

describe('a row handed to a new id in online training', () => {
  it('starts afresh: the newcomer does not inherit the evicted id\'s weight', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctrkit-online-vocab-reset-'));
    try {
      // site a, always clicked, trains its row up; then b (never clicked) evicts a from the one-row table.
      writeFileSync(join(dir, 's.csv'), 'click,site\n' + '1,a\n'.repeat(6) + '0,b\n');
      const cfg = parseExperimentConfig({
        data: { source: { format: 'csv', path: 's.csv' }, labels: [{ name: 'click' }], fields: [{ name: 'site', kind: 'categorical' }] },
        model: { type: 'lr' },
        train: { epochs: 1, batchSize: 1, seed: 1, optimizer: { type: 'adagrad', lr: 0.1 }, online: { vocab: { minCount: 1, capacity: 1 } } },
        output: join(dir, 'out'),
      }, join(dir, 'c.yaml'), dir);
      const r = await runOnlineTraining(cfg, { quiet: true });
      assert.equal(r.vocab?.evictions, 1);
      const w = loadScoringModel(r.modelDir).model.tables()[0]!.data;
      // Row 1 (b's, a's before): one step on a non-click from a fresh start, not a's trained weight less a step.
      assert.ok(w[1]! < 0, `b's weight ${w[1]}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('train.online.vocab config checks', () => {
  const base = {
    data: {
      source: { format: 'csv', path: 'x.csv' }, labels: [{ name: 'click' }],
      fields: [
        { name: 'site', kind: 'categorical' }, { name: 'app', kind: 'categorical', hashBuckets: 8 },
        { name: 'n', kind: 'numeric', transform: 'log-bucket' }, { name: 'seq', kind: 'sequence', hashBuckets: 4 },
      ],
    },
    model: { type: 'lr' },
    output: 'out',
  };
  const problems = (vocab: unknown, data: object = base.data): string => {
    try {
      parseExperimentConfig({ ...base, data, train: { epochs: 1, batchSize: 8, optimizer: { type: 'adagrad', lr: 0.1 }, online: { vocab } } }, 'c.yaml');
      return 'accepted';
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
      return e.message;
    }
  };

  it('accepts categorical and log-bucket fields, refuses what cannot grow a vocabulary', () => {
    assert.equal(problems({ minCount: 2, capacity: 100, fields: ['site', 'n'] }), 'accepted');
    assert.equal(problems({ minCount: 1, capacity: 100 }), 'accepted');
    assert.match(problems({ minCount: 2, capacity: 100, fields: ['app'] }), /train\.online\.vocab\.fields\[0\]: field app sets hashBuckets: a field hashes or grows a vocabulary, not both/);
    assert.match(problems({ minCount: 2, capacity: 100, fields: ['seq'] }), /train\.online\.vocab\.fields\[0\]: no categorical or log-bucket field "seq" in data\.fields \(sequences hash in online mode\)/);
    assert.match(problems({ minCount: 2, capacity: 100, fields: ['nope'] }), /vocab\.fields\[0\]: no categorical or log-bucket field "nope"/);
    assert.match(problems({ minCount: 2, capacity: 100, fields: ['site', 'site'] }), /vocab\.fields\[1\]: field site is listed twice/);
    assert.match(problems({ minCount: 2, capacity: 0 }), /train\.online\.vocab\.capacity/);
    assert.match(problems({ minCount: 0, capacity: 10 }), /train\.online\.vocab\.minCount/);
    assert.match(problems({ minCount: 2, capacity: 10, maxSize: 3 }), /train\.online\.vocab.*maxSize/);
    assert.match(problems({ minCount: 2 }), /train\.online\.vocab\.capacity/);
    const hashedOnly = { ...base.data, fields: [base.data.fields[1]] };
    assert.match(problems({ minCount: 2, capacity: 10 }, hashedOnly), /train\.online\.vocab: no categorical or log-bucket field without hashBuckets to grow a vocabulary for/);
  });
});
