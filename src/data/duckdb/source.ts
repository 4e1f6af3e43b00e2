/**
 * Reading Parquet / CSV / JSON through DuckDB, with features and labels defined in SQL, into the
 * labeled raw rows the encoders consume. The configuration is plain data (what a config file holds),
 * so that the schema can pass its `source:` section straight through.
 */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { DataFormatError, show } from '../readers/errors.js';
import type { RawValue } from '../prep/field.js';
import { loadDuckDb, type DuckDbApi } from './load.js';

/** Where the rows come from: a whole query, or one file with optional `alias: SQL expression` columns. */
export type DuckDbSource =
  | { format: 'duckdb'; query: string }
  | { format: 'parquet' | 'csv' | 'json'; path: string; select?: Readonly<Record<string, string>> };

export interface DuckDbReadOptions {
  /** Result columns that are labels (tasks), in order. At least one. */
  labels: readonly string[];
  /** Result columns that are features, in order; default all columns that are not labels. */
  fields?: readonly string[];
  /** Allowed label values (default 0 and 1); any other value is an error naming row and column. */
  labelValues?: readonly number[];
}

/** One row: the labels in `labels` order (`label` is the first) and one raw value per field. */
export interface DuckDbRow {
  label: number;
  labels: number[];
  /** Text as text, numbers as numbers; NULL is NaN (the readers' "missing"). */
  values: RawValue[];
}

export interface DuckDbRows extends AsyncIterable<DuckDbRow> {
  /** The file, or "query" for a `format: duckdb` source (the name used in error messages). */
  readonly name: string;
  readonly fields: readonly string[];
  readonly labelNames: readonly string[];
  /** Rows yielded so far. */
  readonly rows: number;
}

export function quoteString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

const READERS = { parquet: 'read_parquet', csv: 'read_csv', json: 'read_json_auto' } as const;

/** The table expression of a file source, e.g. `read_parquet('x.parquet')`. */
export function fromFile(source: Extract<DuckDbSource, { path: string }>): string {
  return `${READERS[source.format]}(${quoteString(source.path)})`;
}

/** The SQL a source runs. */
export function sourceSql(source: DuckDbSource): string {
  if (source.format === 'duckdb') return source.query;
  const select = source.select === undefined
    ? '*'
    : Object.entries(source.select).map(([alias, expr]) => `${expr} AS ${quoteIdent(alias)}`).join(', ');
  return `SELECT ${select} FROM ${fromFile(source)}`;
}

/** A DuckDB binder error about a missing column, as a DataFormatError naming the file and column. */
export function missingColumn(err: unknown, name: string, available: () => Promise<string[]>): Promise<unknown> {
  const msg = err instanceof Error ? err.message : '';
  // The second form is what DuckDB says when the missing column shares its name with an alias.
  const m = /Referenced column "([^"]+)" not found/.exec(msg) ?? /Column "([^"]+)" referenced that exists in the SELECT clause/.exec(msg);
  if (m === null) return Promise.resolve(err);
  return available().then((cols) => new DataFormatError(name, undefined, m[1],
    `column ${show(m[1]!)} is not in the data (it has: ${cols.join(', ')})`), () => err);
}

export async function columnsOf(conn: DuckDBConnection, sql: string): Promise<string[]> {
  const r = await conn.runAndReadAll(`DESCRIBE ${sql}`);
  return r.getRows().map((row) => String(row[0]));
}

/** What a source is, for the message when DuckDB is not available. */
export function sourceKind(source: DuckDbSource): string {
  return source.format === 'duckdb' ? 'a SQL (format: duckdb) source' : `${{ parquet: 'Parquet', csv: 'CSV', json: 'JSON' }[source.format]} files through DuckDB`;
}

export function toRaw(v: DuckDBValue, duckdb: DuckDbApi): RawValue {
  if (v === null) return Number.NaN;
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof duckdb.DuckDBDecimalValue) return v.toDouble();
  // Dates, timestamps, lists...: their SQL text is a usable categorical token.
  return String(v);
}

/**
 * Runs the source and streams its rows. Fails before the first row when a configured column is
 * missing (naming the file and the column), and at the end when the result is empty.
 */
export async function openDuckDbRows(source: DuckDbSource, options: DuckDbReadOptions): Promise<DuckDbRows> {
  if (options.labels.length === 0) throw new Error('openDuckDbRows: at least one label column is needed');
  const name = source.format === 'duckdb' ? 'query' : source.path;
  const duckdb = await loadDuckDb(name, sourceKind(source));
  const instance = await duckdb.DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const close = (): void => { conn.closeSync(); instance.closeSync(); };
  const sql = sourceSql(source);
  let columns: string[];
  try {
    columns = await columnsOf(conn, sql);
  } catch (err) {
    const fileCols = source.format === 'duckdb' ? () => Promise.resolve([]) : () => columnsOf(conn, `SELECT * FROM ${fromFile(source)}`);
    const e = await missingColumn(err, name, fileCols);
    close();
    throw e instanceof DataFormatError ? e : new Error(`${name}: ${(e as Error).message.split('\n')[0]}`);
  }
  const want = [...options.labels, ...(options.fields ?? [])];
  for (const c of want) {
    if (!columns.includes(c)) {
      close();
      throw new DataFormatError(name, undefined, c, `column ${show(c)} is not in the data (it has: ${columns.join(', ')})`);
    }
  }
  const labelSet = new Set(options.labels);
  const fields = options.fields ?? columns.filter((c) => !labelSet.has(c));
  const labelCols = options.labels.map((c) => columns.indexOf(c));
  const fieldCols = fields.map((c) => columns.indexOf(c));
  const allowed = new Set(options.labelValues ?? [0, 1]);
  const allowedText = [...allowed].join(', ');
  let count = 0;
  let used = false;

  async function* rows(): AsyncGenerator<DuckDbRow> {
    if (used) throw new Error(`${name}: rows can be read once; open the source again`);
    used = true;
    try {
      const result = await conn.stream(sql);
      for (;;) {
        const chunk = await result.fetchChunk();
        if (chunk === null || chunk.rowCount === 0) break;
        const lab = labelCols.map((c) => chunk.getColumnValues(c));
        const val = fieldCols.map((c) => chunk.getColumnValues(c));
        for (let r = 0; r < chunk.rowCount; r++) {
          const rowNo = count + 1;
          const labels = new Array<number>(lab.length);
          for (let k = 0; k < lab.length; k++) {
            const raw = toRaw(lab[k]![r]!, duckdb);
            if (typeof raw !== 'number' || !allowed.has(raw)) {
              throw new DataFormatError(name, rowNo, options.labels[k],
                `label ${show(String(lab[k]![r]))} (row ${rowNo}) is not one of ${allowedText}`);
            }
            labels[k] = raw;
          }
          const values = new Array<RawValue>(val.length);
          for (let k = 0; k < val.length; k++) values[k] = toRaw(val[k]![r]!, duckdb);
          count++;
          yield { label: labels[0]!, labels, values };
        }
      }
      if (count === 0) throw new DataFormatError(name, undefined, undefined, 'the source returned no rows');
    } catch (err) {
      if (err instanceof DataFormatError) throw err;
      throw new Error(`${name}: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`);
    } finally {
      close();
    }
  }
  return {
    name, fields, labelNames: [...options.labels],
    get rows() { return count; },
    [Symbol.asyncIterator]: rows,
  };
}
