/**
 * The scoring thread's failure policy and lifetime: a thread that dies with a batch in it answers
 * that batch's requests 503 (never a hang, never a crash) and the next batch is scored on a new
 * thread; after MAX_RESTARTS deaths, or with kernels a thread cannot load, batches are scored on
 * the event loop, visibly (GET /v1/model, the log), its weights loaded there only then (while the
 * thread scores, the event loop's snapshot holds none, or, where it scores small batches itself,
 * the thread's own weights, shared); a reload swaps the thread's copy too and drops the old one;
 * close() stops the thread. Scores are the event loop's in every case.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { backend, setBackend } from '../../src/backend/index.js';
import { publishDirAtomic } from '../../src/io/atomic.js';
import { createServer, type CtrkitServer, type ServeOptions } from '../../src/serve/server.js';
import { MAX_RESTARTS } from '../../src/serve/scoringThread.js';
import { ModelFileError, WEIGHTS_FILE } from '../../src/io/modelFile.js';
import { answerOfThreadDeath, batchesScored, saveTinyModel, tinyRow } from './tiny.js';

const ROWS = 4096;

describe('serve: the scoring thread', () => {
  let dir: string;
  let modelDir: string;
  let reference: number[];
  const rows = Array.from({ length: ROWS }, (_, i) => tinyRow(i));
  const few = rows.slice(0, 9);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-serve-thread-'));
    modelDir = join(dir, 'model');
    saveTinyModel(modelDir, 3);
    const onLoop = createServer({ modelDir, scoreThread: false });
    try {
      reference = await scores(onLoop, few);
    } finally {
      await onLoop.close();
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function scores(server: CtrkitServer, body: unknown[]): Promise<number[]> {
    const r = await server.app.inject({ method: 'POST', url: '/v1/predict', payload: { rows: body } });
    assert.equal(r.statusCode, 200, r.body);
    return (JSON.parse(r.body) as { scores: number[] }).scores;
  }

  function logged(opts: Partial<ServeOptions> = {}): { server: CtrkitServer; log: string[] } {
    const log: string[] = [];
    const stream = new Writable({ write(chunk: Buffer, _enc, done) { log.push(chunk.toString()); done(); } });
    // loopRows 0: every batch goes to the thread, whose failures these tests are about.
    return { server: createServer({ modelDir, scoreThread: true, batch: { maxWaitMs: 0, loopRows: 0 }, logger: { level: 'warn', stream }, ...opts }), log };
  }

  async function where(server: CtrkitServer): Promise<string> {
    return (JSON.parse((await server.app.inject({ method: 'GET', url: '/v1/model' })).body) as { scoring: string }).scoring;
  }

  it('a thread that dies with a batch in it: those requests get 503, the next batch gets a new thread', async () => {
    const { server, log } = logged();
    try {
      await server.ready();
      assert.equal(await where(server), 'thread');
      const first = server.scoring!.threadId;
      assert.ok(first !== undefined);
      // The death must land while the batch is in the thread; a batch that was quicker is tried again.
      const failed = await answerOfThreadDeath(server.scoring!, () => server.app.inject({ method: 'POST', url: '/v1/predict', payload: { rows } }), (r) => r.statusCode === 200, MAX_RESTARTS);
      assert.ok(failed !== undefined, 'no batch was in the thread when it stopped');
      assert.equal(failed.statusCode, 503, failed.body);
      assert.match((JSON.parse(failed.body) as { error: { message: string } }).error.message, /the scoring thread stopped .* send it again/);
      assert.deepEqual(await scores(server, few), reference);
      assert.notEqual(server.scoring!.threadId, first);
      assert.equal(await where(server), 'thread');
      assert.match(log.join(''), /the scoring thread stopped/);
      const scored = await batchesScored(server);
      assert.equal(scored.event_loop, 0, JSON.stringify(scored));
    } finally {
      await server.close();
    }
  });

  it(`after ${MAX_RESTARTS + 1} deaths, requests are scored on the event loop, and it says so`, async () => {
    const { server, log } = logged();
    try {
      await server.ready();
      for (let i = 0; i <= MAX_RESTARTS; i++) {
        assert.deepEqual(await scores(server, few), reference);
        // While the thread scores, the event loop holds the schema, not the weights.
        assert.equal(server.current().loaded, undefined);
        await server.scoring!.restart();
      }
      assert.deepEqual(await scores(server, few), reference);
      assert.notEqual(server.current().loaded, undefined, 'the fallback loads the weights on the event loop');
      assert.match(await where(server), /^event loop \(the scoring thread stopped 4 times/);
      assert.match(log.join(''), /every request is now scored on the event loop/);
      assert.match(log.join(''), /its requests are scored on the event loop \(its weights loaded there\)/);
      const scored = await batchesScored(server);
      assert.ok(scored.thread === MAX_RESTARTS + 1 && scored.event_loop === 1, JSON.stringify(scored));
    } finally {
      await server.close();
    }
  });

  it('over sockets, a predict request from the only connection that sends them is scored on the event loop; with another one open, on the thread', async () => {
    const server = createServer({ modelDir, scoreThread: true, port: 0 });
    // Each agent holds one keep-alive connection: two clients.
    const [mine, other] = [new Agent({ keepAlive: true, maxSockets: 1 }), new Agent({ keepAlive: true, maxSockets: 1 })];
    try {
      const url = new URL(await server.listen());
      const send = (agent: Agent, path: string, body?: string): Promise<string> => new Promise((resolve, reject) => {
        const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
        const req = request(url, { method: body === undefined ? 'GET' : 'POST', path, agent, headers }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => { text += c; }).on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`${res.statusCode}: ${text}`))));
        });
        req.on('error', reject).end(body);
      });
      const predict = async (agent: Agent): Promise<number[]> => (JSON.parse(await send(agent, '/v1/predict', JSON.stringify({ rows: few }))) as { scores: number[] }).scores;
      assert.deepEqual(await predict(mine), reference);
      assert.deepEqual(await predict(mine), reference);
      assert.deepEqual(await batchesScored(server), { thread: 0, event_loop: 2 }, 'a sequential client is answered without the hop to the thread');
      // A connection kept open by a health probe (or a metrics scraper) sends no predict requests: it does not count.
      await send(other, '/healthz');
      assert.deepEqual(await predict(mine), reference);
      assert.deepEqual(await batchesScored(server), { thread: 0, event_loop: 3 });
      // Once it has sent one, a request may have company: the thread scores while the loop reads.
      assert.deepEqual(await predict(other), reference);
      assert.deepEqual(await predict(mine), reference);
      assert.deepEqual(await batchesScored(server), { thread: 2, event_loop: 3 });
      // When it has gone, the loop scores again (the server sees the close a turn or more later).
      other.destroy();
      for (let i = 0; i < 50 && (await batchesScored(server)).event_loop === 3; i++) {
        await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(await predict(mine), reference);
      }
      assert.equal((await batchesScored(server)).event_loop, 4);
    } finally {
      mine.destroy();
      other.destroy();
      await server.close();
    }
  });

  it('small batches are scored on the event loop around the thread\'s weights, shared (no copy, no read); large ones on the thread', async () => {
    const { server } = logged({ batch: { maxWaitMs: 0, loopRows: few.length } });
    try {
      await server.ready();
      assert.equal(server.current().loaded, undefined, 'nothing is built on the event loop before it scores');
      const shared = server.current().weights!;
      assert.ok(shared.size > 0);
      for (const t of shared.values()) assert.ok(t.data.buffer instanceof SharedArrayBuffer, 'the thread decoded its weights onto shared memory');
      assert.deepEqual(await scores(server, few), reference);
      assert.deepEqual(await batchesScored(server), { thread: 0, event_loop: 1 });
      // The event loop's model adopted the very tables the thread sent: the same memory, not a copy.
      const loop = server.current().loaded!.model;
      assert.equal(server.current().weights, shared);
      const tables = loop.namedTables();
      assert.ok(tables.length > 0);
      for (const [name, table] of tables) assert.equal(table.data, shared.get(name)!.data, name);
      const large = await scores(server, rows.slice(0, few.length + 1));
      assert.deepEqual(large.slice(0, few.length), reference);
      assert.deepEqual(await batchesScored(server), { thread: 1, event_loop: 1 });
      // A new thread (after a death) is handed the same memory rather than reading a copy: what the event loop writes there, it scores with.
      await server.scoring!.restart();
      const saved = tables.map(([, t]) => Float32Array.from(t.data));
      for (const [, t] of tables) t.data.fill(0);
      try {
        assert.notDeepEqual(await scores(server, rows.slice(0, few.length + 1)), large);
      } finally {
        tables.forEach(([, t], i) => t.data.set(saved[i]!));
      }
      assert.deepEqual(await scores(server, rows.slice(0, few.length + 1)), large);
      assert.deepEqual(await batchesScored(server), { thread: 3, event_loop: 1 });
    } finally {
      await server.close();
    }
  });

  it('damaged weights at startup: ready() fails with the hash check, and nothing is scored on the event loop', async () => {
    const damaged = join(dir, 'damaged');
    saveTinyModel(damaged, 5);
    const w = readFileSync(join(damaged, WEIGHTS_FILE));
    w[w.length - 1] ^= 0xff;
    writeFileSync(join(damaged, WEIGHTS_FILE), w);
    const { server, log } = logged({ modelDir: damaged });
    try {
      // The event loop read the manifest and schema only; the thread and then the loop find the weights damaged.
      await assert.rejects(server.ready(), (e: unknown) => e instanceof ModelFileError && /sha256 [0-9a-f]+ does not match/.test(e.message));
      assert.equal(server.current().loaded, undefined);
      assert.doesNotMatch(log.join(''), /scored on the event loop/);
    } finally {
      await server.close();
    }
  });

  it('kernels a thread cannot load (setBackend): scored on the event loop, with the reason', async () => {
    const was = backend();
    setBackend({ ...was });
    try {
      const server = createServer({ modelDir, scoreThread: true });
      try {
        assert.match(await where(server), /^event loop \(.*setBackend/);
        assert.deepEqual(await scores(server, few), reference);
        assert.equal(server.scoring!.threadId, undefined);
        assert.notEqual(server.current().loaded, undefined);
      } finally {
        await server.close();
      }
    } finally {
      setBackend(was);
    }
  });

  it('a reload under a stream of requests: each answered by one model, the thread drops the old copy; close() stops the thread', async () => {
    const served = join(dir, 'served');
    const other = join(dir, 'other');
    saveTinyModel(other, 4);
    const onLoop = createServer({ modelDir: other, scoreThread: false });
    let otherScores: number[];
    try {
      otherScores = await scores(onLoop, few);
    } finally {
      await onLoop.close();
    }
    assert.notDeepEqual(otherScores, reference);
    publishDirAtomic(served, (tmp) => saveTinyModel(tmp, 3));
    const server = createServer({ modelDir: served, scoreThread: true, batch: { maxWaitMs: 1, loopRows: 0 }, reload: { watch: false, pollMs: 0 } });
    try {
      await server.ready();
      const before = server.current().version;
      let stop = false;
      const answers: { model: string; scores: number[] }[] = [];
      const client = async (): Promise<void> => {
        while (!stop) {
          const r = await server.app.inject({ method: 'POST', url: '/v1/predict', payload: { rows: few } });
          assert.equal(r.statusCode, 200, r.body);
          answers.push(JSON.parse(r.body) as { model: string; scores: number[] });
        }
      };
      // A client that fails ends the waits below with its error instead of leaving them waiting for answers.
      let failure: unknown;
      const streams = [client(), client(), client()].map((c) => c.catch((e: unknown) => { failure ??= e; stop = true; }));
      const answersReach = async (count: number): Promise<void> => {
        while (answers.length < count) {
          if (failure !== undefined) throw failure;
          await nextTurn();
        }
      };
      await answersReach(5);
      publishDirAtomic(served, (tmp) => saveTinyModel(tmp, 4));
      assert.equal(await server.reload(), 'swapped');
      const after = server.current().version;
      assert.equal(server.current().loaded, undefined, 'the reloaded snapshot\'s weights are on the thread only');
      const n = answers.length;
      await answersReach(n + 5);
      stop = true;
      await Promise.all(streams);
      if (failure !== undefined) throw failure;
      assert.notEqual(before, after);
      for (const a of answers) assert.deepEqual(a.scores, a.model === before ? reference : otherScores, a.model);
      assert.ok(answers.some((a) => a.model === before) && answers.some((a) => a.model === after));
      const scored = await batchesScored(server);
      assert.equal(scored.event_loop, 0, JSON.stringify(scored));
      // The retired snapshot's copy goes once its last batch is answered.
      for (const end = Date.now() + 5000; server.scoring!.held > 1 && Date.now() < end;) await nextTurn();
      assert.equal(server.scoring!.held, 1);
    } finally {
      await server.close();
    }
    assert.equal(server.scoring!.threadId, undefined, 'close() stops the thread');
  });
});
