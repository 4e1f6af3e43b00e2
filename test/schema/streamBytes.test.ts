/**
 * The row stream read as bytes (src/schema/streamBytes.ts) gives the batches, counters and errors of
 * the stream read as text (openTextRowStream), on real Criteo and Avazu lines and on lines made to
 * leave the byte path (quotes, non-ASCII and invalid UTF-8, long or signed integers, decimals,
 * bad lines, CRLF, no final newline, a byte-order mark, lines split across reads).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataFormatError } from '../../src/data/readers/errors.js';
import { bucketOfBits, fnv1a32, fnv1a32NumberBits, fnv1a32RangeBits, hashBucket } from '../../src/schema/hash.js';
import { streamSchema, type RowStream, type StreamBatch, type StreamOptions } from '../../src/schema/index.js';
import { openTextRowStream } from '../../src/schema/stream.js';
import { openByteRowStream } from '../../src/schema/streamBytes.js';
import { nativeLineEncoder, nativeLinesEncoded } from '../../src/schema/nativeLines.js';
import type { DataConfig } from '../../src/schema/config.js';
import { sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';
import { dataConfig, tempFiles } from './helpers.js';

interface Drained { batches: StreamBatch[]; error?: unknown; stats: unknown }

async function drain(rows: RowStream): Promise<Drained> {
  const batches: StreamBatch[] = [];
  try {
    for await (const b of rows) batches.push(b);
  } catch (error) {
    return { batches, error, stats: rows.stats };
  }
  return { batches, stats: rows.stats };
}

async function open(kind: 'bytes' | 'text', data: DataConfig, file: string, options: StreamOptions): Promise<RowStream | unknown> {
  const fitted = streamSchema(data, 1000, 'test.yaml', 'hashBuckets');
  try {
    if (kind === 'text') return await openTextRowStream(fitted, data.source, file, '/', options);
    const r = await openByteRowStream(fitted, data.source, file, options);
    assert.ok(r !== undefined, 'the bytes cover this schema');
    return r;
  } catch (error) {
    return { openError: error };
  }
}

/** Both readings of `file`: equal batches (ids, values, lines, slices), counters and error. */
async function same(data: DataConfig, file: string, options: StreamOptions): Promise<Drained> {
  const t = await open('text', data, file, options);
  const b = await open('bytes', data, file, options);
  if (typeof t === 'object' && t !== null && 'openError' in t) {
    assert.deepEqual(b, t);
    return { batches: [], error: (t as { openError: unknown }).openError, stats: undefined };
  }
  if (typeof b === 'object' && b !== null && 'openError' in b) throw (b as { openError: unknown }).openError;
  const text = await drain(t as RowStream);
  const bytes = await drain(b as RowStream);
  if (bytes.error !== undefined && text.error === undefined) throw bytes.error;
  assert.deepEqual(bytes.batches.map((x) => x.lines), text.batches.map((x) => x.lines), 'lines');
  assert.deepEqual(bytes.batches, text.batches);
  assert.deepEqual(bytes.stats, text.stats);
  assert.equal(String(bytes.error), String(text.error));
  if (text.error instanceof DataFormatError) {
    assert.ok(bytes.error instanceof DataFormatError);
    assert.deepEqual([bytes.error.file, bytes.error.line, bytes.error.field], [text.error.file, text.error.line, text.error.field]);
  }
  return text;
}

const rowsOf = (d: Drained): number => d.batches.reduce((a, b) => a + b.dataset.numRows, 0);

const CRITEO_FIELDS = [
  ...Array.from({ length: 13 }, (_, i) => ({ name: `I${i + 1}`, kind: 'numeric', transform: 'log-bucket' })),
  ...Array.from({ length: 26 }, (_, i) => ({ name: `C${i + 1}`, kind: 'categorical' })),
];
const criteo = (path: string, fields: object[] = CRITEO_FIELDS): DataConfig =>
  dataConfig({ source: { format: 'criteo', path }, labels: [{ name: 'click', column: 'label' }], fields });
/** Integers as plain hashed text, as a dense log value and as buckets, besides the log-bucket ones. */
const CRITEO_MIXED = [
  { name: 'I1', kind: 'categorical' }, { name: 'I2', kind: 'numeric', transform: 'log' }, { name: 'I3', kind: 'numeric', transform: 'bucketize', boundaries: [0, 1, 10, 100] },
  ...CRITEO_FIELDS.slice(3),
];
const AVAZU_COLUMNS = ['hour', 'C1', 'banner_pos', 'site_id', 'site_domain', 'site_category', 'app_id', 'app_domain', 'app_category', 'device_id', 'device_ip',
  'device_model', 'device_type', 'device_conn_type', 'C14', 'C15', 'C16', 'C17', 'C18', 'C19', 'C20', 'C21'];
