import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  DataFormatError, openCriteo, openCsv, openIpinyou, openSvmlight, readFeatIndex, splitCsvRecord,
  type RecordReader,
} from '../../src/data/readers/index.js';

let dir = '';
before(async () => { dir = await mkdtemp(join(tmpdir(), 'ctrkit-readers-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

async function write(name: string, text: string, gzip = false): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, gzip ? gzipSync(Buffer.from(text)) : text);
  return p;
}

async function collect<T>(r: RecordReader<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of r) out.push(x);
  return out;
}

/** Asserts that reading rejects with a DataFormatError whose message matches. */
async function rejectsWith(p: Promise<unknown>, re: RegExp, line?: number): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DataFormatError, `expected DataFormatError, got ${String(e)}`);
    assert.match(e.message, re);
    if (line !== undefined) assert.equal(e.line, line);
    return true;
  });
}

function criteoLine(label: number, ints: string[], cats: string[]): string {
  return [String(label), ...ints, ...cats].join('\t');
}
const INTS = ['1', '', '-1', '5', '0', '1382', '4', '15', '2', '181', '1', '2', ''];
const CATS = Array.from({ length: 26 }, (_, i) => (i === 3 ? '' : (0x68fd1e64 + i).toString(16)));
const GOOD = criteoLine(0, INTS, CATS);

describe('Criteo reader', () => {
  it('parses ints (NaN = missing, negatives kept) and raw categoricals, plain and gzip', async () => {
    for (const gz of [false, true]) {
      const p = await write(`ok${gz ? '.gz' : ''}.txt`, `${GOOD}\n${criteoLine(1, INTS, CATS)}\n`, gz);
      const r = await openCriteo(p);
      const rows = await collect(r);
      assert.equal(rows.length, 2);
      assert.deepEqual(rows.map((x) => x.label), [0, 1]);
      assert.ok(Number.isNaN(rows[0]!.ints[1]!));
      assert.equal(rows[0]!.ints[2], -1);
      assert.equal(rows[0]!.ints[5], 1382);
      assert.deepEqual(rows[0]!.cats, CATS);
      assert.deepEqual({ ...r.stats, file: '' }, { file: '', lines: 2, rows: 2, skipped: 0, skippedExamples: [] });
    }
  });

  it('a line without final newline and CRLF endings read the same', async () => {
    const p = await write('crlf.txt', `${GOOD}\r\n${GOOD}`);
    const rows = await collect(await openCriteo(p));
    assert.equal(rows.length, 2);
    assert.equal(rows[1]!.cats[25], CATS[25]);
  });

  it('wrong column count names file:line', async () => {
    const short = GOOD.slice(0, GOOD.lastIndexOf('\t'));
    const p = await write('criteo_short.txt.gz', `${GOOD}\n${GOOD}\n${short}\n`, true);
    await rejectsWith(collect(await openCriteo(p)), /^criteo_short\.txt\.gz:3: expected 40 tab-separated columns, got 39$/, 3);
    const q = await write('criteo_long.txt', `${GOOD}\tx\n`);
    await rejectsWith(collect(await openCriteo(q)), /^criteo_long\.txt:1: expected 40 tab-separated columns, got 41$/);
  });

  it('non-numeric int names file:line:field', async () => {
    const bad = INTS.slice();
    bad[2] = '12a';
    const p = await write('criteo_int.txt', `${GOOD}\n${criteoLine(0, bad, CATS)}\n`);
    await rejectsWith(collect(await openCriteo(p)), /^criteo_int\.txt:2: field I3 \(column 4\): expected an integer or empty, got "12a"$/, 2);
    const q = await write('criteo_label.txt', `${criteoLine(0, INTS, CATS).replace(/^0/, 'x')}\n`);
    await rejectsWith(collect(await openCriteo(q)), /^criteo_label\.txt:1: field label \(column 1\): expected 0 or 1/);
  });

  it("onBadLine: 'skip' drops and counts bad lines", async () => {
    const bad = INTS.slice();
    bad[0] = 'NaN';
    const text = [GOOD, GOOD.slice(0, 20), criteoLine(0, bad, CATS), '', GOOD].join('\n');
    const r = await openCriteo(await write('criteo_skip.txt', text), { onBadLine: 'skip', keepSkipped: 2 });
    const rows = await collect(r);
    assert.equal(rows.length, 2);
    assert.equal(r.stats.skipped, 3);
    assert.equal(r.stats.lines, 5);
    assert.equal(r.stats.skippedExamples.length, 2);
    assert.match(r.stats.skippedExamples[0]!, /criteo_skip\.txt:2: expected 40/);
    assert.match(r.stats.skippedExamples[1]!, /criteo_skip\.txt:3: field I1/);
  });

  it('truncated gzip is an error naming the file, also under skip', async () => {
    const body = Array.from({ length: 2000 }, () => GOOD).join('\n');
    const gz = gzipSync(Buffer.from(body));
    const p = join(dir, 'criteo_trunc.txt.gz');
    await writeFile(p, gz.subarray(0, Math.floor(gz.length * 0.6)));
    for (const onBadLine of ['error', 'skip'] as const) {
      await rejectsWith(collect(await openCriteo(p, { onBadLine })), /^criteo_trunc\.txt\.gz: truncated gzip file/);
    }
    const c = join(dir, 'criteo_corrupt.txt.gz');
    const broken = Buffer.from(gz);
    broken.fill(0xff, 20, 60);
    await writeFile(c, broken);
    await rejectsWith(collect(await openCriteo(c)), /^criteo_corrupt\.txt\.gz: corrupt gzip data/);
  });

  it('empty file (plain, or gzip of nothing) is an error unless allowed', async () => {
    for (const gz of [false, true]) {
      const p = await write(`empty${gz ? '.gz' : ''}`, '', gz);
      await rejectsWith(collect(await openCriteo(p)), /^empty(\.gz)?: file is empty/);
      assert.equal((await collect(await openCriteo(p, { allowEmpty: true }))).length, 0);
    }
  });

  it('a missing file fails at open with the path', async () => {
    await assert.rejects(openCriteo(join(dir, 'nope.txt')), /ENOENT.*nope\.txt/);
  });

  it('reads across chunk boundaries (tiny chunks)', async () => {
    const lines = Array.from({ length: 50 }, (_, i) => criteoLine(i % 2, INTS, CATS));
    const p = await write('chunks.txt.gz', lines.join('\n') + '\n', true);
    const r = await openCriteo(p, { chunkSize: 7 });
    const rows = await collect(r);
    assert.equal(rows.length, 50);
    assert.deepEqual(rows.map((x) => x.label), lines.map((_, i) => i % 2));
    assert.equal(r.line, 50);
    const plain = await write('chunks.txt', lines.join('\n'));
    assert.equal((await collect(await openCriteo(plain, { chunkSize: 5 }))).length, 50);
  });
});

