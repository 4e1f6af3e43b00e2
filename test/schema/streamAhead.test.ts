/**
 * openRowStreamAhead (the row stream of online training read ahead on a worker thread) hands over
 * the batches, counters and errors of openRowStream on the calling thread, in the same order.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataFormatError } from '../../src/data/readers/errors.js';
import { canReadAhead, openRowStream, openRowStreamAhead, streamSchema, type RowStream, type StreamBatch, type StreamOptions } from '../../src/schema/index.js';
import { READ_AHEAD_MIN_CORES, readAheadDepth, resolveReadAhead } from '../../src/schema/streamAhead.js';
import { CreditReturn } from '../../src/schema/streamAheadProtocol.js';
import { dataConfig, tempFiles } from './helpers.js';

const lines = ['y,a,b,n'];
for (let i = 0; i < 2000; i++) {
  if (i % 397 === 50) lines.push('1,onlytwo');
  else if (i % 211 === 7) lines.push(`1,x${i % 13},b,notanumber`);
  else lines.push(`${i % 3 === 0 ? 1 : 0},"v ${i % 17}",w${i % 101},${i % 50}`);
}
const dir = tempFiles({ 'd.csv.gz': lines.join('\n') + '\n' });
const file = join(dir, 'd.csv.gz');
const data = dataConfig({
  source: { format: 'csv', path: 'd.csv.gz' },
  labels: [{ name: 'y' }],
  fields: [{ name: 'a', kind: 'categorical' }, { name: 'b', kind: 'categorical', hashBuckets: 64 }, { name: 'n', kind: 'numeric', transform: 'log-bucket' }],
});
const fitted = streamSchema(data, 1000, 'test.yaml', 'hashBuckets');

async function drain(rows: RowStream): Promise<{ batches: StreamBatch[]; error?: unknown }> {
  const batches: StreamBatch[] = [];
  try {
    for await (const b of rows) batches.push(b);
  } catch (error) {
    return { batches, error };
  }
  return { batches };
}

async function both(options: StreamOptions, path = file): Promise<[{ batches: StreamBatch[]; error?: unknown; stats: unknown }, { batches: StreamBatch[]; error?: unknown; stats: unknown }]> {
  assert.ok(canReadAhead(path, options), 'read on a worker');
  const here = await openRowStream(fitted, data.source, path, dir, options);
  const ahead = await openRowStreamAhead(fitted, data.source, path, dir, options);
  const a = await drain(here);
  const b = await drain(ahead);
  return [{ ...a, stats: here.stats }, { ...b, stats: ahead.stats }];
}

describe('openRowStreamAhead', () => {
  it('gives the batches (rows, lines, slices) and counters of the in-thread stream, bad lines skipped, after a resume point', async () => {
    const [here, ahead] = await both({ batchSize: 64, onBadLine: 'skip', after: 300, sliceField: 0 });
    assert.equal(here.error, undefined);
    assert.ok(here.batches.length > 20);
    assert.deepEqual(ahead.batches, here.batches);
    assert.deepEqual(ahead.stats, here.stats);
    assert.ok((here.stats as { skipped: number }).skipped > 5);
  });

  it('throws the same error naming file, line and field, after the same batches', async () => {
    const [here, ahead] = await both({ batchSize: 3 });
    assert.ok(here.error instanceof DataFormatError);
    assert.ok(ahead.error instanceof DataFormatError);
    assert.equal(ahead.error.message, here.error.message);
    assert.deepEqual([ahead.error.file, ahead.error.line, ahead.error.field], [here.error.file, here.error.line, here.error.field]);
    assert.match(ahead.error.message, /^d\.csv\.gz:9: field n: /);
    assert.deepEqual(ahead.batches, here.batches);
    assert.equal(here.batches.length, 2);
  });

  it('reads bytes that arrive on the calling thread (options.content) in-thread, as openRowStream', async () => {
    const text = Buffer.from(lines.slice(1).join('\n') + '\n');
    const headerless = { ...data.source, header: false, columns: ['y', 'a', 'b', 'n'] } as typeof data.source;
    async function* content(): AsyncGenerator<Buffer> {
      for (let at = 0; at < text.length; at += 777) yield text.subarray(at, at + 777);
    }
    const options = (): StreamOptions => ({ batchSize: 50, onBadLine: 'skip', content: content() });
    assert.equal(canReadAhead('nats:S', options()), false);
    const a = await drain(await openRowStream(fitted, headerless, 'nats:S', dir, options()));
    const ahead = await openRowStreamAhead(fitted, headerless, 'nats:S', dir, options());
    const b = await drain(ahead);
    assert.equal(b.error, undefined);
    assert.ok(a.batches.length > 30);
    assert.deepEqual(b.batches, a.batches);
    assert.equal(ahead.stats.file, 'nats:S');
  });

  it('a stream opened and never read does not keep the process from exiting', () => {
    const mod = new URL('../../src/schema/index.js', import.meta.url).href;
    const script = `const s = await import(${JSON.stringify(mod)});
const fitted = s.streamSchema(${JSON.stringify(data)}, 1000, 'test.yaml', 'hashBuckets');
await s.openRowStreamAhead(fitted, ${JSON.stringify(data.source)}, ${JSON.stringify(file)}, ${JSON.stringify(dir)}, { batchSize: 8, onBadLine: 'skip' });
console.log('opened');`;
    const entry = join(dir, 'open-only.mjs');
    writeFileSync(entry, script);
    const r = spawnSync(process.execPath, [entry], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.signal, null, 'the process had to be killed');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'opened');
  });

  it('reports a problem found on opening (a missing column) when opened, as the in-thread stream does', async () => {
    const other = tempFiles({ 'e.csv': 'y,a,b\n1,x,y\n' });
    const open = (f: typeof openRowStream) => f(fitted, data.source, join(other, 'e.csv'), other, { batchSize: 4 });
    const expected = await open(openRowStream).then(() => undefined, (e: unknown) => e);
    assert.ok(expected instanceof DataFormatError);
    await assert.rejects(open(openRowStreamAhead), (e: unknown) => e instanceof DataFormatError && e.message === expected.message);
  });

  it('a consumer slower than the worker gets every batch in order (credits handed back 16 at a time)', async () => {
    const options: StreamOptions = { batchSize: 16, onBadLine: 'skip' };
    const here = await drain(await openRowStream(fitted, data.source, file, dir, options));
    const ahead = await openRowStreamAhead(fitted, data.source, file, dir, options);
    const got: StreamBatch[] = [];
    for await (const b of ahead) {
      got.push(b);
      if (got.length % 5 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(got.length > 100);
    assert.deepEqual(got, here.batches);
  });
});

describe('readAheadDepth', () => {
  it('reads about 4096 rows ahead (2 to 32 batches), half of them handed back at a time', () => {
    assert.deepEqual(readAheadDepth(256), { ahead: 16, returnEvery: 8 });
    assert.deepEqual(readAheadDepth(1), { ahead: 32, returnEvery: 16 });
    assert.deepEqual(readAheadDepth(65536), { ahead: 2, returnEvery: 1 });
    assert.deepEqual(readAheadDepth(2048), { ahead: 2, returnEvery: 1 });
    assert.deepEqual(readAheadDepth(1000), { ahead: 6, returnEvery: 3 });
  });
});

describe('resolveReadAhead', () => {
  it("'auto' reads a file ahead from 3 cores, JetStream from 2; true and false are kept", () => {
    assert.deepEqual(READ_AHEAD_MIN_CORES, { file: 3, jetstream: 2 });
    assert.deepEqual([1, 2, 3, 4, 64].map((cores) => resolveReadAhead('auto', 'file', cores)), [false, false, true, true, true]);
    assert.deepEqual([1, 2, 3, 4, 64].map((cores) => resolveReadAhead('auto', 'jetstream', cores)), [false, true, true, true, true]);
    for (const source of ['file', 'jetstream'] as const) {
      for (const cores of [1, 2, 3, 16]) {
        assert.equal(resolveReadAhead(true, source, cores), true);
        assert.equal(resolveReadAhead(false, source, cores), false);
      }
    }
  });
});

describe('CreditReturn', () => {
  it('hands the credits of taken batches back `every` at a time, and what it holds before a wait', () => {
    const sent: number[] = [];
    const credits = new CreditReturn(2, (n) => sent.push(n));
    for (let i = 0; i < 5; i++) credits.took();
    assert.deepEqual(sent, [2, 2]);
    credits.flush();
    credits.flush();
    assert.deepEqual(sent, [2, 2, 1]);
    credits.took();
    assert.deepEqual(sent, [2, 2, 1]);
  });
});
