/**
 * Online training (`train.online`) on slices of the real Criteo head: the progressive scores are
 * the predictions of the model trained on the rows before them, the model directory serves
 * `predict` as an offline one does, and a run killed with SIGKILL mid-stream and resumed trains on
 * every row exactly once (bit-identical model to an uninterrupted run).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { loadExperimentConfig, parseExperimentConfig } from '../../src/experiment/config.js';
import { runOnlineTraining } from '../../src/experiment/onlineRun.js';
import { scoreFile } from '../../src/experiment/scoring.js';
import { logLoss } from '../../src/metrics/index.js';
import { parseMetricLog } from '../../src/train/metricLog.js';
import { ConfigError, streamSchema } from '../../src/schema/index.js';
import { packageRoot, sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';
import { killAtStep, loggedSteps } from '../helpers/killAtStep.js';
import { tempDir } from '../helpers/tmpDir.js';

const CRITEO = 'criteo_kaggle_dac_head10k/criteo_kaggle_train_head10k.txt.gz';
const skip = skipWithoutSharedData(CRITEO);
const root = packageRoot();
const cli = join(root, 'dist', 'src', 'cli', 'main.js');

const FIELDS = [
  ...Array.from({ length: 13 }, (_, i) => `{ name: I${i + 1}, kind: numeric, transform: log-bucket }`),
  ...Array.from({ length: 26 }, (_, i) => `{ name: C${i + 1}, kind: categorical }`),
];

/** An online config over `input` (a file or '-'), small enough to train in a moment. */
function config(dir: string, input: string, output: string, train: string, name = 'online.yaml', online = ''): string {
  const text = `data:
  source: { format: criteo, path: ${join(dir, 'head.txt')} }
  labels: [{ name: click, column: label, type: binary }]
  fields:
${FIELDS.map((f) => `    - ${f}`).join('\n')}
model: { type: dnn, dim: 4, hidden: [16] }
train: { epochs: 1, seed: 2, optimizer: { type: adagrad, lr: 0.05, initialAccumulator: 0.1 }, logEvery: 1, ${train}, online: { input: '${input}', hashBuckets: 512, window: 500, sliceField: C9${online} } }
output: ${output}
`;
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function runCli(args: string[], input?: Buffer): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, input, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('online training on the Criteo head', { skip }, () => {
  let dir: string;
  let lines: string[];
  const slice = (from: number, to: number, name: string): string => {
    const f = join(dir, name);
    writeFileSync(f, lines.slice(from, to).join('\n') + '\n');
    return f;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-online-'));
    lines = gunzipSync(readFileSync(join(sharedDataDir(), CRITEO))).toString('utf8').split('\n').slice(0, 4096);
    slice(0, 4096, 'head.txt');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('scores each batch with the model trained on the rows before it, and saves a model predict reads', async () => {
    const first = slice(0, 512, 'first512.txt');
    const both = slice(0, 1024, 'first1024.txt');
    const next = slice(512, 1024, 'next512.txt');
    const load = async (input: string, out: string): ReturnType<typeof runOnlineTraining> =>
      runOnlineTraining(await loadExperimentConfig(config(dir, input, join(dir, out), 'batchSize: 512', `${out}.yaml`), root), { quiet: true });
    const a = await load(first, 'a');
    const b = await load(both, 'b');
    assert.equal(a.rows, 512);
    assert.equal(b.rows, 1024);
    const progress = parseMetricLog(readFileSync(b.logFile, 'utf8')).filter((r) => r.event === 'progress');
    assert.deepEqual(progress.map((r) => r.rows), [512, 1024]);
    // Rows 513..1024 were scored by the model after the first batch, which is what run a saved.
    const scored = await scoreFile(a.modelDir, next, { labels: true });
    const expected = logLoss(scored.probs, scored.dataset.labels[0]!);
    assert.ok(Math.abs((progress[1]!.since_last_logloss as number) - expected) < 1e-9, `since-last ${progress[1]!.since_last_logloss} vs predict ${expected}`);
    assert.equal(progress[1]!.since_last_rows, 512);
    // The first batch was scored by the initial model: the cumulative loss at 512 rows is that batch's alone.
    assert.equal(progress[0]!.logloss, progress[0]!.since_last_logloss);
    assert.equal(b.progressive.slices.reduce((s, x) => s + x.rows, 0), 1024);
    // The run report draws the progressive metrics over the rows scored (from the log's progress records).
    const report = JSON.parse(readFileSync(join(b.output, 'report.json'), 'utf8')) as { tasks: { sections: { title: string; series?: { name: string; x: number[] }[] }[] }[] };
    const auc = report.tasks[0]!.sections.find((s) => s.title === 'Progressive AUC');
    assert.deepEqual(auc?.series?.map((s) => [s.name, s.x]), [['cumulative (histogram)', [512, 1024]], ['sliding window (exact)', [512, 1024]]]);
    assert.ok(existsSync(b.report));
  });

  it('a run killed with SIGKILL mid-stream and resumed trains every row once: the same model bits as an uninterrupted run', async () => {
    const data = Buffer.from(lines.join('\n') + '\n');
    const whole = config(dir, join(dir, 'head.txt'), join(dir, 'whole'), 'batchSize: 256, checkpointEvery: 4', 'whole.yaml');
    const ref = runCli(['train', whole, '-q']);
    assert.equal(ref.status, 0, ref.stderr);
    const refSummary = JSON.parse(ref.stdout) as { rows: number; progressive: unknown };
    assert.equal(refSummary.rows, 4096);

    const streamed = config(dir, '-', join(dir, 'killed'), 'batchSize: 256, checkpointEvery: 4', 'killed.yaml');
    const log = join(dir, 'killed', 'log.jsonl');
    // 10 batches and part of the 11th: the run trains 10 batches (checkpoint at 8) and waits for more input.
    await killAtStep(cli, root, streamed, log, lines.slice(0, 2700).join('\n') + '\n', 10);
    const state = JSON.parse(readFileSync(join(dir, 'killed', 'checkpoints', 'last', 'trainer.json'), 'utf8')) as { trainer: { globalStep: number; auxiliary: { online: { position: number } } } };
    assert.equal(state.trainer.globalStep, 8, 'the last checkpoint is at step 8, two steps behind the kill');
    assert.equal(state.trainer.auxiliary.online.position, 2048);
    assert.ok(!existsSync(join(dir, 'killed', 'model')), 'the killed run did not finish');

    // The producer replays the stream from its start; the resumed run skips what the checkpoint covers.
    const resumed = runCli(['train', streamed, '-q', '--resume'], data);
    assert.equal(resumed.status, 0, resumed.stderr);
    const summary = JSON.parse(resumed.stdout) as { rows: number; resumed_after: number; progressive: unknown };
    assert.equal(summary.resumed_after, 2048);
    assert.equal(summary.rows, 4096);
    assert.deepEqual(readFileSync(join(dir, 'killed', 'model', 'model.safetensors')), readFileSync(join(dir, 'whole', 'model', 'model.safetensors')));
    assert.deepEqual(summary.progressive, refSummary.progressive);
    // Every optimiser step is logged once: the steps logged after the checkpoint by the killed run were cut.
    assert.deepEqual(loggedSteps(log), Array.from({ length: 16 }, (_, i) => i + 1));
  });

  it('data.sampling thins the rows trained on, never the rows scored; a resumed run keeps the same rows', async () => {
    /** An online config over `input` with negatives kept at rate 0.25. */
    const sampled = (input: string, out: string, train: string, online = ''): string => {
      const f = config(dir, input, join(dir, out), train, `${out}.yaml`, online);
      writeFileSync(f, readFileSync(f, 'utf8').replace('  labels:', '  sampling: { negativeRate: 0.25, seed: 7 }\n  labels:'));
      return f;
    };
    const run = async (file: string, opts: Parameters<typeof runOnlineTraining>[1] = {}): ReturnType<typeof runOnlineTraining> =>
      runOnlineTraining(await loadExperimentConfig(file, root), { quiet: true, ...opts });
    const head = join(dir, 'head.txt');
    const positives = lines.filter((l) => l.startsWith('1\t')).length;
    const corrected = await run(sampled(head, 's-corrected', 'batchSize: 256'));
    const raw = await run(sampled(head, 's-raw', 'batchSize: 256, correctSampling: false'));
    const ipw = await run(sampled(head, 's-ipw', 'batchSize: 256', ', inverseWeights: true'));
    for (const r of [corrected, raw, ipw]) {
      assert.equal(r.rows, 4096);
      assert.equal(r.progressive.rows, 4096, 'every row of the stream is scored');
      assert.ok(r.trainedRows > positives && r.trainedRows < positives + 0.35 * (4096 - positives), `trained on ${r.trainedRows} rows`);
    }
    // Same rows kept and trained on (the scoring does not feed back): only the correction differs.
    assert.equal(raw.trainedRows, corrected.trainedRows);
    assert.deepEqual(readFileSync(join(corrected.modelDir, 'model.safetensors')), readFileSync(join(raw.modelDir, 'model.safetensors')));
    const meanY = corrected.progressive.meanY!;
    assert.ok(raw.progressive.meanP! > corrected.progressive.meanP!);
    assert.ok(Math.abs(corrected.progressive.meanP! - meanY) < Math.abs(raw.progressive.meanP! - meanY), `corrected ${corrected.progressive.meanP} raw ${raw.progressive.meanP} y ${meanY}`);
    assert.ok(Math.abs(ipw.progressive.meanP! - meanY) < Math.abs(raw.progressive.meanP! - meanY), `ipw ${ipw.progressive.meanP} raw ${raw.progressive.meanP} y ${meanY}`);
    const manifest = (d: string): { sampling?: { negativeRate?: number; negativeSampleRate?: number; corrected: boolean } } => JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8'));
    assert.equal(manifest(corrected.modelDir).sampling?.corrected, true, 'the served model corrects as the progressive scores did');
    assert.equal(manifest(ipw.modelDir).sampling, undefined, 'weighted 1/r: nothing to correct');

    // The first half, then the whole file resumed after it: the rows kept depend on their lines, not on where the run started.
    const half = slice(0, 2048, 'half.txt');
    const split = sampled(half, 's-resumed', 'batchSize: 256');
    await run(split);
    const resumed = await run(sampled(head, 's-resumed', 'batchSize: 256'), { forceResume: true });
    assert.equal(resumed.resumedAfter, 2048);
    assert.equal(resumed.trainedRows, corrected.trainedRows);
    assert.deepEqual(readFileSync(join(resumed.modelDir, 'model.safetensors')), readFileSync(join(corrected.modelDir, 'model.safetensors')));
  });

  it('bias constraints by pCTR bucket train in a stream; their λ are checkpointed, so a resumed run ends on the same bits', async () => {
    const run = async (input: string, out: string, bias: boolean, opts: Parameters<typeof runOnlineTraining>[1] = {}): ReturnType<typeof runOnlineTraining> =>
      runOnlineTraining(await loadExperimentConfig(config(dir, input, join(dir, out), `batchSize: 256${bias ? ', biasConstraints: { slices: { by: pctr, buckets: 4 }, lr: 0.5 }' : ''}`, `${out}.yaml`), root), { quiet: true, ...opts });
    const head = join(dir, 'head.txt');
    const plain = await run(head, 'bc-plain', false);
    const whole = await run(head, 'bc-whole', true);
    const lambda = (out: string): number[] => (JSON.parse(readFileSync(join(dir, out, 'checkpoints', 'last', 'trainer.json'), 'utf8')) as { trainer: { auxiliary: { biasConstraints: { lambda: number[] } } } }).trainer.auxiliary.biasConstraints.lambda;
    assert.equal(lambda('bc-whole').length, 4);
    assert.ok(lambda('bc-whole').some((l) => l !== 0), 'the duals moved');
    assert.notDeepEqual(readFileSync(join(whole.modelDir, 'model.safetensors')), readFileSync(join(plain.modelDir, 'model.safetensors')));
    const progress = parseMetricLog(readFileSync(whole.logFile, 'utf8')).filter((r) => r.event === 'progress');
    assert.ok(progress.every((r) => typeof r.bias_lambda_0 === 'number'), 'λ is logged with the progressive metrics');

    await run(slice(0, 2048, 'bc-half.txt'), 'bc-resumed', true);
    const resumed = await run(head, 'bc-resumed', true, { forceResume: true });
    assert.equal(resumed.resumedAfter, 2048);
    assert.deepEqual(lambda('bc-resumed'), lambda('bc-whole'));
    assert.deepEqual(readFileSync(join(resumed.modelDir, 'model.safetensors')), readFileSync(join(whole.modelDir, 'model.safetensors')));
  });

  it('reading ahead on a worker thread trains the same model bits, logs and checkpoints as reading in-thread', async () => {
    const head = join(dir, 'head.txt');
    const run = async (out: string, online: string): ReturnType<typeof runOnlineTraining> =>
      runOnlineTraining(await loadExperimentConfig(config(dir, head, join(dir, out), 'batchSize: 256, checkpointEvery: 5', `${out}.yaml`, online), root), { quiet: true });
    const ahead = await run('ahead', ', readAhead: true');
    const inThread = await run('in-thread', ', readAhead: false');
    assert.deepEqual([ahead.reading, inThread.reading], ['ahead', 'in-thread']);
    assert.equal(ahead.rows, 4096);
    assert.deepEqual(readFileSync(join(ahead.modelDir, 'model.safetensors')), readFileSync(join(inThread.modelDir, 'model.safetensors')));
    assert.deepEqual(ahead.progressive, inThread.progressive);
    // Every record but its time, the loop's speed and how the stream was read.
    const records = (file: string): unknown[] => parseMetricLog(readFileSync(file, 'utf8')).map(({ time: _t, rows_per_s: _r, reading: _g, read_ahead: _a, cores: _c, ...rest }) => rest);
    assert.deepEqual(records(ahead.logFile), records(inThread.logFile));
    const last = (r: typeof ahead, f: string): Buffer => readFileSync(join(r.checkpointsDir, 'last', f));
    assert.deepEqual(last(ahead, 'tensors.safetensors'), last(inThread, 'tensors.safetensors'));
    // The checkpoint's config differs in readAhead alone, which a resume allows (it changes no result).
    const state = (r: typeof ahead): unknown => ({ ...(JSON.parse(last(r, 'trainer.json').toString()) as object), config: undefined });
    assert.deepEqual(state(ahead), state(inThread));
    const resumed = await runOnlineTraining(await loadExperimentConfig(config(dir, head, join(dir, 'ahead'), 'batchSize: 256, checkpointEvery: 5', 'ahead-resumed.yaml', ', readAhead: false'), root), { quiet: true, resume: true });
    assert.equal(resumed.resumedAfter, 4096);
  });

  it("readAhead 'auto' (the default) reads ahead only with cores to spare, and the log and report say which", async () => {
    const head = join(dir, 'head.txt');
    const run = async (out: string, cores: number): ReturnType<typeof runOnlineTraining> =>
      runOnlineTraining(await loadExperimentConfig(config(dir, head, join(dir, out), 'batchSize: 512', `${out}.yaml`), root), { quiet: true, cores });
    const start = (r: { logFile: string }): Record<string, unknown> => parseMetricLog(readFileSync(r.logFile, 'utf8')).find((x) => x.event === 'start')!;
    const two = await run('auto-2', 2);
    const many = await run('auto-8', 8);
    assert.deepEqual([two.reading, many.reading], ['in-thread', 'ahead']);
    assert.deepEqual([start(two).reading, start(two).read_ahead, start(two).cores], ['in-thread', 'auto', 2]);
    assert.deepEqual([start(many).reading, start(many).read_ahead, start(many).cores], ['ahead', 'auto', 8]);
    const report = JSON.parse(readFileSync(join(many.output, 'report.json'), 'utf8')) as { run: Record<string, unknown> };
    assert.equal(report.run.reading, 'ahead');
    assert.deepEqual(readFileSync(join(two.modelDir, 'model.safetensors')), readFileSync(join(many.modelDir, 'model.safetensors')));
    // Standard input is read on the training thread whatever the cores.
    const piped = spawnSync(process.execPath, [cli, 'train', config(dir, '-', join(dir, 'auto-stdin'), 'batchSize: 512', 'auto-stdin.yaml'), '-q'],
      { cwd: root, input: lines.slice(0, 600).join('\n') + '\n', encoding: 'utf8' });
    assert.equal(piped.status, 0, piped.stderr);
    assert.equal((JSON.parse(piped.stdout) as { reading: string }).reading, 'in-thread');
    // Another value is refused, naming the key and what it may be.
    await assert.rejects(loadExperimentConfig(config(dir, head, join(dir, 'auto-bad'), 'batchSize: 512', 'auto-bad.yaml', ', readAhead: sometimes'), root),
      (e: Error) => /train\.online\.readAhead: expected true, false or 'auto'/.test(e.message));
  });

  it('publishes the model directory every publishEvery steps while the stream goes on', async () => {
    const cfg = config(dir, '-', join(dir, 'published'), 'batchSize: 256', 'published.yaml', ', publishEvery: 1');
    const child = spawn(process.execPath, [cli, 'train', cfg, '-q'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    child.stdin.write(lines.slice(0, 600).join('\n') + '\n');
    const manifest = join(dir, 'published', 'model', 'manifest.json');
    const provenance = (): { trainRows: number; dataHash: string } | undefined =>
      (existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as { provenance: { trainRows: number; dataHash: string } }).provenance : undefined);
    const deadline = Date.now() + 60_000;
    while (provenance()?.trainRows !== 512) {
      assert.ok(Date.now() < deadline, `no model after 2 batches in time (${JSON.stringify(provenance())})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // The third batch is short of rows: the run waits for input, serving the model of the first two.
    assert.equal(provenance()!.dataHash, '- through line 512');
    child.stdin.end();
    assert.equal(await exited, 0);
    assert.deepEqual(provenance(), { ...provenance()!, trainRows: 600, dataHash: 'stdin' });
  });

  it('reads a gzip stream on standard input like the file, and skips or names a bad line', () => {
    const file = config(dir, join(dir, 'first1024.txt'), join(dir, 'plain'), 'batchSize: 256', 'plain.yaml');
    const piped = config(dir, '-', join(dir, 'piped'), 'batchSize: 256', 'piped.yaml');
    slice(0, 1024, 'first1024.txt');
    assert.equal(runCli(['train', file, '-q']).status, 0);
    const r = runCli(['train', piped, '-q'], gzipSync(Buffer.from(lines.slice(0, 1024).join('\n') + '\n')));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readFileSync(join(dir, 'piped', 'model', 'model.safetensors')), readFileSync(join(dir, 'plain', 'model', 'model.safetensors')));

    const bad = [...lines.slice(0, 300), 'x\tnot a criteo line', ...lines.slice(300, 600)].join('\n') + '\n';
    const failed = runCli(['train', piped, '-q', '-o', join(dir, 'bad')], Buffer.from(bad));
    assert.notEqual(failed.status, 0);
    assert.match(failed.stderr, /^ctrkit: -:301:/m);
    const skipped = runCli(['train', piped, '-q', '-o', join(dir, 'bad'), '--on-bad-line', 'skip'], Buffer.from(bad));
    assert.equal(skipped.status, 0, skipped.stderr);
    const s = JSON.parse(skipped.stdout) as { rows: number; skipped_lines: number; position: number; position_kind: string };
    assert.deepEqual([s.rows, s.skipped_lines, s.position, s.position_kind], [600, 1, 601, 'line']);
  });
});

describe('online config checks', () => {
  it('examples/online-criteo.yaml is an online config whose fields all hash', async () => {
    const cfg = await loadExperimentConfig(join(root, 'examples', 'online-criteo.yaml'), root);
    assert.ok(cfg.train.online !== undefined);
    const fitted = streamSchema(cfg.data, cfg.train.online.hashBuckets, cfg.file, 'train.online.hashBuckets');
    assert.deepEqual([...new Set(fitted.spec.fields.map((f) => f.kind))], ['hash']);
    assert.equal(fitted.spec.fields.filter((f) => f.kind === 'hash' && f.logBucket === true).length, 13);
  });

  const base = {
    data: {
      source: { format: 'csv', path: 'x.csv' }, labels: [{ name: 'click' }],
      fields: [{ name: 'site', kind: 'categorical' }, { name: 'n', kind: 'numeric', transform: 'log-bucket' }],
    },
    model: { type: 'lr' },
    output: 'out',
  };
  const train = (extra: object): object => ({ epochs: 1, batchSize: 8, optimizer: { type: 'adagrad', lr: 0.1 }, online: {}, ...extra });
  const problems = (raw: object): string => {
    try {
      const cfg = parseExperimentConfig(raw, 'c.yaml');
      return JSON.stringify(cfg.train.online);
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
      return e.message;
    }
  };

  it('refuses what a single pass over a stream cannot honour', () => {
    assert.match(problems({ ...base, train: train({ epochs: 2 }) }), /train\.epochs: online training makes one pass/);
    assert.match(problems({ ...base, train: train({ calibration: 'platt' }) }), /train\.calibration: online training has no validation rows/);
    assert.match(problems({ ...base, train: train({ online: { sliceField: 'n' } }) }), /train\.online\.sliceField: no categorical field "n"/);
    assert.match(problems({ ...base, train: train({ biasConstraints: { slices: { by: 'field', field: 'site' }, lr: 0.1 } }) }), /train\.biasConstraints\.slices\.by: online training slices by pCTR bucket/);
    assert.match(problems({ ...base, train: train({ online: { inverseWeights: true } }) }), /train\.online\.inverseWeights: weights 1\/r of sampled negatives: set data\.sampling\.negativeRate below 1/);
    assert.match(problems({ ...base, data: { ...base.data, source: { format: 'parquet', path: 'x.parquet' } }, train: train({}) }), /data\.source\.format: online training reads a line format/);
  });

  it('a field without hashBuckets needs the stream default (a vocabulary cannot be fit on a stream)', async () => {
    const cfg = parseExperimentConfig({ ...base, train: train({}) }, 'c.yaml', tmpdir());
    await assert.rejects(runOnlineTraining(cfg, { quiet: true, output: tempDir('ctrkit-online-cfg-') }),
      (e: Error) => e instanceof ConfigError && /data\.fields\[0\]: field site: a vocabulary cannot be fit on a stream: give it hashBuckets, or set train\.online\.hashBuckets/.test(e.message)
        && /data\.fields\[1\]: field n:/.test(e.message));
  });
});
