/**
 * Online training from a NATS JetStream stream, against a local nats-server (started on 127.0.0.1
 * with JetStream for these tests and stopped after them): the same model bits as from the file,
 * received by the read-ahead worker or on the training thread, a SIGKILL mid-stream resumed at the
 * next sequence with every message trained once, a malformed message named by its sequence, and a
 * broker restart in the middle of a run survived without loss. Messages of several records: the
 * model bits of the file, a SIGKILL with batches ending inside messages resumed inside the message
 * (sampled rows the same), a malformed record named by message and line.
 * Skipped when nats-server or the optional @nats-io packages are absent.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseMetricLog } from '../../src/train/metricLog.js';
import { loadExperimentConfig } from '../../src/experiment/config.js';
import { runOnlineTraining } from '../../src/experiment/onlineRun.js';
import { heldMessages, openJetStreamLines } from '../../src/data/jetstream.js';
import { DataFormatError } from '../../src/data/readers/errors.js';
import { openRowStream, openRowStreamAhead, streamSchema, type RowStream, type StreamBatch, type StreamOptions } from '../../src/schema/index.js';
import { dataConfig } from '../schema/helpers.js';
import { packageRoot, sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';
import { freePort, waitForPort } from '../../bench/localPort.js';

const CRITEO = 'criteo_kaggle_dac_head10k/criteo_kaggle_train_head10k.txt.gz';
const root = packageRoot();
const cli = join(root, 'dist', 'src', 'cli', 'main.js');

/** The publishing calls of the optional client packages (typed here: the build does not need them). */
interface Client {
  transport: { connect(o: { servers: string }): Promise<{ close(): Promise<void> }> };
  js: {
    jetstreamManager(nc: unknown): Promise<{ streams: {
      info(name: string): Promise<unknown>; add(cfg: { name: string; subjects: string[] }): Promise<unknown>; deleteMessage(stream: string, seq: number): Promise<boolean>;
    } }>;
    jetstream(nc: unknown): { publish(subject: string, data: string): Promise<unknown> };
  };
}

async function natsClient(): Promise<Client | undefined> {
  const load = (pkg: string): Promise<unknown> => import(pkg);
  try {
    return { transport: await load('@nats-io/transport-node') as Client['transport'], js: await load('@nats-io/jetstream') as Client['js'] };
  } catch {
    return undefined;
  }
}

