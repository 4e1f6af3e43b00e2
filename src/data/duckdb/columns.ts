/**
 * A DuckDB source read as named columns in a caller-chosen order, with no label handling: the
 * schema layer applies its own label rules (positive:, graded labels), so it needs the raw values
 * only, and at predict time it asks for no label column at all.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { DataFormatError, show } from '../readers/errors.js';
import type { RawValue } from '../prep/field.js';
import { loadDuckDb, type DuckDbApi } from './load.js';
import { columnsOf, fromFile, missingColumn, quoteString, sourceKind, sourceSql, toRaw, type DuckDbSource } from './source.js';

export interface DuckDbColumnRows extends AsyncIterable<{ values: RawValue[]; row: number }> {
  /** The file, or "query" for a `format: duckdb` source. */
  readonly name: string;
  /** Every column of the result (for messages). */
  readonly available: readonly string[];
}

export interface DuckDbColumnOptions {
  /** Relative file names inside a query resolve here (DuckDB's file_search_path); default: the working directory. */
  baseDir?: string;
  /** Names the config key that needs each column, in the missing-column message. */
  usedBy?: readonly string[];
}

async function connect(duckdb: DuckDbApi, baseDir: string | undefined): Promise<{ conn: DuckDBConnection; close: () => void }> {
  const instance = await duckdb.DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const close = (): void => { conn.closeSync(); instance.closeSync(); };
  try {
    if (baseDir !== undefined) await conn.run(`SET file_search_path = ${quoteString(baseDir)}`);
  } catch (err) {
    close();
    throw err;
  }
  return { conn, close };
}

/**
 * Runs the source and streams the values of `columns` (NULL = NaN, the readers' "missing"). Fails
 * before the first row with a DataFormatError naming the file and column when one is missing.
 */
export async function openDuckDbColumns(source: DuckDbSource, columns: readonly string[],
  options: DuckDbColumnOptions = {}): Promise<DuckDbColumnRows> {
  const name = source.format === 'duckdb' ? 'query' : source.path;
  const duckdb = await loadDuckDb(name, sourceKind(source));
  const { conn, close } = await connect(duckdb, options.baseDir);
  const sql = sourceSql(source);
  let available: string[];
  try {
    available = await columnsOf(conn, sql);
  } catch (err) {
    const fileCols = source.format === 'duckdb' ? () => Promise.resolve([]) : () => columnsOf(conn, `SELECT * FROM ${fromFile(source)}`);
    const e = await missingColumn(err, name, fileCols);
    close();
    throw e instanceof DataFormatError ? e : new Error(`${name}: ${(e as Error).message.split('\n')[0]}`);
  }
  const pos = columns.map((c, k) => {
    const i = available.indexOf(c);
    if (i === -1) {
      close();
      const by = options.usedBy?.[k];
      throw new DataFormatError(name, undefined, c,
        `column ${show(c)} is not in the data${by === undefined ? '' : ` (needed by ${by})`}; it has: ${available.join(', ')}`);
    }
    return i;
  });
  let used = false;
  async function* rows(): AsyncGenerator<{ values: RawValue[]; row: number }> {
    if (used) throw new Error(`${name}: rows can be read once; open the source again`);
    used = true;
    let count = 0;
    try {
      const result = await conn.stream(sql);
      for (;;) {
        const chunk = await result.fetchChunk();
        if (chunk === null || chunk.rowCount === 0) break;
        const cols = pos.map((i) => chunk.getColumnValues(i));
        for (let r = 0; r < chunk.rowCount; r++) {
          const values = new Array<RawValue>(cols.length);
          for (let k = 0; k < cols.length; k++) values[k] = toRaw(cols[k]![r]!, duckdb);
          yield { values, row: ++count };
        }
      }
    } catch (err) {
      if (err instanceof DataFormatError) throw err;
      throw new Error(`${name}: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`);
    } finally {
      close();
    }
  }
  return { name, available, [Symbol.asyncIterator]: rows };
}
