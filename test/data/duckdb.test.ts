/** DuckDB ingestion: Parquet written by the test itself must read back as the CSV readers read the text. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDuckDbRows, type DuckDbReadOptions, type DuckDbRow, type DuckDbSource } from '../../src/data/duckdb/index.js';
import { CENSUS_COLUMNS, openBenchDataset, type LabeledRow } from '../../src/data/prep/index.js';
import { DataFormatError } from '../../src/data/readers/index.js';
import { duckdbInstance, skipWithoutDuckdb } from '../helpers/duckdb.js';
import { packageRoot, sharedDataDir, skipWithoutSharedData } from '../helpers/sharedData.js';

let dir = '';
before(async () => { dir = await mkdtemp(join(tmpdir(), 'ctrkit-duckdb-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

async function sql(statement: string): Promise<void> {
  const db = await duckdbInstance().create(':memory:');
  const conn = await db.connect();
  try {
    await conn.run(statement);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

async function readAll(source: DuckDbSource, options: DuckDbReadOptions): Promise<DuckDbRow[]> {
  const out: DuckDbRow[] = [];
  for await (const r of await openDuckDbRows(source, options)) out.push({ ...r, values: [...r.values] });
  return out;
}

/** Values compared as tokens: the encoders turn numbers into their decimal text. */
const token = (v: string | number): string => (typeof v === 'number' ? (Number.isNaN(v) ? '' : String(v)) : v);

async function csvRows(rows: AsyncIterable<LabeledRow>): Promise<{ label: number; values: string[] }[]> {
  const out: { label: number; values: string[] }[] = [];
  for await (const r of rows) out.push({ label: r.label, values: Array.from(r.values, token) });
  return out;
}

async function rejectsNaming(p: Promise<unknown>, re: RegExp, field?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DataFormatError, `expected DataFormatError, got ${String(e)}`);
    assert.match(e.message, re);
    if (field !== undefined) assert.equal(e.field, field);
    return true;
  });
}

describe('DuckDB ingestion', { skip: skipWithoutDuckdb }, () => {
  it('census-income: Parquet written from the CSV reads back as the CSV reader reads it', async () => {
    const dataDir = join(packageRoot(), 'data');
    const gz = join(dataDir, 'census_income_kdd/census-income.test.gz');
    const pq = join(dir, 'census.parquet');
    const cols = CENSUS_COLUMNS.map((c) => `'${c}': 'VARCHAR'`).join(', ');
    // Numbers are stored as integers where they are integers, so the numeric path is exercised too.
    const exprs = CENSUS_COLUMNS.map((c) => (c === 'age' || c === 'weeks_worked' ? `CAST(trim(${c}) AS INTEGER) AS ${c}` : `trim(${c}) AS ${c}`));
    await sql(`COPY (SELECT ${exprs.join(', ')} FROM read_csv('${gz}', header = false, delim = ',', quote = '', auto_detect = false, columns = {${cols}}))
      TO '${pq}' (FORMAT parquet)`);
    const expected = await csvRows((await openBenchDataset('census-income', dataDir)).rows);
    const bench = await openBenchDataset('census-income', dataDir);
    const fields = bench.fields.map((f) => f.name);
    const select: Record<string, string> = { income: "CASE WHEN income_50k LIKE '%50000+%' THEN 1 ELSE 0 END" };
    for (const f of fields) select[f] = f;
    const got = await readAll({ format: 'parquet', path: pq, select }, { labels: ['income'], fields });
    assert.equal(got.length, expected.length);
    assert.ok(got.length > 90000);
    for (let i = 0; i < got.length; i++) {
      assert.equal(got[i]!.label, expected[i]!.label, `row ${i + 1} label`);
      assert.deepEqual(got[i]!.values.map(token), expected[i]!.values, `row ${i + 1}`);
    }
    assert.equal(typeof got[0]!.values[0], 'number');
  });

  it('avazu: a SQL query over Parquet equals the CSV reader', {
    skip: skipWithoutSharedData('avazu_head9k/avazu_train_head8999.csv.gz'),
  }, async () => {
    const gz = join(sharedDataDir(), 'avazu_head9k/avazu_train_head8999.csv.gz');
    const pq = join(dir, 'avazu.parquet');
    await sql(`COPY (SELECT * FROM read_csv('${gz}', all_varchar = true)) TO '${pq}' (FORMAT parquet)`);
    const bench = await openBenchDataset('avazu', sharedDataDir());
    const fields = bench.fields.map((f) => f.name);
    const expected = await csvRows(bench.rows);
    const got = await readAll({ format: 'duckdb', query: `SELECT CAST(click AS INTEGER) AS click, * EXCLUDE (id, click) FROM read_parquet('${pq}')` },
      { labels: ['click'] });
    assert.equal(got.length, 8999);
    assert.deepEqual(got.map((r) => ({ label: r.label, values: r.values.map(token) })), expected);
    assert.deepEqual(fields.length, got[0]!.values.length);
  });

  it('a missing configured column names the file and the column', async () => {
    const pq = join(dir, 'small.parquet');
    await sql(`COPY (SELECT i % 2 AS label, 'c' || (i % 3) AS c1, i AS n FROM range(10) t(i)) TO '${pq}' (FORMAT parquet)`);
    await rejectsNaming(readAll({ format: 'parquet', path: pq, select: { label: 'label', c2: 'upper(c2)' } }, { labels: ['label'] }),
      /small\.parquet: field c2: column "c2" is not in the data \(it has: label, c1, n\)/, 'c2');
    await rejectsNaming(readAll({ format: 'parquet', path: pq }, { labels: ['label'], fields: ['c1', 'hour'] }),
      /small\.parquet: field hour: column "hour" is not in the data/, 'hour');
    await rejectsNaming(readAll({ format: 'parquet', path: pq }, { labels: ['click'] }), /small\.parquet: field click:/, 'click');
    const ok = await readAll({ format: 'parquet', path: pq, select: { label: 'label', c1: 'c1', n3: 'n % 3' } }, { labels: ['label'] });
    assert.deepEqual(ok[4], { label: 0, labels: [0], values: ['c1', 1] });
  });

  it('an empty result, labels outside the declared set and NULL labels are errors naming row and field', async () => {
    const pq = join(dir, 'lab.parquet');
    await sql(`COPY (SELECT CASE WHEN i = 6 THEN 2 WHEN i = 8 THEN NULL ELSE i % 2 END AS y, i AS x FROM range(10) t(i)) TO '${pq}' (FORMAT parquet)`);
    await rejectsNaming(readAll({ format: 'duckdb', query: `SELECT * FROM read_parquet('${pq}') WHERE x > 100` }, { labels: ['y'] }),
      /^query: the source returned no rows$/);
    await rejectsNaming(readAll({ format: 'parquet', path: pq }, { labels: ['y'] }), /^lab\.parquet:7: field y: label "2" \(row 7\) is not one of 0, 1$/, 'y');
    const rows = await readAll({ format: 'parquet', path: pq }, { labels: ['y'], labelValues: [0, 1, 2] }).catch((e: Error) => e.message);
    assert.equal(rows, 'lab.parquet:9: field y: label "null" (row 9) is not one of 0, 1, 2');
  });
});
