/**
 * Hot reload: a model directory republished atomically (as ctrkit train does) is picked up by
 * the watcher or the poll and swapped in; a snapshot that fails to load keeps the old model
 * serving and is reported; a request in flight during a swap finishes on the model it started with.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { publishDirAtomic } from '../../src/io/atomic.js';
import { MANIFEST_FILE, saveModel, WEIGHTS_FILE, type JsonValue } from '../../src/io/modelFile.js';
import { createModel, parseModelConfig } from '../../src/models/registry.js';
import { withoutInitialWeights } from '../../src/nn/init.js';
import { FittedSchema, type SchemaSpec } from '../../src/schema/index.js';
import { scoreFile } from '../../src/experiment/scoring.js';
import { loadSnapshot } from '../../src/serve/snapshot.js';
import { createServer, type CtrkitServer, type ServeOptions } from '../../src/serve/server.js';
import { censusColumns, censusPrefix, requestRow, SHORT_TRAIN, trainCensus } from './census.js';
import { batchesScored } from './tiny.js';

/** Publishes a copy of model directory `src` as `dst`, atomically; `damage` may alter the copy first. */
function publishCopy(src: string, dst: string, damage?: (tmp: string) => void): void {
  publishDirAtomic(dst, (tmp) => {
    for (const f of [MANIFEST_FILE, WEIGHTS_FILE]) copyFileSync(join(src, f), join(tmp, f));
    damage?.(tmp);
  });
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('serve: hot reload', () => {
  let dir: string;
  let modelA: string;
  let modelB: string;
  let versionA: string;
  let versionB: string;
  let scoresA: number[];
  let scoresB: number[];
  let rows: Record<string, string>[];
  const servers: CtrkitServer[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-serve-reload-'));
    const data = censusPrefix(dir, 1500);
    modelA = await trainCensus(join(dir, 'a'), data.file, '{ type: lr }', SHORT_TRAIN);
    modelB = await trainCensus(join(dir, 'b'), data.file, '{ type: fm, dim: 4 }', SHORT_TRAIN);
    versionA = loadSnapshot(modelA).version;
    versionB = loadSnapshot(modelB).version;
    assert.notEqual(versionA, versionB);
    const few = join(dir, 'few.csv');
    writeFileSync(few, data.lines.slice(0, 20).join('\n') + '\n');
    scoresA = Array.from((await scoreFile(modelA, few, { labels: true })).probs);
    scoresB = Array.from((await scoreFile(modelB, few, { labels: true })).probs);
    const fields = loadSnapshot(modelA).features.map((f) => f.name);
    rows = data.lines.slice(0, 20).map((l) => requestRow(l, censusColumns(), fields));
  });
  after(async () => {
    for (const s of servers) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A server on a fresh copy of model A. */
  function serveA(name: string, opts: Partial<ServeOptions> = {}): { server: CtrkitServer; served: string } {
    const served = join(dir, name);
    publishCopy(modelA, served);
    // On the scoring thread: a reload swaps the thread's copy too.
    const server = createServer({ modelDir: served, port: 0, scoreThread: true, ...opts });
    servers.push(server);
    return { server, served };
  }

  async function predict(server: CtrkitServer): Promise<{ model: string; scores: number[] }> {
    const r = await server.app.inject({ method: 'POST', url: '/v1/predict', payload: { rows } });
    assert.equal(r.statusCode, 200, r.body);
    return JSON.parse(r.body) as { model: string; scores: number[] };
  }

  async function metric(server: CtrkitServer, pattern: RegExp): Promise<number> {
    const m = pattern.exec(await server.metrics.registry.metrics());
    return m === null ? Number.NaN : Number(m[1]);
  }

  it('swaps in a good snapshot; a bad one is reported and the old model keeps serving', async () => {
    const log: string[] = [];
    const stream = new Writable({ write(chunk: Buffer, _enc, done) { log.push(chunk.toString()); done(); } });
    const { server, served } = serveA('swap', { logger: { level: 'info', stream } });
    assert.equal(await server.reload(), 'unchanged');
    assert.deepEqual(await predict(server), { model: versionA, scores: scoresA });

    publishCopy(modelB, served);
    assert.equal(await server.reload(), 'swapped');
    assert.deepEqual(await predict(server), { model: versionB, scores: scoresB });
    assert.equal(await metric(server, /ctrkit_serve_reloads_total\{result="ok"\} (\d+)/), 1);
    const text = await server.metrics.registry.metrics();
    assert.match(text, new RegExp(`ctrkit_serve_model_info\\{version="${versionB}",type="fm",data_hash="[^"]+"\\} 1`));
    assert.ok(!text.includes(versionA), 'the replaced model is no longer reported');

    // Damaged weights: the sha256 check fails.
    publishCopy(modelA, served, (tmp) => {
      const w = readFileSync(join(tmp, WEIGHTS_FILE));
      w[w.length - 1] ^= 0xff;
      writeFileSync(join(tmp, WEIGHTS_FILE), w);
    });
    assert.equal(await server.reload(), 'failed');
    assert.equal(await server.reload(), 'unchanged', 'a failed snapshot is not retried until the directory changes');
    assert.deepEqual(await predict(server), { model: versionB, scores: scoresB });
    assert.equal(await metric(server, /ctrkit_serve_reloads_total\{result="failed"\} (\d+)/), 1);
    const info = JSON.parse((await server.app.inject({ method: 'GET', url: '/v1/model' })).body) as { model: string; lastReloadError?: { message: string } };
    assert.equal(info.model, versionB);
    assert.match(info.lastReloadError?.message ?? '', /sha256/);
    const rejected = log.map((l) => JSON.parse(l) as { level: number; msg: string; error?: string }).filter((l) => l.level === 50);
    assert.equal(rejected.length, 1, log.join(''));
    assert.match(rejected[0]!.msg, /model snapshot rejected; the previous model keeps serving/);
    assert.match(rejected[0]!.error ?? '', /model\.safetensors: sha256 [0-9a-f]+ does not match/);

    // A manifest that is not JSON.
    publishCopy(modelA, served, (tmp) => writeFileSync(join(tmp, MANIFEST_FILE), '{"formatVersion": 1,'));
    assert.equal(await server.reload(), 'failed');
    assert.equal(await metric(server, /ctrkit_serve_reloads_total\{result="failed"\} (\d+)/), 2);
    assert.equal((await predict(server)).model, versionB);

    // A good snapshot after bad ones.
    publishCopy(modelA, served);
    assert.equal(await server.reload(), 'swapped');
    assert.deepEqual(await predict(server), { model: versionA, scores: scoresA });
    const after = JSON.parse((await server.app.inject({ method: 'GET', url: '/v1/model' })).body) as { lastReloadError?: unknown };
    assert.equal(after.lastReloadError, undefined);
  });

  // 20 rows: on the thread with loopRows 0, on the event loop (with the weights the thread shares with it) with loopRows 20.
  for (const [loopRows, scorer] of [[0, 'thread'], [20, 'event_loop']] as const) {
    it(`a request in flight during a swap finishes on the model it started with (scored on the ${scorer})`, async () => {
      // Requests wait 400 ms for company, so the swap lands while this one waits in its batch.
      const { server, served } = serveA(`inflight-${loopRows}`, { batch: { maxWaitMs: 400, idleWaitMs: 400, loopRows } });
      // As `ctrkit serve` does before it listens: the scoring thread holds model A (the event loop holds no copy of its weights).
      await server.ready();
      const pending = server.app.inject({ method: 'POST', url: '/v1/predict', payload: { rows } });
      await until('the request to reach its batch', async () => (await server.metrics.requestRows.get()).values.some((v) => v.metricName === 'ctrkit_serve_request_rows_count' && v.value === 1));
      publishCopy(modelB, served);
      assert.equal(await server.reload(), 'swapped');
      const r = await pending;
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(JSON.parse(r.body), { model: versionA, scores: scoresA });
      assert.deepEqual(await predict(server), { model: versionB, scores: scoresB });
      const scored = await batchesScored(server);
      assert.equal(scored[scorer], 2, JSON.stringify(scored));
    });
  }

  it('the directory watcher picks up a publish by itself', async () => {
    const { server, served } = serveA('watched', { reload: { debounceMs: 50, pollMs: 0 } });
    await server.listen();
    publishCopy(modelB, served);
    await until('the watcher to swap', () => server.current().version === versionB);
    assert.deepEqual(await predict(server), { model: versionB, scores: scoresB });
  });

  it('the periodic check picks up a publish without the watcher', async () => {
    const { server, served } = serveA('polled', { reload: { watch: false, pollMs: 100 } });
    await server.listen();
    publishCopy(modelB, served);
    await until('the poll to swap', () => server.current().version === versionB);
    assert.equal((await predict(server)).model, versionB);
  });

  it('reading, hashing and decoding a large snapshot happen off the event loop', async (ctx) => {
    // A DNN over a hashed field of 1,500,000 buckets × dim 16: a 96 MB weights file.
    const spec: SchemaSpec = {
      labels: [{ name: 'click', column: 'click', type: 'binary' }],
      fields: [{ name: 'item', column: 'item', privileged: false, kind: 'hash', buckets: 1_500_000 }],
      dense: [],
      sequences: [],
    };
    const fitted = new FittedSchema(spec);
    const modelConfig = parseModelConfig({ type: 'dnn', dim: 16, hidden: [8] });
    const dims = { numIds: fitted.numIds, numFields: 1 };
    const source = { format: 'csv', path: 'x.csv', header: true, delimiter: ',', trim: false };
    const save = (to: string, seed: number): void => {
      const model = withoutInitialWeights(() => createModel(modelConfig, dims, seed));
      model.parameters()[0]!.data.fill(seed * 1e-3);
      saveModel(to, { model, modelConfig, dims, schema: { fitted: fitted.toJSON(), source } as unknown as JsonValue, metrics: {}, provenance: { dataHash: 'sha256:x', seed } });
    };
    const big = [join(dir, 'big1'), join(dir, 'big2')];
    big.forEach((d, i) => save(d, i + 1));
    const served = join(dir, 'big-served');
    publishCopy(big[0]!, served);

    // What the load costs when it runs on the event loop.
    let t = performance.now();
    loadSnapshot(big[1]!);
    const onLoop = performance.now() - t;

    const server = createServer({ modelDir: served, reload: { watch: false, pollMs: 0 } });
    servers.push(server);
    publishCopy(big[1]!, served);
    let worst = 0;
    t = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - t);
      t = now;
    }, 1);
    try {
      assert.equal(await server.reload(), 'swapped');
    } finally {
      clearInterval(ticker);
    }
    worst = Math.max(worst, performance.now() - t);
    assert.equal(server.current().version, loadSnapshot(big[1]!).version);
    // The longest the loop went without a turn during the reload: a fraction of the load on the loop.
    ctx.diagnostic(`longest event-loop stall during the reload ${worst.toFixed(1)} ms; the same load on the loop ${onLoop.toFixed(1)} ms`);
    assert.ok(worst < onLoop / 2, `the event loop stalled ${worst.toFixed(1)} ms during the reload; loading on the loop takes ${onLoop.toFixed(1)} ms`);
  });
});