describe('CSV reader', () => {
  it('header, typed columns and values', async () => {
    const p = await write('a.csv.gz', 'id,click,hour,C1\n1,0,14102100,1005\n2,1,14102100,1002\n', true);
    const r = await openCsv(p, { types: { click: 'int' } });
    assert.deepEqual(r.columns, ['id', 'click', 'hour', 'C1']);
    assert.deepEqual(await collect(r), [['1', '0', '14102100', '1005'], ['2', '1', '14102100', '1002']]);
    assert.equal(r.stats.lines, 3);
  });

  it('header: false with given names and trim (census style)', async () => {
    const p = await write('census.txt', '38, Private, 6, - 50000.\n44, Self-employed, 37, 50000+.\n');
    const r = await openCsv(p, { header: false, columns: ['age', 'class', 'code', 'income'], trim: true, types: { age: 'int?' } });
    assert.deepEqual(await collect(r), [['38', 'Private', '6', '- 50000.'], ['44', 'Self-employed', '37', '50000+.']]);
  });

  it('multi-byte UTF-8 split across read chunks', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => [`é${i}`, `日本${'ü'.repeat(i % 4)}`]);
    const p = await write('utf8.csv', `a,b\n${rows.map((r) => r.join(',')).join('\n')}\n`);
    assert.deepEqual(await collect(await openCsv(p, { chunkSize: 3 })), rows);
  });

  it('quoted fields, escaped quotes and a newline inside quotes', async () => {
    assert.deepEqual(splitCsvRecord('a,"b,c","d""e",', ','), ['a', 'b,c', 'd"e', '']);
    assert.equal(splitCsvRecord('a,"b', ','), undefined);
    const p = await write('q.csv', 'x,y\n"multi\nline",2\n3,4\n');
    const r = await openCsv(p);
    const rows: string[][] = [];
    const lines: number[] = [];
    for await (const row of r) { rows.push(row); lines.push(r.line); }
    assert.deepEqual(rows, [['multi\nline', '2'], ['3', '4']]);
    assert.deepEqual(lines, [2, 4]);
  });

  it('wrong column count names file:line; typed column names file:line:field', async () => {
    const p = await write('avazu_bad.csv', 'id,click,hour\n1,0,5\n2,1\n');
    await rejectsWith(collect(await openCsv(p)), /^avazu_bad\.csv:3: expected 3 comma-separated columns, got 2$/, 3);
    const q = await write('avazu_label.csv', 'id,click,hour\n1,0,5\n2,yes,5\n');
    await rejectsWith(collect(await openCsv(q, { types: { click: 'int' } })),
      /^avazu_label\.csv:3: field click \(column 2\): expected an integer, got "yes"$/);
    const u = await write('unterminated.csv', 'a,b\n1,"2\n');
    await rejectsWith(collect(await openCsv(u)), /^unterminated\.csv:2: quoted field is not closed/);
  });

  it("onBadLine: 'skip' counts; empty file and header-only file are errors", async () => {
    const p = await write('skip.csv', 'a,b\n1,2\n3\n4,5,6\n7,8\n');
    const r = await openCsv(p, { onBadLine: 'skip' });
    assert.deepEqual(await collect(r), [['1', '2'], ['7', '8']]);
    assert.equal(r.stats.skipped, 2);
    await rejectsWith(openCsv(await write('empty.csv', '')), /^empty\.csv: file is empty \(expected a header line\)$/);
    await rejectsWith(collect(await openCsv(await write('hdr.csv', 'a,b\n'))), /^hdr\.csv: no data rows after the header$/);
    await rejectsWith(openCsv(await write('schema.csv', 'a,c\n1,2\n'), { columns: ['a', 'b'] }), /^schema\.csv:1: header "a,c" differs/);
  });
});

