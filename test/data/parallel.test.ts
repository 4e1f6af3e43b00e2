/**
 * The parallel readers must be indistinguishable from the single-threaded ones: same rows, stats,
 * skipped-line messages and errors, for every worker count and chunk size.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  openCriteo, openCsv, openSvmlight, type CsvOptions, type ReaderOptions, type RecordReader,
} from '../../src/data/readers/index.js';
import { openCriteoBlocks, openCriteoParallel, openCsvParallel, openSvmlightParallel } from '../../src/data/parallel/index.js';
import { sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';

let dir = '';
before(async () => { dir = await mkdtemp(join(tmpdir(), 'ctrkit-parallel-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

async function write(name: string, text: string, gzip = false): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, gzip ? gzipSync(Buffer.from(text)) : text);
  return p;
}

interface Outcome { rows: string[]; lines: number[]; stats: unknown; error: string | undefined }

/** Everything observable about one read: rows (serialized), their lines, the final stats, the error. */
async function outcome<T>(open: () => Promise<RecordReader<T>>): Promise<Outcome> {
  let r: RecordReader<T>;
  try {
    r = await open();
  } catch (err) {
    return { rows: [], lines: [], stats: undefined, error: (err as Error).message };
  }
  const rows: string[] = [];
  const lines: number[] = [];
  let error: string | undefined;
  try {
    for await (const x of r) {
      rows.push(JSON.stringify(x, (_k, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v)));
      lines.push(r.line);
    }
  } catch (err) {
    error = (err as Error).message;
  }
  return { rows, lines, stats: { ...r.stats }, error };
}

const WORKERS = [0, 1, 2, 3];
const CHUNKS = [200, 4096, undefined];

function sameAsSingle(single: Outcome, par: Outcome, what: string): void {
  assert.equal(par.error, single.error, `${what}: error`);
  assert.deepEqual(par.stats, single.stats, `${what}: stats`);
  assert.equal(par.rows.length, single.rows.length, `${what}: row count`);
  assert.deepEqual(par.lines, single.lines, `${what}: lines`);
  assert.deepEqual(par.rows, single.rows, `${what}: rows`);
}

async function checkCriteo(file: string, options: ReaderOptions = {}): Promise<Outcome> {
  const single = await outcome(() => openCriteo(file, options));
  for (const workers of WORKERS) {
    for (const chunkSize of CHUNKS) {
      const par = await outcome(() => openCriteoParallel(file, { ...options, workers, chunkSize }));
      sameAsSingle(single, par, `criteo workers=${workers} chunk=${chunkSize}`);
    }
  }
  return single;
}

/** A deterministic Criteo-like file; `bad` maps row index -> a broken line. */
function criteoText(n: number, bad: Record<number, string> = {}): string {
  let s = 7;
  const rnd = (m: number): number => { s = (s * 1103515245 + 12345) & 0x7fffffff; return s % m; };
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    if (bad[i] !== undefined) { out.push(bad[i]!); continue; }
    const f = [String(rnd(2))];
    for (let k = 0; k < 13; k++) f.push(rnd(5) === 0 ? '' : String(rnd(300) - 3));
    for (let j = 0; j < 26; j++) f.push(rnd(9) === 0 ? '' : (rnd(7 + j * 40) * 2654435761 >>> 0).toString(16));
    out.push(f.join('\t'));
  }
  return `${out.join('\n')}\n`;
}

