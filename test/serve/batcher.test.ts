/**
 * Request batching on a small saved model: concurrent requests share a batch (bounded by rows
 * and wait), each gets its own rows' scores back, and a large batch is scored in chunks with
 * turns of the event loop between them. Also the JSON forms of a sequence field.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Batcher, type BatchOptions } from '../../src/serve/batcher.js';
import { loadSnapshot, type ModelSnapshot } from '../../src/serve/snapshot.js';
import { readPredictBody, RequestError } from '../../src/serve/request.js';
import { createServer, jsonNumbers } from '../../src/serve/server.js';
import { concatColumns, type StoredColumns } from '../../src/schema/index.js';
import type { ScoringJob } from '../../src/serve/scoringThread.js';
import { saveTinyModel, tinyRow } from './tiny.js';

describe('serve: batching', () => {
  let dir: string;
  let modelDir: string;
  let snap: ModelSnapshot;
  const events: string[] = [];
  let batches: number[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-serve-batch-'));
    modelDir = join(dir, 'model');
    saveTinyModel(modelDir, 7);
    snap = loadSnapshot(modelDir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The snapshot, recording each synchronous scoring step. */
  function recording(): ModelSnapshot {
    return { ...snap, score: (ds, s, e) => { events.push(`score ${s}-${e}`); return snap.score(ds, s, e); } };
  }
  function batcher(opts: Partial<BatchOptions>): Batcher {
    events.length = 0;
    batches = [];
    return new Batcher(recording(), { maxWaitMs: 5, idleWaitMs: 0, maxBatchRows: 1000, chunkRows: 1000, loopRows: 0, threadInFlight: 2, ...opts }, { onBatch: (n) => batches.push(n) });
  }
  const rowsOf = (from: number, n: number) => readPredictBody({ rows: Array.from({ length: n }, (_, i) => tinyRow(from + i)) }, snap.features, snap.encoder, 10_000);
  /** Scores of rows scored one request at a time, one batch each (the reference). */
  async function alone(from: number, n: number): Promise<number[]> {
    const b = new Batcher(snap, { maxWaitMs: 0, idleWaitMs: 0, maxBatchRows: 1, chunkRows: 1, loopRows: 0, threadInFlight: 1 });
    return Array.from((await b.submit(rowsOf(from, n)))[0]!);
  }

  it('coalesces concurrent requests into one batch and hands each its own scores', async () => {
    const b = batcher({});
    const got = await Promise.all([b.submit(rowsOf(0, 2)), b.submit(rowsOf(2, 3)), b.submit(rowsOf(5, 1))]);
    assert.deepEqual(batches, [6]);
    assert.deepEqual(events, ['score 0-6']);
    assert.deepEqual(got.map((s) => Array.from(s[0]!)), [await alone(0, 2), await alone(2, 3), await alone(5, 1)]);
    assert.ok(new Set(await alone(0, 6)).size > 1, 'rows must score differently for the comparison to mean anything');
  });

  it('a request that finds the batcher idle waits idleWaitMs; one that finds others in flight waits maxWaitMs for company', async () => {
    // With maxWaitMs a minute, a lone request answered at all was not held for company.
    const b = batcher({ maxWaitMs: 60_000 });
    const t0 = performance.now();
    assert.deepEqual(Array.from((await b.submit(rowsOf(0, 2)))[0]!), await alone(0, 2));
    assert.ok(performance.now() - t0 < 30_000);
    assert.deepEqual(batches, [2]);
    // While a batch is scored (its alternative scorer answers when `release` is called), later
    // requests wait for each other: a turn of the loop later they are still one open batch.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const slow = new Batcher(snap, { maxWaitMs: 20, idleWaitMs: 0, maxBatchRows: 1000, chunkRows: 1000, loopRows: 0, threadInFlight: 2 }, {
      onBatch: (n) => batches.push(n), scorer: async (ds, s, e) => { await gate; return snap.score(ds, s, e); } });
    batches = [];
    const first = slow.submit(rowsOf(0, 1));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(batches, [1], 'the lone request went at the end of its turn');
    const second = slow.submit(rowsOf(1, 2));
    await new Promise((r) => setImmediate(r));
    const third = slow.submit(rowsOf(3, 3));
    release();
    await Promise.all([first, second, third]);
    assert.deepEqual(batches, [1, 5], 'the two requests that came while it was scored shared a batch');
    // idleWaitMs holds a lone request for company, as maxWaitMs did before.
    const held = batcher({ idleWaitMs: 50 });
    const a = held.submit(rowsOf(0, 1));
    await new Promise((r) => setTimeout(r, 5));
    await Promise.all([a, held.submit(rowsOf(1, 1))]);
    assert.deepEqual(batches, [2]);
  });

  it('a lone small request is scored on the event loop; small requests that share a batch go to the scoring thread', async () => {
    const where: string[] = [];
    const remote = async (job: ScoringJob): Promise<Float64Array[]> => {
      assert.equal(job.kind, 'predict');
      return snap.score(snap.fitted.toDataset((job as { cols: StoredColumns }).cols), 0, (job as { cols: StoredColumns }).cols.numRows);
    };
    const b = new Batcher(snap, { maxWaitMs: 5, idleWaitMs: 0, maxBatchRows: 1000, chunkRows: 1000, loopRows: 8, threadInFlight: 2 }, {
      remote, onScored: (elsewhere) => where.push(elsewhere ? 'thread' : 'loop') });
    const lone = await b.submit(rowsOf(0, 3));
    const together = await Promise.all([b.submit(rowsOf(3, 2)), b.submit(rowsOf(5, 1))]);
    const large = await b.submit(rowsOf(6, 9));
    assert.deepEqual(where, ['loop', 'thread', 'thread']);
    assert.deepEqual([lone, ...together, large].map((s) => Array.from(s[0]!)), [await alone(0, 3), await alone(3, 2), await alone(5, 1), await alone(6, 9)]);
  });

  it('hands up to threadInFlight batches to the scoring thread at once, in order; event-loop batches go one at a time', async () => {
    /** Batches started and not answered, the most seen at once, and the gates that answer them. */
    const run = async (inFlight: number, remote: boolean): Promise<{ most: number; sizes: number[]; idleEarly: boolean }> => {
      let now = 0;
      let most = 0;
      const gates: (() => void)[] = [];
      const sizes: number[] = [];
      const hold = async <T>(score: () => T): Promise<T> => {
        most = Math.max(most, ++now);
        await new Promise<void>((resolve) => gates.push(resolve));
        now--;
        return score();
      };
      const opts = { maxWaitMs: 0, idleWaitMs: 0, maxBatchRows: 1000, chunkRows: 1000, loopRows: 0, threadInFlight: inFlight };
      const b = remote
        ? new Batcher(snap, opts, { onBatch: (n) => sizes.push(n), remote: (job) => hold(() => {
          const cols = (job as { cols: StoredColumns }).cols;
          return snap.score(snap.fitted.toDataset(cols), 0, cols.numRows);
        }) })
        : new Batcher(snap, opts, { onBatch: (n) => sizes.push(n), scorer: (ds, s, e) => hold(() => snap.score(ds, s, e)) });
      // Four requests, each sealed alone (a turn of the loop apart) while the earlier ones are held.
      const got: Promise<Float64Array[]>[] = [];
      for (let i = 0; i < 4; i++) {
        got.push(b.submit(rowsOf(2 * i, 2)));
        await new Promise((r) => setImmediate(r));
      }
      let idle = false;
      void b.idle().then(() => { idle = true; });
      // Answer the held batches oldest first until all requests are in.
      let answered = false;
      void Promise.all(got).then(() => { answered = true; });
      let idleEarly = false;
      while (!answered) {
        gates.shift()?.();
        await new Promise((r) => setImmediate(r));
        if (idle && !answered) idleEarly = true;
      }
      const scores = await Promise.all(got);
      for (let i = 0; i < 4; i++) assert.deepEqual(Array.from(scores[i]![0]!), await alone(2 * i, 2));
      await b.idle();
      return { most, sizes, idleEarly };
    };
    const two = await run(2, true);
    assert.equal(two.most, 2, 'two batches on the thread at once');
    // The first two went alone; the two requests sealed behind them were joined into one batch.
    assert.deepEqual(two.sizes, [2, 2, 4]);
    assert.equal(two.idleEarly, false, 'idle() waits for every batch in flight');
    const one = await run(1, true);
    assert.equal(one.most, 1);
    assert.deepEqual(one.sizes, [2, 6]);
    const loop = await run(2, false);
    assert.equal(loop.most, 1, 'the event loop scores one batch at a time');
    assert.deepEqual(loop.sizes, [2, 6]);
  });

  it('seals a batch at maxBatchRows; a larger request is a batch of its own', async () => {
    const b = batcher({ maxBatchRows: 4 });
    await Promise.all([b.submit(rowsOf(0, 3)), b.submit(rowsOf(3, 3)), b.submit(rowsOf(6, 10)), b.submit(rowsOf(16, 1))]);
    assert.deepEqual(batches, [3, 3, 10, 1]);
  });

  it('scores a large batch in chunks, letting the event loop run between them', async () => {
    const b = batcher({ chunkRows: 2 });
    const first = b.submit(rowsOf(0, 7));
    // Runs as soon as the event loop gets a turn after scoring starts.
    const tick = new Promise<void>((resolve) => {
      const wait = (): void => { if (events.length > 0) { events.push('tick'); resolve(); } else setImmediate(wait); };
      setImmediate(wait);
    });
    const [scores] = await Promise.all([first, tick]);
    assert.deepEqual(events.slice(0, 3), ['score 0-2', 'tick', 'score 2-4']);
    assert.deepEqual(events.filter((e) => e !== 'tick'), ['score 0-2', 'score 2-4', 'score 4-6', 'score 6-7']);
    assert.deepEqual(Array.from(scores[0]!), await alone(0, 7));
  });

  it('an alternative scorer (ServeOptions.scorer) may answer asynchronously, chunk by chunk; its failure is a 500', async () => {
    const calls: string[] = [];
    const server = createServer({
      modelDir, batch: { maxWaitMs: 5, chunkRows: 2 },
      scorer: (snapshot) => async (ds, s, e) => {
        calls.push(`${s}-${e}`);
        await new Promise((r) => setTimeout(r, 1));
        if (ds.numRows > 5) throw new Error('scorer down');
        return snapshot.score(ds, s, e).map((p) => p.map((x) => 1 - x));
      },
    });
    try {
      const rows = Array.from({ length: 5 }, (_, i) => tinyRow(i));
      const r = await server.app.inject({ method: 'POST', url: '/v1/predict', payload: { rows } });
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(calls, ['0-2', '2-4', '4-5']);
      assert.deepEqual((JSON.parse(r.body) as { scores: number[] }).scores, (await alone(0, 5)).map((p) => 1 - p));
      const failed = await server.app.inject({ method: 'POST', url: '/v1/predict', payload: { rows: [...rows, tinyRow(5)] } });
      assert.equal(failed.statusCode, 500);
    } finally {
      await server.close();
    }
  });

  it('a sequence is a separator-joined string or an array of tokens', async () => {
    const server = createServer({ modelDir });
    try {
      const base = { user: 'u1', city: 'rome', price: 5, x: 0.5 };
      const asText = await server.app.inject({ method: 'POST', url: '/v1/predict', payload: { rows: [{ ...base, items: 'a|c|b|zz' }, { ...base, items: '' }] } });
      const asArray = await server.app.inject({ method: 'POST', url: '/v1/predict', payload: { rows: [{ ...base, items: ['a', 'c', 'b', 'zz'] }, { ...base, items: [] }] } });
      assert.equal(asText.statusCode, 200, asText.body);
      assert.equal(asArray.body, asText.body);
      assert.throws(() => readPredictBody({ rows: [{ ...base, items: ['a|b'] }] }, snap.features, snap.encoder, 10),
        (e: RequestError) => e.row === 0 && e.field === 'items' && /separator/.test(e.message));
      assert.throws(() => readPredictBody({ rows: [{ ...base, items: [{}] }] }, snap.features, snap.encoder, 10),
        (e: RequestError) => e.row === 0 && e.field === 'items' && /token 0/.test(e.message));
      const badPrice = await server.app.inject({ method: 'POST', url: '/v1/predict', payload: { rows: [{ ...base, items: [] }, { ...base, items: [], price: 'cheap' }] } });
      assert.equal(badPrice.statusCode, 400);
      assert.deepEqual(JSON.parse(badPrice.body).error, { code: 'bad_request', message: 'row 1: field price: expected a number, got "cheap"', row: 1, field: 'price' });
    } finally {
      await server.close();
    }
  });

  it('requests are encoded once, as blocks that concatenate to the rows encoded together (sequences included)', () => {
    const whole = rowsOf(0, 9);
    const parts = [rowsOf(0, 2), rowsOf(2, 0), rowsOf(2, 6), rowsOf(8, 1)];
    assert.deepEqual(concatColumns(parts), whole);
    assert.ok(whole.sequences[0]!.codes.length > 5 && new Set(whole.codes).size > 5, 'the rows must differ for the comparison to mean anything');
  });

  it('a request rejected at a later row leaves nothing in the shared encoder', () => {
    const rows = [tinyRow(0), tinyRow(1), { ...tinyRow(2), price: 'cheap' }];
    assert.throws(() => readPredictBody({ rows }, snap.features, snap.encoder, 10), (e: RequestError) => e.row === 2 && e.field === 'price');
    assert.equal(snap.encoder.numRows, 0);
    assert.deepEqual(rowsOf(5, 2), concatColumns([rowsOf(5, 1), rowsOf(6, 1)]));
  });

  it('scores are written as JSON.stringify writes them (non-finite numbers as null)', () => {
    const xs = Float64Array.from([0.1, 1 / 3, 1e-7, 5e-324, 0, -0, 1, 0.30000000000000004, 123456789.125]);
    assert.equal(jsonNumbers(xs), JSON.stringify(Array.from(xs)));
    assert.equal(jsonNumbers(new Float64Array(0)), '[]');
    assert.equal(jsonNumbers(Float64Array.from([0.5, Number.NaN, Infinity])), '[0.5,null,null]');
  });
});