const avazu = (path: string): DataConfig => dataConfig({
  source: { format: 'csv', path }, labels: [{ name: 'click' }],
  fields: [
    { name: 'hour', kind: 'numeric', transform: 'log-bucket' }, { name: 'C14', kind: 'numeric', transform: 'log' }, { name: 'C15', kind: 'numeric', transform: 'bucketize', boundaries: [100, 300, 500] },
    ...AVAZU_COLUMNS.filter((c) => !['hour', 'C14', 'C15'].includes(c)).map((name) => ({ name, kind: 'categorical' })),
  ],
});

/** Writes files into `dir`: their paths. */
const writer = (dir: string) => (name: string, text: string | Buffer): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
/** A Criteo line's columns, and 13 integers / 26 categoricals of one pattern. */
const tab = (...cols: (string | number)[]): string => cols.join('\t');
const ints = (v: string): string[] => Array.from({ length: 13 }, () => v);
const cats = (v: string): string[] => Array.from({ length: 26 }, (_, i) => `${v}${i}`);

describe('fnv1a32RangeBits / fnv1a32NumberBits / bucketOfBits', () => {
  it('hash bytes as fnv1a32 hashes their decoded text, invalid UTF-8 included', () => {
    for (const bytes of [Buffer.from('a1b2\tc'), Buffer.from('ünïcödé ✓'), Buffer.from([0x61, 0xff, 0x62]), Buffer.from([0xe2, 0x82]), Buffer.alloc(0)]) {
      const padded = Buffer.concat([Buffer.from('\t'), bytes, Buffer.from('\t')]);
      assert.equal(fnv1a32RangeBits(padded, 1, 1 + bytes.length) >>> 0, fnv1a32(bytes.toString('utf8')));
    }
  });
  it('hash a number as fnv1a32 hashes its String()', () => {
    for (const v of [0, -0, 1, -1, 7, 42, -123456, 2 ** 53 - 1, -(2 ** 53) + 1, 2 ** 53, 1e21, -1e21, 0.1, 1.5, -2.25, 1e-7]) {
      assert.equal(fnv1a32NumberBits(v) >>> 0, fnv1a32(String(v)), String(v));
    }
  });
  it('bucket a hash as hashBucket does, for bucket counts up to 2^31 - 1', () => {
    for (const t of ['', 'a', '68fd1e64', 'zzzzzzzzzzzz', '12345']) {
      for (const b of [1, 2, 7, 1000, 32768, 1_000_003, 2 ** 31 - 1]) assert.equal(bucketOfBits(fnv1a32(t) | 0, b), hashBucket(t, b), `${t} ${b}`);
    }
  });
});