describe('parallel Criteo reader', () => {
  it('equals openCriteo on the real Kaggle sample, any worker count', {
    skip: skipWithoutSharedData('criteo_kaggle_dac_head10k/criteo_kaggle_train_head10k.txt.gz'),
  }, async () => {
    const file = join(sharedDataDir(), 'criteo_kaggle_dac_head10k/criteo_kaggle_train_head10k.txt.gz');
    const single = await outcome(() => openCriteo(file));
    for (const workers of [1, 2, 3]) {
      sameAsSingle(single, await outcome(() => openCriteoParallel(file, { workers, chunkSize: 1 << 16 })), `workers=${workers}`);
    }
    assert.equal(single.rows.length, 10000);
  });

  it('equals openCriteo on generated files, plain and gzip, with and without final newline', async () => {
    const text = criteoText(600);
    for (const [name, body, gz] of [['g.txt', text, false], ['g.txt.gz', text, true], ['nofinal.txt', text.slice(0, -1), false],
      ['crlf.txt', text.replace(/\n/g, '\r\n'), false]] as const) {
      const o = await checkCriteo(await write(name, body, gz));
      assert.equal(o.rows.length, 600);
    }
  });

  it('bad lines: same first error (file:line:field) and same skip counts and messages', async () => {
    const good = criteoText(1).trim();
    const f = good.split('\t');
    const nonNumeric = [...f.slice(0, 3), '12a', ...f.slice(4)].join('\t');
    const inf = [...f.slice(0, 5), 'inf', ...f.slice(6)].join('\t');
    const nan = [...f.slice(0, 2), 'NaN', ...f.slice(3)].join('\t');
    const badLabel = ['2', ...f.slice(1)].join('\t');
    const short = f.slice(0, 30).join('\t');
    const text = criteoText(400, { 5: nonNumeric, 77: short, 150: '', 151: inf, 300: nan, 399: badLabel });
    const p = await write('bad.txt', text);
    const err = await checkCriteo(p);
    assert.equal(err.error, 'bad.txt:6: field I3 (column 4): expected an integer or empty, got "12a"');
    assert.equal(err.rows.length, 5);
    const skipped = await checkCriteo(p, { onBadLine: 'skip' });
    assert.equal(skipped.error, undefined);
    assert.equal((skipped.stats as { skipped: number }).skipped, 6);
    assert.deepEqual((skipped.stats as { skippedExamples: string[] }).skippedExamples, [
      'bad.txt:6: field I3 (column 4): expected an integer or empty, got "12a"',
      'bad.txt:78: expected 40 tab-separated columns, got 30',
      'bad.txt:151: expected 40 tab-separated columns, got an empty line',
      'bad.txt:152: field I5 (column 6): expected an integer or empty, got "inf"',
      'bad.txt:301: field I2 (column 3): expected an integer or empty, got "NaN"',
      'bad.txt:400: field label (column 1): expected 0 or 1, got "2"',
    ]);
  });

  it('truncated gzip and empty files fail as in openCriteo', async () => {
    const gz = gzipSync(Buffer.from(criteoText(3000)));
    const p = join(dir, 'trunc.txt.gz');
    await writeFile(p, gz.subarray(0, gz.length >> 1));
    // How much decompressed data is delivered before a zlib error depends on stream timing (a
    // destroyed stream drops its buffered output), for the single-threaded reader too: so the rows
    // read are only required to be a prefix of the file's rows, and the error the same.
    const whole = await write('whole.txt', criteoText(3000));
    const full = await outcome(() => openCriteo(whole));
    for (const onBadLine of ['error', 'skip'] as const) {
      for (const workers of WORKERS) {
        const o = await outcome(() => openCriteoParallel(p, { onBadLine, workers, chunkSize: 4096 }));
        assert.match(o.error!, /^trunc\.txt\.gz: truncated gzip file \(unexpected end of compressed data\) after \d+ complete lines/);
        assert.ok(o.rows.length > 0 && o.rows.length < 3000);
        assert.deepEqual(o.rows, full.rows.slice(0, o.rows.length));
      }
    }
    const e = await checkCriteo(await write('empty.txt', ''));
    assert.equal(e.error, 'empty.txt: file is empty (no lines)');
    const eg = await checkCriteo(await write('empty.txt.gz', '', true));
    assert.equal(eg.error, 'empty.txt.gz: file is empty (no lines)');
  });

  it('blocks: codes index the vocabulary in order of first appearance', async () => {
    const p = await write('blocks.txt', criteoText(500));
    const single = await outcome(() => openCriteo(p));
    for (const workers of [1, 2, 3]) {
      const b = await openCriteoBlocks(p, { workers, chunkSize: 1000 });
      const firsts: string[][] = Array.from({ length: 26 }, () => []);
      const seen = Array.from({ length: 26 }, () => new Set<string>());
      let r = 0;
      for await (const block of b) {
        for (let i = 0; i < block.numRows; i++, r++) {
          const cats = (JSON.parse(single.rows[r]!) as { cats: string[] }).cats;
          for (let j = 0; j < 26; j++) {
            const tok = b.vocabulary[j]![block.cats[i * 26 + j]!];
            assert.equal(tok, cats[j]);
            if (!seen[j]!.has(tok!)) { seen[j]!.add(tok!); firsts[j]!.push(tok!); }
          }
        }
      }
      assert.equal(r, 500);
      assert.deepEqual(b.vocabulary, firsts);
    }
  });
});

