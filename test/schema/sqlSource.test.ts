/**
 * data.source formats duckdb / parquet: census-income written to Parquet by DuckDB must build the
 * bit-identical Dataset of the CSV example, whether read as a file or through a query.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDataset, encodeFile, loadDataConfig, type BuildResult, type DataConfig } from '../../src/schema/index.js';
import { duckdbInstance, skipWithoutDuckdb } from '../helpers/duckdb.js';
import { packageRoot } from '../helpers/sharedData.js';

const root = packageRoot();
const censusGz = join(root, 'data', 'census_income_kdd', 'census-income.test.gz');
let dir = '';
let csvCfg: DataConfig;
let csv: BuildResult;

/** The census CSV as Parquet with DuckDB's own column types (integers stay BIGINT), text trimmed as the example's `trim: true`. */
async function writeParquet(cfg: DataConfig, out: string): Promise<void> {
  const src = cfg.source;
  if (src.format !== 'csv' || src.columns === undefined) throw new Error('the census example is a headerless csv');
  const names = `[${src.columns.map((c) => `'${c}'`).join(', ')}]`;
  const db = await duckdbInstance().create(':memory:');
  const conn = await db.connect();
  try {
    const from = `read_csv('${censusGz}', header = false, names = ${names})`;
    const types = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`)).getRows().map((r) => [String(r[0]), String(r[1])] as const);
    const select = types.map(([c, t]) => (t === 'VARCHAR' ? `trim("${c}") AS "${c}"` : `"${c}"`)).join(', ');
    assert.ok(types.some(([, t]) => t === 'BIGINT'), 'some columns are numbers in the Parquet file');
    await conn.run(`COPY (SELECT ${select} FROM ${from}) TO '${out}' (FORMAT parquet)`);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

before(async () => {
  if (skipWithoutDuckdb !== undefined) return;
  dir = mkdtempSync(join(tmpdir(), 'ctrkit-sql-source-'));
  csvCfg = await loadDataConfig(join(root, 'examples', 'census-income.yaml'));
  await writeParquet(csvCfg, join(dir, 'census.parquet'));
  csv = await buildDataset(csvCfg, root);
});
after(() => { if (dir !== '') rmSync(dir, { recursive: true, force: true }); });

function same(got: BuildResult, want: BuildResult): void {
  assert.deepEqual(got.dataset, want.dataset);
  assert.deepEqual(got.split, want.split);
  assert.deepEqual(got.fitted.toJSON(), want.fitted.toJSON());
}

describe('SQL sources (DuckDB)', { skip: skipWithoutDuckdb }, () => {
  it('format parquet builds the Dataset of the CSV example, bit for bit', async () => {
    const got = await buildDataset({ ...csvCfg, source: { format: 'parquet', path: 'census.parquet' } }, dir);
    same(got, csv);
    assert.equal(got.stats.rows, csv.stats.rows);
  });

  it('format duckdb: a query (relative files resolve against the base directory) gives the same Dataset', async () => {
    const got = await buildDataset({ ...csvCfg, source: { format: 'duckdb', query: "SELECT * FROM read_parquet('census.parquet')" } }, dir);
    same(got, csv);
  });

  it('select: labels and features defined in SQL', async () => {
    const cfg = (select: Record<string, string>): DataConfig => ({
      ...csvCfg,
      source: { format: 'parquet', path: 'census.parquet', select },
      labels: [{ name: 'income', type: 'binary' }],
      fields: [{ name: 'age', kind: 'numeric', transform: 'log-bucket', privileged: false },
        { name: 'edu', kind: 'categorical', privileged: false }],
    });
    const got = await buildDataset(cfg({
      income: "CASE WHEN income_50k LIKE '%50000+%' THEN 1 ELSE 0 END", age: 'age', edu: 'lower(education)',
    }), dir);
    assert.deepEqual(got.dataset.labels, csv.dataset.labels);
    assert.equal(got.dataset.numRows, csv.dataset.numRows);
    // Encoding another file with the fitted schema reads the same SQL.
    const again = await encodeFile(got.fitted, { format: 'parquet', path: 'census.parquet', select: {
      income: "CASE WHEN income_50k LIKE '%50000+%' THEN 1 ELSE 0 END", age: 'age', edu: 'lower(education)',
    } }, { baseDir: dir });
    assert.deepEqual(again.dataset.ids, got.dataset.ids);

    await assert.rejects(buildDataset(cfg({ income: 'income_50k', age: 'agee', edu: 'education' }), dir),
      (e: Error) => e.name === 'DataFormatError' && /census\.parquet/.test(e.message) && /agee/.test(e.message));
  });

  it('a Parquet file missing a configured column: the error names the file and the column', async () => {
    const cfg: DataConfig = { ...csvCfg, source: { format: 'parquet', path: 'census.parquet' },
      fields: [...csvCfg.fields, { name: 'tenure', kind: 'categorical', privileged: false }] };
    await assert.rejects(buildDataset(cfg, dir),
      /^DataFormatError: census\.parquet: field tenure: column "tenure" is not in the data \(needed by field tenure\); it has: age, class_worker/);
  });
});