describe('openByteRowStream = openTextRowStream', () => {
  const shared = sharedDataDir();
  const CRITEO = 'criteo_kaggle_dac_head10k/criteo_kaggle_train_head10k.txt.gz';
  const AVAZU = 'avazu_head9k/avazu_train_head8999.csv.gz';
  it('real Criteo lines (log-bucket integers, hashed categoricals), a slice field, a resume point', { skip: skipWithoutSharedData(CRITEO) }, async () => {
    const file = join(shared, CRITEO);
    const d = await same(criteo(file), file, { batchSize: 256, sliceField: 20 });
    assert.equal(rowsOf(d), 10_000);
    await same(criteo(file), file, { batchSize: 100, after: 4321, sliceField: 0 });
  });
  it('real Criteo lines with integers hashed as text, dense and bucketized, read in 4 KiB pieces', { skip: skipWithoutSharedData(CRITEO) }, async () => {
    const file = join(shared, CRITEO);
    await same(criteo(file, CRITEO_MIXED), file, { batchSize: 256, chunkSize: 4096, sliceField: 0 });
    await same(criteo(file, CRITEO_MIXED), file, { batchSize: 64, sliceField: 2 });
    // Batches larger than the first allocation grow while they fill.
    await same(criteo(file, CRITEO_MIXED), file, { batchSize: 6000 });
  });
  it('real Avazu lines (CSV with a header; log-bucket, dense, bucketized and hashed columns)', { skip: skipWithoutSharedData(AVAZU) }, async () => {
    const file = join(shared, AVAZU);
    const d = await same(avazu(file), file, { batchSize: 256, sliceField: 3 });
    assert.equal(rowsOf(d), 8999);
    await same(avazu(file), file, { batchSize: 77, after: 5000, chunkSize: 1000, sliceField: 0 });
  });

  const dir = tempFiles({});
  const write = writer(dir);
  const criteoLines = [
    tab(1, ...ints('5'), ...cats('a')),
    tab(0, ...ints(''), ...cats('')),
    tab(0, ...ints('-0'), ...cats('ü')),
    tab(1, ...ints('12345678901234567890'), ...cats('x')),
    tab(0, ...ints('-12345678901234567890'), ...cats('x')),
    tab(1, ...ints('+3'), ...cats('\u00a0')),
    tab(0, ...ints('2'), ...cats('y').slice(0, -1)),
    tab(2, ...ints('1'), ...cats('z')),
    tab(0, ...ints('1x'), ...cats('z')),
    '',
    tab(0, ...ints('-1'), ...cats('q')) + '\r',
    tab(1, ...ints('0'), ...cats('q')) + '\textra',
  ];
  const invalidUtf8 = Buffer.concat([Buffer.from(tab(1, ...ints('9'), ...cats('b').slice(0, 25)) + '\t'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('\n')]);

  it('Criteo lines that leave the byte path: skipped and counted alike, or the same error', async () => {
    const text = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(criteoLines.join('\n') + '\n'), invalidUtf8, Buffer.from(tab(1, ...ints('7'), ...cats('last')))]);
    const file = write('edge.tsv', text);
    for (const fields of [CRITEO_FIELDS, CRITEO_MIXED]) {
      const skip = await same(criteo(file, fields), file, { batchSize: 2, onBadLine: 'skip', sliceField: 0 });
      assert.equal((skip.stats as { skipped: number }).skipped, 5);
      assert.equal(rowsOf(skip), 9);
      await same(criteo(file, fields), file, { batchSize: 3, onBadLine: 'skip', chunkSize: 5, after: 4 });
      const stop = await same(criteo(file, fields), file, { batchSize: 2 });
      assert.ok(stop.error instanceof DataFormatError);
    }
    await same(criteo(write('empty.tsv', '')), join(dir, 'empty.tsv'), { batchSize: 2 });
    const gz = gzipSync(Buffer.from(Array.from({ length: 3000 }, (_, i) => tab(i % 2, ...ints(String(i)), ...cats(`h${i}`))).join('\n')));
    const truncated = write('truncated.tsv.gz', gz.subarray(0, gz.length >> 1));
    const cut = await same(criteo(truncated), truncated, { batchSize: 256, chunkSize: 4096 });
    assert.match(String(cut.error), /truncated gzip file .* after \d+ complete lines/);
    await same(criteo(join(dir, 'missing.tsv')), join(dir, 'missing.tsv'), { batchSize: 2 });
  });

  const csvText = [
    'y,w,a,n,d,b',
    '1,1,x,5,1.5,3',
    '0,0.5,"quoted, with comma",7,2,4',
    '1,2,"two',
    'lines",8,3,5',
    '0,1,é,-0,,',
    '1,1,y,007,0x10,1e3',
    '0,1,z,3.5,-4,0.5',
    '1,1,z,1.5,1,1',
    '0,1,z,0.10,1,1',
    '1,1,z, 7,1,1',
    '0,1,z,123456789012345678901,1,1',
    '1,1,z,-123456789012345678901,1,1',
    '0,1,z,abc,1,1',
    '2,1,z,1,1,1',
    '1,-1,z,1,1,1',
    '1,,z,1,1,1',
    '1,1,z,1,Infinity,1',
    '1,1,z,1,1',
    '',
    '0 , 1 ,  spaced\t, 4 ,\u00a01,1',
    '1,1,last,1,1,1\r',
  ];
  const csvData = (path: string, trim: boolean): DataConfig => dataConfig({
    source: { format: 'csv', path, trim }, labels: [{ name: 'y' }], weight: 'w',
    fields: [{ name: 'a', kind: 'categorical' }, { name: 'n', kind: 'numeric', transform: 'log-bucket' }, { name: 'd', kind: 'numeric', transform: 'log' },
      { name: 'b', kind: 'numeric', transform: 'bucketize', boundaries: [0, 1, 2, 100] }],
  });

  it('CSV lines that leave the byte path (quotes across lines, numbers Number reads, bad values), with and without trim', async () => {
    const file = write('edge.csv', csvText.join('\n'));
    for (const trim of [false, true]) {
      for (const sliceField of [0, 1, 2]) {
        const skip = await same(csvData(file, trim), file, { batchSize: 4, onBadLine: 'skip', sliceField });
        assert.ok((skip.stats as { skipped: number }).skipped >= 6);
        assert.ok(rowsOf(skip) >= 12);
      }
      await same(csvData(file, trim), file, { batchSize: 2, onBadLine: 'skip', chunkSize: 3, after: 6 });
      const stop = await same(csvData(file, trim), file, { batchSize: 2 });
      assert.ok(stop.error instanceof DataFormatError);
    }
    const open = write('open.csv', 'y,w,a,n,d,b\n1,1,x,1,1,1\n1,1,"never closed,1,1,1\n');
    await same(csvData(open, false), open, { batchSize: 1, onBadLine: 'skip' });
    await same(csvData(open, false), open, { batchSize: 1 });
    const headerOnly = write('header.csv', 'y,w,a,n,d,b\n');
    await same(csvData(headerOnly, false), headerOnly, { batchSize: 1 });
    const wrongHeader = write('wrong.csv', 'y,w,a,n,d\n1,1,1,1,1\n');
    await same(csvData(wrongHeader, false), wrongHeader, { batchSize: 1 });
  });

  it('content handed over as message chunks (a JetStream stream) reads as the file does', async () => {
    const lines = criteoLines.filter((l) => l !== '').map((l) => Buffer.from(l + '\n'));
    async function* content(): AsyncGenerator<Buffer> {
      for (const l of lines) yield l;
    }
    const data = criteo('nats:X');
    const fitted = streamSchema(data, 1000, 'test.yaml', 'hashBuckets');
    const text = await drain(await openTextRowStream(fitted, data.source, 'nats:X', '/', { batchSize: 2, onBadLine: 'skip', content: content() }));
    const bytes = await drain((await openByteRowStream(fitted, data.source, 'nats:X', { batchSize: 2, onBadLine: 'skip', content: content() }))!);
    assert.deepEqual(bytes, text);
    assert.ok(rowsOf(text) >= 7);
  });
});