async function checkCsv(file: string, options: CsvOptions = {}): Promise<Outcome> {
  const single = await outcome(() => openCsv(file, options));
  for (const workers of WORKERS) {
    for (const chunkSize of CHUNKS) {
      sameAsSingle(single, await outcome(() => openCsvParallel(file, { ...options, workers, chunkSize })),
        `csv workers=${workers} chunk=${chunkSize}`);
    }
  }
  return single;
}

describe('parallel CSV reader', () => {
  it('quoted fields with newlines across chunk boundaries, typed columns, skip', async () => {
    const rows = ['id,name,n'];
    for (let i = 0; i < 300; i++) {
      const name = i % 7 === 0 ? `"multi\nline ""${i}""\n${'x'.repeat(i % 50)}"` : i % 5 === 0 ? `"a,b${i}"` : `v${i % 13}`;
      rows.push(`${i},${name},${i % 11 === 0 ? 'zz' : String(i)}`);
    }
    const text = `${rows.join('\n')}\n`;
    const p = await write('q.csv', text);
    const o = await checkCsv(p);
    assert.equal(o.rows.length, 300);
    const typed = await checkCsv(p, { types: { n: 'int' } });
    assert.equal(typed.error, 'q.csv:2: field n (column 3): expected an integer, got "zz"');
    const skip = await checkCsv(p, { types: { n: 'int' }, onBadLine: 'skip' });
    assert.equal((skip.stats as { skipped: number }).skipped, 28);
    await checkCsv(await write('q.csv.gz', text, true), { types: { n: 'int' }, onBadLine: 'skip' });
    await checkCsv(await write('open.csv', 'a,b\n1,2\n3,"unclosed\n4,5\n'));
    await checkCsv(await write('open2.csv', 'a,b\n1,2\n3,"unclosed\n4,5\n'), { onBadLine: 'skip' });
  });

  it('header checks, header-only, wrong column count, no header with trim', async () => {
    assert.equal((await checkCsv(await write('h.csv', 'a,b\n'))).error, 'h.csv: no data rows after the header');
    assert.equal((await checkCsv(await write('e.csv', ''))).error, 'e.csv: file is empty (expected a header line)');
    assert.match((await checkCsv(await write('w.csv', 'a,b\n1,2\n1,2,3\n'))).error!, /^w\.csv:3: expected 2 comma-separated columns, got 3$/);
    assert.match((await checkCsv(await write('c.csv', 'a,b\n1,2\n'), { columns: ['a', 'c'] })).error!, /^c\.csv:1: header/);
    const o = await checkCsv(await write('n.csv', ' 1, x\n2 ,y \n'), { header: false, columns: ['a', 'b'], trim: true });
    assert.deepEqual(o.rows, ['["1","x"]', '["2","y"]']);
  });

  it('equals openCsv on the Avazu sample', {
    skip: skipWithoutSharedData('avazu_head9k/avazu_train_head8999.csv.gz'),
  }, async () => {
    const file = join(sharedDataDir(), 'avazu_head9k/avazu_train_head8999.csv.gz');
    const single = await outcome(() => openCsv(file, { types: { click: 'int' } }));
    for (const workers of [1, 2, 3]) {
      sameAsSingle(single, await outcome(() => openCsvParallel(file, { types: { click: 'int' }, workers, chunkSize: 1 << 16 })), `w=${workers}`);
    }
  });
});