const client = await natsClient();
const hasServer = spawnSync('nats-server', ['--version']).status === 0;
const skip = skipWithoutSharedData(CRITEO)
  ?? (hasServer ? undefined : 'nats-server is not on PATH (Debian: apt-get install nats-server)')
  ?? (client ? undefined : 'the packages @nats-io/transport-node and @nats-io/jetstream are not installed (npm install)');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('online training from NATS JetStream', { skip }, () => {
  let dir: string;
  let port: number;
  let server: ChildProcess | undefined;
  let lines: string[];

  const startServer = async (): Promise<void> => {
    server = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'store')], { stdio: 'ignore' });
    await waitForPort(port);
  };
  const stopServer = async (): Promise<void> => {
    const s = server;
    if (s === undefined || s.exitCode !== null) return;
    const exited = new Promise((r) => s.once('exit', r));
    s.kill('SIGTERM');
    await exited;
    server = undefined;
  };

  /** Creates the stream (once) and publishes `msgs` to it. */
  async function publish(stream: string, msgs: string[]): Promise<void> {
    const { transport, js } = client!;
    const nc = await transport.connect({ servers: `127.0.0.1:${port}` });
    const jsm = await js.jetstreamManager(nc);
    try {
      await jsm.streams.info(stream);
    } catch {
      await jsm.streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.>`] });
    }
    const j = js.jetstream(nc);
    // In groups, in order (one connection): the bound test needs tens of thousands.
    for (let i = 0; i < msgs.length; i += 256) await Promise.all(msgs.slice(i, i + 256).map((m) => j.publish(`${stream.toLowerCase()}.impressions`, m)));
    await nc.close();
  }

  /** `ls` as messages of `sizes[i % sizes.length]` lines each, every other one with a trailing newline. */
  const grouped = (ls: string[], sizes: number[]): string[] => {
    const out: string[] = [];
    for (let at = 0, i = 0; at < ls.length; i++) {
      const k = sizes[i % sizes.length]!;
      out.push(ls.slice(at, at + k).join('\n') + (i % 2 === 1 ? '\n' : ''));
      at += k;
    }
    return out;
  };

  function config(name: string, online: string, train = 'batchSize: 256, checkpointEvery: 4'): string {
    const fields = [
      ...Array.from({ length: 13 }, (_, i) => `{ name: I${i + 1}, kind: numeric, transform: log-bucket }`),
      ...Array.from({ length: 26 }, (_, i) => `{ name: C${i + 1}, kind: categorical }`),
    ];
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, `data:
  source: { format: criteo, path: ${join(dir, 'head.txt')} }
  labels: [{ name: click, column: label, type: binary }]
  fields:
${fields.map((f) => `    - ${f}`).join('\n')}
model: { type: dnn, dim: 4, hidden: [16] }
train: { epochs: 1, seed: 2, optimizer: { type: adagrad, lr: 0.05, initialAccumulator: 0.1 }, logEvery: 1, ${train}, online: { hashBuckets: 512, window: 500, ${online} } }
output: ${join(dir, name)}
`);
    return file;
  }
  const jetstream = (stream: string, idle: number): string => `jetstream: { servers: '127.0.0.1:${port}', stream: ${stream}, idleSeconds: ${idle} }`;
  const runCli = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const model = (name: string): Buffer => readFileSync(join(dir, name, 'model', 'model.safetensors'));
  const steps = (name: string): number[] => {
    const log = join(dir, name, 'log.jsonl');
    return existsSync(log) ? parseMetricLog(readFileSync(log, 'utf8')).filter((r) => r.event === 'step').map((r) => r.globalStep) : [];
  };

  /** Runs `ctrkit train cfg` (output `name`) and kills it with SIGKILL once it has logged step `step`. */
  async function killAfterStep(name: string, cfg: string, step: number): Promise<void> {
    const child = spawn(process.execPath, [cli, 'train', cfg, '-q'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise((r) => child.once('exit', r));
    const deadline = Date.now() + 60_000;
    while (!steps(name).includes(step)) {
      assert.ok(Date.now() < deadline, `no step ${step} in time; stderr: ${stderr}`);
      await sleep(50);
    }
    child.kill('SIGKILL');
    await exited;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-jetstream-'));
    lines = gunzipSync(readFileSync(join(sharedDataDir(), CRITEO))).toString('utf8').split('\n').slice(0, 4096);
    writeFileSync(join(dir, 'head.txt'), lines.join('\n') + '\n');
    port = await freePort();
    await startServer();
    // The uninterrupted reference: the same rows from the file.
    const r = runCli(['train', config('file', `input: '${join(dir, 'head.txt')}'`), '-q']);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    await stopServer();
    rmSync(dir, { recursive: true, force: true });
  });

  it('trains on the messages as on the file, and a SIGKILL mid-stream resumes at the next sequence with every message trained once', async () => {
    await publish('EV', lines.slice(0, 2700));
    const cfg = config('killed', jetstream('EV', 5));
    // 10 whole batches are there; the 11th waits for messages that have not been published yet.
    await killAfterStep('killed', cfg, 10);
    const state = JSON.parse(readFileSync(join(dir, 'killed', 'checkpoints', 'last', 'trainer.json'), 'utf8')) as { trainer: { globalStep: number; auxiliary: { online: { position: number } } } };
    assert.equal(state.trainer.globalStep, 8);
    assert.equal(state.trainer.auxiliary.online.position, 2048, 'the checkpoint holds the sequence of the last message trained on');
    assert.ok(!existsSync(join(dir, 'killed', 'model')), 'the killed run did not finish');

    await publish('EV', lines.slice(2700));
    const resumed = runCli(['train', cfg, '-q', '--resume']);
    assert.equal(resumed.status, 0, resumed.stderr);
    const s = JSON.parse(resumed.stdout) as { rows: number; resumed_after: number; position: number; position_kind: string };
    assert.deepEqual([s.rows, s.resumed_after, s.position, s.position_kind], [4096, 2048, 4096, 'sequence']);
    assert.deepEqual(model('killed'), model('file'));
    assert.deepEqual(steps('killed'), Array.from({ length: 16 }, (_, i) => i + 1));
  });

  it('a broker that goes away and comes back mid-run is reconnected to without loss', async () => {
    await publish('RS', lines.slice(0, 1500));
    const cfg = config('restart', jetstream('RS', 8));
    const child = spawn(process.execPath, [cli, 'train', cfg, '-q'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const deadline = Date.now() + 60_000;
    while (!steps('restart').includes(5)) {
      assert.ok(Date.now() < deadline, `no step 5 in time; stderr: ${stderr}`);
      await sleep(50);
    }
    await stopServer();
    await sleep(500);
    await startServer();
    await publish('RS', lines.slice(1500));
    assert.equal(await exited, 0, stderr);
    const s = JSON.parse(stdout) as { rows: number; position: number };
    assert.deepEqual([s.rows, s.position], [4096, 4096]);
    assert.deepEqual(model('restart'), model('file'));
  });

  it('without idleSeconds the run waits for messages until SIGTERM, then checkpoints and saves the model', async () => {
    await publish('TERM', lines.slice(0, 600));
    const cfg = config('term', `jetstream: { servers: '127.0.0.1:${port}', stream: TERM }`);
    const child = spawn(process.execPath, [cli, 'train', cfg, '-q'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const deadline = Date.now() + 60_000;
    while (!steps('term').includes(2)) {
      assert.ok(Date.now() < deadline, 'no step 2 in time');
      await sleep(50);
    }
    await sleep(300);
    assert.equal(child.exitCode, null, 'still waiting for messages');
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    // The rows received before the stop (a short last batch) are trained on and covered by the checkpoint.
    const s = JSON.parse(stdout) as { rows: number; position: number; interrupted: boolean };
    assert.deepEqual([s.rows, s.position, s.interrupted], [600, 600, true]);
    assert.ok(existsSync(join(dir, 'term', 'model', 'model.safetensors')));
  });

  it('read ahead, the worker receives the messages itself: the batches, their sequences, counters and errors of in-thread reading', async () => {
    // Three messages before the start sequence, a message of two lines, and a malformed one.
    await publish('AHEAD', ['x', 'y', 'z', ...lines.slice(0, 300), 'x\tnot a criteo line', `${lines[300]}\n${lines[301]}`, ...lines.slice(302, 700)]);
    const data = dataConfig({
      source: { format: 'criteo', path: 'unused' }, labels: [{ name: 'click', column: 'label' }],
      fields: [...Array.from({ length: 13 }, (_, i) => ({ name: `I${i + 1}`, kind: 'numeric', transform: 'log-bucket' })),
        ...Array.from({ length: 26 }, (_, i) => ({ name: `C${i + 1}`, kind: 'categorical' }))],
    });
    const fitted = streamSchema(data, 512, 'test.yaml', 'hashBuckets');
    const drain = async (open: typeof openRowStream, options: Partial<StreamOptions>, stream = 'AHEAD'): Promise<{ batches: StreamBatch[]; stats?: RowStream['stats']; error?: unknown }> => {
      const batches: StreamBatch[] = [];
      let rows: RowStream | undefined;
      try {
        rows = await open(fitted, data.source, `nats:${stream}`, dir, {
          batchSize: 64, ...options, jetstream: { servers: [`127.0.0.1:${port}`], stream, startSequence: 4, idleMs: 500 },
        });
        for await (const b of rows) batches.push(b);
      } catch (error) {
        return { batches, error };
      }
      return { batches, stats: rows.stats };
    };
    const here = await drain(openRowStream, { onBadLine: 'skip' });
    const ahead = await drain(openRowStreamAhead, { onBadLine: 'skip' });
    assert.equal(here.error, undefined);
    assert.deepEqual(ahead, here);
    const seqs = here.batches.flatMap((b) => [...b.messageSequences!]);
    assert.equal(seqs.length, 700);
    assert.deepEqual(seqs.slice(0, 2), [4, 5]);
    // The two lines of message 305 are two rows of that message; the malformed 304 is skipped.
    assert.deepEqual(seqs.slice(299, 303), [303, 305, 305, 306]);
    assert.equal(seqs.at(-1), 703);
    assert.equal(here.stats!.skipped, 1);

    const failedHere = await drain(openRowStream, {});
    const failedAhead = await drain(openRowStreamAhead, {});
    assert.ok(failedAhead.error instanceof DataFormatError);
    assert.match(failedAhead.error.message, /^nats:AHEAD:304: /);
    assert.equal(failedAhead.error.message, (failedHere.error as Error).message);
    assert.deepEqual(failedAhead.batches, failedHere.batches);
    assert.equal(failedAhead.batches.length, 4);

    // A stream that does not exist: the worker's failure to open it is the in-thread error.
    const missingHere = await drain(openRowStream, {}, 'NOPE');
    const missingAhead = await drain(openRowStreamAhead, {}, 'NOPE');
    assert.ok(missingAhead.error instanceof DataFormatError);
    assert.match(missingAhead.error.message, /^nats:NOPE: cannot read stream NOPE/);
    assert.equal(missingAhead.error.message, (missingHere.error as Error).message);
  });

  it('the same model bits whether the messages are received by the read-ahead worker or on the training thread', async () => {
    await publish('BITS', lines);
    for (const [name, readAhead] of [['bits-ahead', true], ['bits-in-thread', false]] as const) {
      const r = runCli(['train', config(name, `${jetstream('BITS', 1)}, readAhead: ${readAhead}`), '-q']);
      assert.equal(r.status, 0, r.stderr);
      const s = JSON.parse(r.stdout) as { rows: number; position: number; reading: string };
      assert.deepEqual([s.rows, s.position, s.reading], [4096, 4096, readAhead ? 'ahead' : 'in-thread']);
    }
    assert.deepEqual(model('bits-ahead'), model('bits-in-thread'));
    assert.deepEqual(model('bits-ahead'), model('file'));
  });

  it("readAhead 'auto' reads JetStream ahead from 2 cores, in-thread on 1: the same model bits", async () => {
    // BITS holds the head from the test above.
    for (const [name, cores, reading] of [['auto-1', 1, 'in-thread'], ['auto-2', 2, 'ahead']] as const) {
      const r = await runOnlineTraining(await loadExperimentConfig(config(name, jetstream('BITS', 1))), { quiet: true, cores });
      assert.deepEqual([r.reading, r.rows], [reading, 4096]);
      assert.deepEqual(model(name), model('file'));
    }
  });

  it('a JetStream stream opened ahead and never read does not keep the process from exiting', async () => {
    await publish('OPEN', lines.slice(0, 10));
    const mod = new URL('../../src/schema/index.js', import.meta.url).href;
    const entry = join(dir, 'open-only.mjs');
    writeFileSync(entry, `const s = await import(${JSON.stringify(mod)});
const data = { source: { format: 'criteo', path: 'unused' }, labels: [{ name: 'click', column: 'label' }], fields: [{ name: 'C1', kind: 'categorical' }] };
const cfg = s.parseDataConfig(data, 'test.yaml');
await s.openRowStreamAhead(s.streamSchema(cfg, 64, 'test.yaml', 'hashBuckets'), cfg.source, 'nats:OPEN', '/', { batchSize: 4, jetstream: { servers: ['127.0.0.1:${port}'], stream: 'OPEN', startSequence: 1 } });
console.log('opened');`);
    const r = spawnSync(process.execPath, [entry], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.signal, null, 'the process had to be killed');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'opened');
  });

  it('the lines of the messages carry their sequences, and idleSeconds counts only time spent waiting for messages', async () => {
    await publish('IDLE', ['a', 'b', 'c']);
    const src = await openJetStreamLines({ servers: [`127.0.0.1:${port}`], stream: 'IDLE', startSequence: 2, idleMs: 400 });
    const it = src.content[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.value!.toString(), 'b\nc\n', 'the stream from sequence 2, the buffered messages in one chunk');
    assert.deepEqual([src.sequenceOf(1), src.sequenceOf(2)], [2, 3]);
    // The reader is busy for longer than idleSeconds (a slow training step): that is not idleness.
    await sleep(800);
    await publish('IDLE', ['d']);
    const next = await it.next();
    assert.equal(next.done, false);
    assert.equal(next.value!.toString(), 'd\n');
    assert.equal(src.sequenceOf(3), 4);
    assert.deepEqual(src.places(Uint32Array.of(2, 3)), { sequences: Float64Array.of(3, 4), lines: Uint32Array.of(1, 1), openLines: 0 });
    src.forget(3);
    assert.throws(() => src.places(Uint32Array.of(3)), /no sequence recorded for lines 3\.\.3/);
    assert.throws(() => src.sequenceOf(3), /no sequence recorded for line 3/);
    const t = Date.now();
    assert.equal((await it.next()).done, true, 'then no message for idleSeconds ends the lines');
    assert.ok(Date.now() - t >= 350);
    await src.close();
  });

  it("a batch's rows are placed in one pass: sequence, line in the message, and the lines its last message has left", async () => {
    await publish('PLACES', ['a\nb\nc', 'd', 'e\nf\n']);
    const src = await openJetStreamLines({ servers: [`127.0.0.1:${port}`], stream: 'PLACES', startSequence: 1, idleMs: 300 });
    let text = '';
    for await (const chunk of src.content) text += chunk.toString();
    assert.equal(text, 'a\nb\nc\nd\ne\nf\n');
    const each = (ls: number[]) => ({ sequences: Float64Array.from(ls, (l) => src.sequenceOf(l)), lines: Uint32Array.from(ls, (l) => src.lineOf(l)) });
    for (const [ls, open] of [[[1, 2], 1], [[3, 4, 5], 1], [[2, 4, 6], 0], [[1], 2], [[6], 0]] as const) {
      const p = src.places(Uint32Array.from(ls));
      assert.deepEqual({ sequences: p.sequences, lines: p.lines }, each([...ls]), `lines ${ls}`);
      assert.equal(p.openLines > 0 ? src.linesOf(ls.at(-1)!) - p.lines.at(-1)! : 0, open, `lines left after ${ls}`);
    }
    assert.equal(src.places(Uint32Array.of(1, 2)).openLines, 2, 'two of three lines of message 1 consumed');
    assert.equal(src.places(Uint32Array.of(3, 4)).openLines, 0, 'message 2 ends the batch');
    await src.close();
  });

  it('a reader slower than the stream holds a bounded number of messages, and gets every one once, in order', async () => {
    const n = 70_000;
    await publish('SLOW', Array.from({ length: n }, (_, i) => `m${i}`));
    const src = await openJetStreamLines({ servers: [`127.0.0.1:${port}`], stream: 'SLOW', startSequence: 1, idleMs: 500 });
    const it = src.content[Symbol.asyncIterator]();
    const got: string[] = [];
    let most = 0;
    try {
      for (;;) {
        // A trainer busy with the previous chunk: the client keeps receiving meanwhile.
        await sleep(got.length === 0 ? 1000 : 20);
        most = Math.max(most, src[heldMessages]());
        const r = await it.next();
        if (r.done === true) break;
        got.push(...r.value.toString().split('\n').slice(0, -1));
      }
    } finally {
      await src.close();
    }
    assert.ok(most <= n / 2, `${most} of ${n} messages held`);
    assert.equal(got.length, n);
    assert.ok(got.every((m, i) => m === `m${i}`), 'every message once, in stream order');
    assert.equal(src.sequenceOf(n), n);
  });

  it('large messages are held up to a bound in bytes', async () => {
    const big = 'x'.repeat(900_000);
    await publish('BIG', Array.from({ length: 30 }, (_, i) => `${i}${big}`));
    const src = await openJetStreamLines({ servers: [`127.0.0.1:${port}`], stream: 'BIG', startSequence: 1, idleMs: 500 });
    let lines = 0;
    try {
      await sleep(1000);
      // 16 MiB, and the message that crossed it.
      assert.ok(src[heldMessages]() <= 19, `${src[heldMessages]()} messages of 900 kB held`);
      for await (const chunk of src.content) lines += chunk.toString().split('\n').length - 1;
    } finally {
      await src.close();
    }
    assert.equal(lines, 30);
  });

  it('probing for messages the client already holds costs no cancellable timer nor event-loop turn per message', async () => {
    await publish('PROBE', Array.from({ length: 300 }, (_, i) => `m${i}`));
    const src = await openJetStreamLines({ servers: [`127.0.0.1:${port}`], stream: 'PROBE', startSequence: 1, idleMs: 500 });
    // An AbortController per message, and the AbortError of its abort, cost more than the client's decoding of the message.
    const Real = globalThis.AbortController;
    let made = 0;
    globalThis.AbortController = class extends Real {
      constructor() {
        super();
        made++;
      }
    };
    // Nor a setImmediate per message: what receiving cost most on the training thread.
    const realImmediate = globalThis.setImmediate;
    let turns = 0;
    globalThis.setImmediate = ((...args: Parameters<typeof setImmediate>) => {
      turns++;
      return realImmediate(...args);
    }) as typeof setImmediate;
    let text = '';
    try {
      for await (const chunk of src.content) text += chunk.toString();
    } finally {
      globalThis.AbortController = Real;
      globalThis.setImmediate = realImmediate;
      await src.close();
    }
    assert.equal(text.split('\n').length - 1, 300);
    assert.ok(made < 30, `${made} AbortControllers for 300 messages`);
    assert.ok(turns < 30, `${turns} setImmediate calls for 300 messages`);
  });

  it('a malformed message stops the run naming its sequence, or is skipped and counted', async () => {
    await publish('BAD', [...lines.slice(0, 300), 'x\tnot a criteo line', ...lines.slice(300, 600)]);
    const failed = runCli(['train', config('bad', jetstream('BAD', 1)), '-q']);
    assert.notEqual(failed.status, 0);
    assert.match(failed.stderr, /^ctrkit: nats:BAD:301: /m);
    const skipped = runCli(['train', config('bad', jetstream('BAD', 1)), '-q', '--on-bad-line', 'skip']);
    assert.equal(skipped.status, 0, skipped.stderr);
    const s = JSON.parse(skipped.stdout) as { rows: number; skipped_lines: number; position: number };
    assert.deepEqual([s.rows, s.skipped_lines, s.position], [600, 1, 601]);
  });

  it('messages of several records train as the same lines from the file, read ahead or in-thread', async () => {
    // Sizes that put batch boundaries inside messages, and one-record messages among them.
    const msgs = grouped(lines, [1, 100, 7, 300, 1, 33]);
    await publish('MBITS', msgs);
    for (const [name, readAhead] of [['mbits-ahead', true], ['mbits-in-thread', false]] as const) {
      const r = runCli(['train', config(name, `${jetstream('MBITS', 1)}, readAhead: ${readAhead}`), '-q']);
      assert.equal(r.status, 0, r.stderr);
      const s = JSON.parse(r.stdout) as { rows: number; position: number; position_lines?: number };
      assert.deepEqual([s.rows, s.position, s.position_lines], [4096, msgs.length, undefined]);
      assert.deepEqual(model(name), model('file'));
    }
  });

  it('a SIGKILL with batches ending inside messages resumes inside the message: every record trained once, the same rows sampled', async () => {
    const sampled = (name: string): string => {
      const f = config(name, jetstream('MKILL', 5));
      writeFileSync(f, readFileSync(f, 'utf8').replace('  labels:', '  sampling: { negativeRate: 0.5, seed: 7 }\n  labels:'));
      return f;
    };
    // Messages of 100 records: batch 8 ends at record 2048, line 48 of message 21.
    await publish('MKILL', grouped(lines.slice(0, 2700), [100]));
    const cfg = sampled('mkilled');
    await killAfterStep('mkilled', cfg, 10);
    const state = JSON.parse(readFileSync(join(dir, 'mkilled', 'checkpoints', 'last', 'trainer.json'), 'utf8')) as
      { trainer: { globalStep: number; auxiliary: { online: { position: number; positionLines?: number } } } };
    assert.equal(state.trainer.globalStep, 8);
    assert.deepEqual([state.trainer.auxiliary.online.position, state.trainer.auxiliary.online.positionLines], [21, 48]);

    await publish('MKILL', grouped(lines.slice(2700), [100]));
    const resumed = runCli(['train', cfg, '-q', '--resume']);
    assert.equal(resumed.status, 0, resumed.stderr);
    const s = JSON.parse(resumed.stdout) as { rows: number; trained_rows: number; resumed_after: number; position: number };
    assert.deepEqual([s.rows, s.resumed_after, s.position], [4096, 21, 41]);
    assert.ok(s.trained_rows < 3500, `${s.trained_rows} rows trained on: negatives are sampled`);
    assert.deepEqual(steps('mkilled'), Array.from({ length: 16 }, (_, i) => i + 1));
    const whole = runCli(['train', sampled('mwhole'), '-q']);
    assert.equal(whole.status, 0, whole.stderr);
    assert.equal((JSON.parse(whole.stdout) as { trained_rows: number }).trained_rows, s.trained_rows);
    assert.deepEqual(model('mkilled'), model('mwhole'));
  });

  it('the rows of a message of several records carry their lines there, and a resume inside a message reads the rows after its consumed lines', async () => {
    // Messages of 10 records: batch 1 (64 rows) ends at line 4 of message 7.
    await publish('MPOS', grouped(lines.slice(0, 300), [10]));
    const data = dataConfig({
      source: { format: 'criteo', path: 'unused' }, labels: [{ name: 'click', column: 'label' }],
      fields: [...Array.from({ length: 13 }, (_, i) => ({ name: `I${i + 1}`, kind: 'numeric', transform: 'log-bucket' })),
        ...Array.from({ length: 26 }, (_, i) => ({ name: `C${i + 1}`, kind: 'categorical' }))],
    });
    const fitted = streamSchema(data, 512, 'test.yaml', 'hashBuckets');
    const drain = async (startSequence: number, startAfterLines = 0): Promise<StreamBatch[]> => {
      const out: StreamBatch[] = [];
      for await (const b of await openRowStreamAhead(fitted, data.source, 'nats:MPOS', dir, {
        batchSize: 64, jetstream: { servers: [`127.0.0.1:${port}`], stream: 'MPOS', startSequence, startAfterLines, idleMs: 500 },
      })) out.push(b);
      return out;
    };
    const whole = await drain(1);
    const seqs = whole.flatMap((b) => [...b.messageSequences!]);
    const within = whole.flatMap((b) => [...b.messageLines!]);
    assert.deepEqual(seqs, Array.from({ length: 300 }, (_, i) => 1 + Math.floor(i / 10)));
    assert.deepEqual(within, Array.from({ length: 300 }, (_, i) => 1 + (i % 10)));
    assert.deepEqual(whole.map((b) => b.openMessageLines), [4, 8, 2, 6, undefined]);
    // From the first batch's end: the same batches after it (their rows' lines among the lines received aside).
    const strip = (bs: StreamBatch[]): unknown[] => bs.map(({ lines: _l, ...rest }) => rest);
    assert.deepEqual(strip(await drain(7, 4)), strip(whole.slice(1)));
    // A checkpoint's message that is no longer in the stream: the next one is read whole.
    const { transport, js } = client!;
    const nc = await transport.connect({ servers: `127.0.0.1:${port}` });
    assert.equal(await (await js.jetstreamManager(nc)).streams.deleteMessage('MPOS', 7), true);
    await nc.close();
    const gap = await drain(7, 4);
    assert.deepEqual(gap.flatMap((b) => [...b.messageSequences!]).slice(0, 11), [8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 9]);
    assert.equal(gap.reduce((a, b) => a + b.dataset.numRows, 0), 230);
  });

  it('a malformed record inside a message of several stops the run naming message, line and field, or is skipped and counted', async () => {
    const bad = lines.slice(0, 600);
    // Line 5 of message 3 has a word for I2; line 3 of message 5 is empty.
    bad[24] = bad[24]!.split('\t').map((v, i) => (i === 2 ? 'many' : v)).join('\t');
    const msgs = grouped(bad, [10]);
    msgs[4] = msgs[4]!.replace(`${bad[41]}\n`, `${bad[41]}\n\n`);
    await publish('MBAD', msgs);
    const failed = runCli(['train', config('mbad', jetstream('MBAD', 1)), '-q']);
    assert.notEqual(failed.status, 0);
    assert.match(failed.stderr, /^ctrkit: nats:MBAD:3:5: field I2 \(column 3\): expected an integer/m);
    const skipped = runCli(['train', config('mbad', jetstream('MBAD', 1)), '-q', '--on-bad-line', 'skip']);
    assert.equal(skipped.status, 0, skipped.stderr);
    const s = JSON.parse(skipped.stdout) as { rows: number; skipped_lines: number; position: number };
    assert.deepEqual([s.rows, s.skipped_lines, s.position], [599, 2, 60]);
  });
});