/*
 * The native line encoder takes the lines of schemas with labels and hashed ids only (no dense
 * value, weight, bucketized field or slice) and leaves every other line to the JavaScript path:
 * the batches, counters and errors stay the text path's, and the encoder must have taken most lines.
 */
describe('openByteRowStream with the native line encoder (native/lines.cc)', () => {
  const shared = sharedDataDir();
  const CRITEO = 'criteo_kaggle_dac_head10k/criteo_kaggle_train_head10k.txt.gz';
  const AVAZU = 'avazu_head9k/avazu_train_head8999.csv.gz';
  const hasEncoder = nativeLineEncoder({
    criteo: true, delimiter: 9, ncol: 0, labels: 0, columnOf: new Int32Array(0), mode: new Int32Array(0), buckets: new Float64Array(0),
    offsets: new Int32Array(0), binary: new Uint8Array(0), smallLog: new Int32Array(4096),
  }) !== undefined;
  const skipNative = hasEncoder ? false : 'the native addon is not built (npm run build:native)';
  /** same(), and how many rows the native encoder took meanwhile. */
  const sameNative = async (data: DataConfig, file: string, options: StreamOptions): Promise<{ d: Drained; native: number }> => {
    const before = nativeLinesEncoded();
    const d = await same(data, file, options);
    return { d, native: nativeLinesEncoded() - before };
  };
  /** Integers hashed as text (the Criteo integer rule) and as log buckets, every bucket count from 1 to 2^30. */
  const CRITEO_HASHED = [
    { name: 'I1', kind: 'categorical', hashBuckets: 1 }, { name: 'I2', kind: 'categorical', hashBuckets: 7 },
    ...CRITEO_FIELDS.slice(2, 13), { name: 'C1', kind: 'categorical', hashBuckets: 1_000_003 },
    { name: 'C2', kind: 'categorical', hashBuckets: 2 ** 30 }, ...CRITEO_FIELDS.slice(15),
  ];

  it('real Criteo lines: every row natively, in batches of 1 to 6000, resumed, read in 4 KiB pieces', { skip: skipWithoutSharedData(CRITEO) || skipNative }, async () => {
    const file = join(shared, CRITEO);
    for (const fields of [CRITEO_FIELDS, CRITEO_HASHED]) {
      const { d, native } = await sameNative(criteo(file, fields), file, { batchSize: 256 });
      assert.equal(rowsOf(d), 10_000);
      // Both readings run in this thread: the text one never calls the encoder.
      assert.ok(native >= 9_990, `native rows ${native}`);
    }
    assert.ok((await sameNative(criteo(file), file, { batchSize: 100, after: 4321, chunkSize: 4096 })).native >= 5_600);
    assert.ok((await sameNative(criteo(file, CRITEO_HASHED), file, { batchSize: 6000 })).native >= 9_000);
    assert.ok((await sameNative(criteo(file), file, { batchSize: 1, after: 9000 })).native >= 990);
  });

  it('real Avazu lines (CSV with a header; hashed and log-bucket columns)', { skip: skipWithoutSharedData(AVAZU) || skipNative }, async () => {
    const file = join(shared, AVAZU);
    const data = dataConfig({
      source: { format: 'csv', path: file }, labels: [{ name: 'click' }],
      fields: [{ name: 'hour', kind: 'numeric', transform: 'log-bucket' }, ...AVAZU_COLUMNS.filter((c) => c !== 'hour').map((name) => ({ name, kind: 'categorical' }))],
    });
    const { d, native } = await sameNative(data, file, { batchSize: 256 });
    assert.equal(rowsOf(d), 8999);
    assert.ok(native >= 8990, `native rows ${native}`);
    assert.ok((await sameNative(data, file, { batchSize: 77, after: 5000, chunkSize: 1000 })).native >= 3900);
  });

  const write = writer(tempFiles({}));

  it('Criteo lines it leaves to the JavaScript path between lines it takes: skipped and counted alike, or the same error', { skip: skipNative }, async () => {
    const good = (i: number): string => tab(i % 2, ...ints(String(i * 977)), ...cats(`g${i}`));
    const odd = [
      tab(0, ...ints('-0'), ...cats('ü')),
      tab(1, ...ints('1234567890123456'), ...cats('x')),
      tab(1, ...ints('123456789012345'), ...cats('x')),
      tab(0, ...ints('-98765'), ...cats('x')),
      tab(1, ...ints('+3'), ...cats('\u00a0')),
      tab(0, ...ints('2'), ...cats('y').slice(0, -1)),
      tab(2, ...ints('1'), ...cats('z')),
      tab('', ...ints('1'), ...cats('z')),
      tab('-', ...ints('1'), ...cats('z')),
      tab(0, ...ints('-'), ...cats('z')),
      tab(0, ...ints('1x'), ...cats('z')),
      '',
      tab(0, ...ints('-1'), ...cats('q')) + '\r',
      tab(1, ...ints('0'), ...cats('q')) + '\textra',
    ];
    const lines = odd.flatMap((l, i) => [good(3 * i), good(3 * i + 1), l, good(3 * i + 2)]);
    const file = write('mixed.tsv', lines.join('\n') + '\n' + good(999));
    for (const fields of [CRITEO_FIELDS, CRITEO_HASHED]) {
      const skip = await sameNative(criteo(file, fields), file, { batchSize: 2, onBadLine: 'skip' });
      assert.equal((skip.d.stats as { skipped: number }).skipped, 8);
      assert.equal(rowsOf(skip.d), lines.length + 1 - 8);
      assert.ok(skip.native >= 3 * odd.length, `native rows ${skip.native}`);
      await sameNative(criteo(file, fields), file, { batchSize: 3, onBadLine: 'skip', chunkSize: 50, after: 9 });
      const stop = await sameNative(criteo(file, fields), file, { batchSize: 5 });
      assert.ok(stop.d.error instanceof DataFormatError);
      assert.ok(stop.native > 0);
    }
  });

  it('CSV lines it leaves to the JavaScript path (quotes across lines, decimals, long or bad numbers, wrong column counts)', { skip: skipNative }, async () => {
    const text = [
      'y,a,n',
      '1,x,5', '0,"quoted, with comma",7', '1,"two', 'lines",8', '0,é,-0', '1,y,007', '0,z,3.5', '1,z,1.5',
      '0,z,123456789012345', '1,z,1234567890123456', '1,z,-123456789012345678901', '0,z,abc', '2,z,1', '1.0,z,1', ',z,1',
      '1,z', '1,z,1,1', '', '0,z,99999\r', '1,z,+', '1,z,-', '0,z,-7', '1,z,4096', '0,z,4095', '1,last,12',
    ].join('\n');
    const file = write('mixed.csv', text);
    const data = dataConfig({
      source: { format: 'csv', path: file }, labels: [{ name: 'y' }],
      fields: [{ name: 'a', kind: 'categorical', hashBuckets: 3 }, { name: 'n', kind: 'numeric', transform: 'log-bucket' }],
    });
    const skip = await sameNative(data, file, { batchSize: 4, onBadLine: 'skip' });
    assert.ok((skip.d.stats as { skipped: number }).skipped >= 5);
    assert.ok(skip.native >= 6, `native rows ${skip.native}`);
    await sameNative(data, file, { batchSize: 2, onBadLine: 'skip', chunkSize: 3, after: 6 });
    const stop = await sameNative(data, file, { batchSize: 2 });
    assert.ok(stop.d.error instanceof DataFormatError);
  });
});