describe('UTF-8 byte-order mark', () => {
  const BOM = '\ufeff';
  const csv = 'label,city\n1,paris\n0,rome\n';
  const criteo = criteoText(20);
  const svm = '1 qid:1 1:0.5\n0 qid:1 2:1\n';
  // The two files differ in name only in the stats' `file`.
  const same = (plain: Outcome, withBom: Outcome, what: string): void =>
    sameAsSingle({ ...plain, stats: { ...(plain.stats as object), file: '' } }, { ...withBom, stats: { ...(withBom.stats as object), file: '' } }, what);

  it('is not data: every reader gives the lines of the file without it, plain and gzip, any chunking', async () => {
    for (const gzip of [false, true]) {
      const z = gzip ? '.gz' : '';
      // workers 0 parses chunks on this thread through the same chunk parsers; one thread pool per format is enough.
      const threads = gzip ? [0] : [0, 1];
      const [withCsv, noCsv] = [await write(`bom.csv${z}`, BOM + csv, gzip), await write(`nobom.csv${z}`, csv, gzip)];
      const plain = await outcome(() => openCsv(noCsv));
      // 1-byte reads split the three bytes of the mark over several chunks.
      for (const chunkSize of [1, 2, 4096]) same(plain, await outcome(() => openCsv(withCsv, { chunkSize })), `openCsv chunk=${chunkSize}`);
      for (const workers of threads) {
        const reader = await openCsvParallel(withCsv, { workers, chunkSize: 1 });
        assert.deepEqual(reader.columns, ['label', 'city'], `openCsvParallel workers=${workers}`);
        same(plain, await outcome(() => openCsvParallel(withCsv, { workers, chunkSize: 3 })), `openCsvParallel workers=${workers}`);
      }
      const [withCriteo, noCriteo] = [await write(`bom.tsv${z}`, BOM + criteo, gzip), await write(`nobom.tsv${z}`, criteo, gzip)];
      const plainCriteo = await outcome(() => openCriteo(noCriteo));
      same(plainCriteo, await outcome(() => openCriteo(withCriteo)), 'openCriteo');
      for (const workers of threads) same(plainCriteo, await outcome(() => openCriteoParallel(withCriteo, { workers, chunkSize: 200 })), `openCriteoParallel w=${workers}`);
      const [withSvm, noSvm] = [await write(`bom.svm${z}`, BOM + svm, gzip), await write(`nobom.svm${z}`, svm, gzip)];
      const plainSvm = await outcome(() => openSvmlight(noSvm));
      for (const workers of threads) same(plainSvm, await outcome(() => openSvmlightParallel(withSvm, { workers })), `openSvmlightParallel w=${workers}`);
    }
  });

  it('only a leading mark is removed, and a file that is only part of one keeps its bytes', async () => {
    const mid = await write('mid.csv', `a,b\n${BOM}1,2\n`);
    assert.deepEqual((await outcome(() => openCsv(mid))).rows, [JSON.stringify([`${BOM}1`, '2'])]);
    const partial = join(dir, 'partial.csv');
    await writeFile(partial, Buffer.from([0xef, 0xbb]));
    const o = await outcome(() => openCsv(partial, { header: false, columns: ['a'], chunkSize: 1 }));
    assert.deepEqual(o.rows, [JSON.stringify(['\ufffd'])], 'the two bytes decode as one invalid sequence');
  });
});

describe('parallel SVMlight reader', () => {
  it('same rows, qids, comments and errors as openSvmlight', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 300; i++) {
      const feats = Array.from({ length: 1 + (i % 6) }, (_, k) => `${k * 3 + 1}:${((i * 7 + k) % 10) / 4}`).join(' ');
      lines.push(`${i % 3} qid:${Math.floor(i / 10)} ${feats}${i % 4 === 0 ? ` # doc${i}` : ''}`);
    }
    const text = `${lines.join('\n')}\n`;
    const bad = `${text}1 qid:99 3:1 2:1\n`;
    for (const [name, body, options] of [['s.txt', text, {}], ['s.txt.gz', text, {}], ['bad.txt', bad, {}],
      ['bad2.txt', bad, { onBadLine: 'skip' }]] as const) {
      const p = await write(name, body, name.endsWith('.gz'));
      const single = await outcome(() => openSvmlight(p, options));
      for (const workers of [0, 1, 2, 3]) {
        sameAsSingle(single, await outcome(() => openSvmlightParallel(p, { ...options, workers, chunkSize: 512 })), `${name} w=${workers}`);
      }
    }
  });
});