describe('iPinYou reader', () => {
  const FEAT = 'weekday:1\t0\nweekday:2\t1\nhour:00\t2\nhour:01\t3\nuseragent:windows_ie\t4\n';

  it('fields in featindex order; one idx per field', async () => {
    const idx = await readFeatIndex(await write('featindex.txt.gz', FEAT, true));
    assert.deepEqual(idx.fields, ['weekday', 'hour', 'useragent']);
    const p = await write('train.fm.txt', '0 3:1 0:1 4:1\n1 1:1 2:1 4:1\n');
    assert.deepEqual(await collect(await openIpinyou(p, idx)), [
      { label: 0, idx: ['0', '3', '4'] }, { label: 1, idx: ['1', '2', '4'] },
    ]);
  });

  it('bad lines name file:line:field, skip counts them', async () => {
    const idx = await readFeatIndex(await write('featindex2.txt', FEAT));
    const dup = await write('dup.fm.txt', '0 0:1 2:1 4:1\n0 0:1 1:1 2:1 4:1\n');
    await rejectsWith(collect(await openIpinyou(dup, idx)), /^dup\.fm\.txt:2: field weekday: two features \(0 and 1\)/, 2);
    const miss = await write('miss.fm.txt', '0 0:1 4:1\n');
    await rejectsWith(collect(await openIpinyou(miss, idx)), /^miss\.fm\.txt:1: field hour: no feature for this field$/);
    const unk = await write('unk.fm.txt', '0 0:1 2:1 99:1\n');
    await rejectsWith(collect(await openIpinyou(unk, idx)), /^unk\.fm\.txt:1: feature index 99 is not in the featindex file$/);
    const r = await openIpinyou(await write('mix.fm.txt', '0 0:1 2:1 4:1\n0 0:1\n1 1:1 3:1 4:1\n'), idx, { onBadLine: 'skip' });
    assert.equal((await collect(r)).length, 2);
    assert.equal(r.stats.skipped, 1);
    await rejectsWith(readFeatIndex(await write('badfeat.txt', 'weekday:1 0\n')), /^badfeat\.txt:1: expected "field:value<TAB>index"/);
  });
});

describe('SVMlight reader', () => {
  it('labels, qid, features, comments; errors name file:line:field', async () => {
    const p = await write('letor.txt', '2 qid:10 1:0.5 3:-1e-3 #docid = GX1\r\n0 qid:10 2:1\r\n1 7:0.25\r\n');
    const rows = await collect(await openSvmlight(p));
    assert.deepEqual(rows.map((r) => [r.label, r.qid, Array.from(r.indices), Array.from(r.values), r.comment]), [
      [2, 10, [1, 3], [0.5, -0.001], 'docid = GX1'],
      [0, 10, [2], [1], undefined],
      [1, undefined, [7], [0.25], undefined],
    ]);
    const bad = await write('bad.svm', '1 qid:1 1:0.5\n0 qid:1 1:abc\n');
    await rejectsWith(collect(await openSvmlight(bad)), /^bad\.svm:2: field feature 1: expected a number after ':', got "1:abc"$/, 2);
    const order = await write('order.svm', '1 qid:1 3:0.5 2:1\n');
    await rejectsWith(collect(await openSvmlight(order)), /^order\.svm:1: field feature 2: indices must be strictly increasing/);
    const lab = await write('lab.svm', 'x qid:1 1:1\n');
    await rejectsWith(collect(await openSvmlight(lab)), /^lab\.svm:1: field label: expected a number, got "x"$/);
    const r = await openSvmlight(await write('skip.svm', '1 1:1\n\nq 1:1\n0 2:2\n'), { onBadLine: 'skip' });
    assert.equal((await collect(r)).length, 2);
    assert.equal(r.stats.skipped, 2);
  });
});
