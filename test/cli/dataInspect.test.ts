/** End to end: `ctrkit data inspect` on temporary files; exit 0 only for a valid file, errors name file:line:field. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
let dir = '';

interface Run { code: number | null; out: string; err: string }

function inspect(...args: string[]): Run {
  const r = spawnSync(process.execPath, [MAIN, 'data', 'inspect', ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function file(name: string, text: string | Buffer): string {
  writeFileSync(join(dir, name), text);
  return name;
}

function fails(r: Run, pattern: RegExp): void {
  assert.equal(r.code, 1, `exit ${r.code}, stderr: ${r.err}`);
  const lines = r.err.trim().split('\n');
  assert.equal(lines.length, 1, `expected a one-line error, got:\n${r.err}`);
  assert.match(lines[0]!, pattern);
}

function json(r: Run): Record<string, unknown> {
  assert.equal(r.code, 0, `exit ${r.code}, stderr: ${r.err}`);
  return JSON.parse(r.out) as Record<string, unknown>;
}

const CATS = Array.from({ length: 26 }, (_, i) => (i % 5 === 0 ? '' : `c${i}`));
const criteo = (label: string, i1 = '3'): string => [label, i1, ...Array.from({ length: 12 }, (_, k) => String(k)), ...CATS].join('\t');

describe('ctrkit data inspect (end to end)', () => {
  before(() => { dir = mkdtempSync(join(tmpdir(), 'ctrkit-inspect-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('criteo: rows, label rate, cardinality and missing share; text and --json; gzip', () => {
    const text = `${criteo('1')}\n${criteo('0', '')}\n${criteo('0', '7')}\n${criteo('0')}\n`;
    const o = json(inspect(file('day.txt.gz', gzipSync(text)), '--json'));
    assert.equal(o.format, 'criteo');
    assert.equal(o.rows, 4);
    const labels = o.labels as { name: string; rate: number }[];
    assert.deepEqual(labels.map((l) => [l.name, l.rate]), [['label', 0.25]]);
    const fields = o.fields as { name: string; cardinality: number; missingShare: number }[];
    assert.equal(fields.length, 39);
    assert.deepEqual(fields[0], { name: 'I1', cardinality: 2, missing: 1, missingShare: 0.25 });
    assert.equal(fields[13]!.missingShare, 1); // C1 is always empty
    const t = inspect('day.txt.gz', '--workers', '2');
    assert.equal(t.code, 0);
    assert.match(t.out, /^rows\s+4$/m);
    assert.match(t.out, /label: rate 0\.2500/);
    assert.match(t.out, /^I1\s+2\s+25\.00%$/m);
  });

  it('criteo bad inputs: wrong column count, non-numeric, NaN/Inf, bad label; skip counts and exits 1', () => {
    fails(inspect(file('short.txt', `${criteo('0')}\n${criteo('0').split('\t').slice(0, 20).join('\t')}\n`)),
      /^ctrkit: short\.txt:2: expected 40 tab-separated columns, got 20$/);
    fails(inspect(file('nonnum.txt', `${criteo('0', 'abc')}\n`)), /^ctrkit: nonnum\.txt:1: field I1 \(column 2\): expected an integer or empty, got "abc"$/);
    fails(inspect(file('nan.txt', `${criteo('0')}\n${criteo('1', 'NaN')}\n`)), /^ctrkit: nan\.txt:2: field I1 \(column 2\): .*"NaN"$/);
    fails(inspect(file('inf.txt', `${criteo('0', 'Infinity')}\n`)), /^ctrkit: inf\.txt:1: field I1 \(column 2\): .*"Infinity"$/);
    fails(inspect(file('label.txt', `${criteo('0')}\n${criteo('0')}\n${criteo('3')}\n`)), /^ctrkit: label\.txt:3: field label \(column 1\): expected 0 or 1, got "3"$/);
    const r = inspect(file('mixed.txt', `${criteo('0')}\n${criteo('1', 'x')}\n${criteo('1')}\n\n`), '--on-bad-line', 'skip', '--json');
    assert.equal(r.code, 1);
    const o = JSON.parse(r.out) as { rows: number; skipped: number };
    assert.deepEqual([o.rows, o.skipped], [2, 2]);
    assert.match(r.err, /^ctrkit: mixed\.txt: 2 bad lines skipped; first: mixed\.txt:2: field I1/);
  });

  it('truncated gzip and empty files are errors naming the file', () => {
    const gz = gzipSync(Array.from({ length: 2000 }, (_, i) => criteo(String(i % 2))).join('\n'));
    fails(inspect(file('trunc.txt.gz', gz.subarray(0, gz.length >> 1))), /^ctrkit: trunc\.txt\.gz: truncated gzip file/);
    fails(inspect(file('empty.txt', '')), /^ctrkit: empty\.txt: file is empty/);
    fails(inspect(file('empty.csv', '')), /^ctrkit: empty\.csv: file is empty \(expected a header line\)$/);
    fails(inspect(file('head.csv', 'a,b\n')), /^ctrkit: head\.csv: no data rows after the header$/);
  });

  it('csv: labels outside the declared set, numeric columns with NaN/Inf, wrong column count', () => {
    const f = file('x.csv', 'click,n,site\n0,1.5,a\n1,2,b\n0,3,a\n');
    const o = json(inspect(f, '--label', 'click', '--numeric', 'n', '--json'));
    assert.deepEqual((o.fields as { name: string; cardinality: number }[]).map((x) => [x.name, x.cardinality]), [['n', 3], ['site', 2]]);
    fails(inspect(file('lab.csv', 'click,site\n0,a\n2,b\n'), '--label', 'click'), /^ctrkit: lab\.csv:3: field click \(column 1\): label "2" is not one of 0, 1$/);
    assert.equal(inspect('lab.csv', '--label', 'click', '--label-values', '0,1,2').code, 0);
    fails(inspect(file('nan.csv', 'click,n\n0,1\n1,NaN\n'), '--label', 'click', '--numeric', 'n'), /^ctrkit: nan\.csv:3: field n \(column 2\): expected a number, got "NaN"$/);
    fails(inspect(file('inf.csv', 'click,n\n0,inf\n'), '--label', 'click', '--numeric', 'n'), /^ctrkit: inf\.csv:2: field n \(column 2\): expected a number, got "inf"$/);
    fails(inspect(file('cols.csv', 'a,b\n1,2\n3\n')), /^ctrkit: cols\.csv:3: expected 2 comma-separated columns, got 1$/);
    fails(inspect(file('nolabel.csv', 'a,b\n1,2\n'), '--label', 'click'), /^ctrkit: nolabel\.csv:1: field click: no label column "click"/);
  });

  it('svmlight and format detection', () => {
    const o = json(inspect(file('r.svm', '1 qid:1 1:0.5 3:1\n0 qid:1 2:1\n2 qid:2 1:1\n'), '--json'));
    assert.equal(o.format, 'svmlight');
    assert.equal(o.rows, 3);
    fails(inspect(file('bad.svm', '1 qid:1 1:nan\n')), /^ctrkit: bad\.svm:1: field feature 1: expected a number after ':', got "1:nan"$/);
    fails(inspect(file('data.bin', 'x')), /^ctrkit: data\.bin: cannot tell the format from the file name; pass --format/);
    fails(inspect('missing.csv'), /^ctrkit: missing\.csv: no such file$/);
  });

  it('parquet: stats, a missing configured column and an empty file are errors naming file and column', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    await conn.run(`COPY (SELECT i % 2 AS label, 'c' || (i % 3) AS site, CASE WHEN i % 4 = 0 THEN NULL ELSE i END AS n FROM range(8) t(i)) TO '${join(dir, 'ok.parquet')}' (FORMAT parquet)`);
    await conn.run(`COPY (SELECT 1 AS label, 'a' AS site WHERE false) TO '${join(dir, 'empty.parquet')}' (FORMAT parquet)`);
    conn.closeSync();
    db.closeSync();
    const o = json(inspect('ok.parquet', '--json'));
    assert.equal(o.rows, 8);
    assert.deepEqual(o.fields, [
      { name: 'site', cardinality: 3, missing: 0, missingShare: 0 },
      { name: 'n', cardinality: 6, missing: 2, missingShare: 0.25 },
    ]);
    fails(inspect('ok.parquet', '--columns', 'site,hour'), /^ctrkit: ok\.parquet: field hour: column "hour" is not in the data \(it has: label, site, n\)$/);
    fails(inspect('ok.parquet', '--label', 'click'), /^ctrkit: ok\.parquet: field click: column "click" is not in the data/);
    fails(inspect('empty.parquet'), /^ctrkit: empty\.parquet: the source returned no rows$/);
  });

  it('--schema: every row encoded with a config; per-field cardinality, OOV share and missing share', () => {
    file('s.yaml', [
      'data:',
      '  source: { format: csv, path: ignored.csv }',
      '  split: { mode: file-order, train: [1, 2], fit: [1, 1] }',
      '  labels: [{ name: y }]',
      '  fields:',
      '    - { name: city, kind: categorical, minCount: 1 }',
      '    - { name: n, kind: numeric, transform: standardize }',
      '    - { name: h, kind: sequence, minCount: 1 }',
    ].join('\n'));
    // Fit rows: the first half (rows 1-2); row 3's "oslo" and "c" are then out of vocabulary.
    file('s.csv', 'y,city,n,h\n1,paris,1,a|b\n0,,2,\n0,oslo,,c\n1,paris,4,a\n');
    const r = json(inspect('s.csv', '--schema', 's.yaml', '--json'));
    assert.equal(r.rows, 4);
    assert.deepEqual(r.labels, [{ name: 'y', rate: 0.5 }]);
    assert.deepEqual(r.fields, [
      { name: 'city', kind: 'id', cardinality: 3, vocabulary: 2, oovShare: 0.25, missingShare: 0.25 },
      { name: 'n', kind: 'dense', cardinality: 3, oovShare: null, missingShare: 0.25 },
      { name: 'h', kind: 'sequence', cardinality: 3, vocabulary: 2, oovShare: 0.25, missingShare: 0.25 },
    ]);
    const text = inspect('s.csv', '--schema', 's.yaml');
    assert.equal(text.code, 0);
    assert.match(text.out, /^city +id +3 +2 +25\.00% +25\.00%$/m);
    fails(inspect('s.csv', '--schema', 'nope.yaml'), /^ctrkit: nope\.yaml: cannot read the configuration file/);
    file('bad.csv', 'y,city,n,h\n1,paris,x,a\n');
    fails(inspect('bad.csv', '--schema', 's.yaml'), /^ctrkit: bad\.csv:2: field n: expected a number, got "x"$/);
  });
});
