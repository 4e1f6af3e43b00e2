/** The optional DuckDB package for the tests that write Parquet; where it is not installed they skip. */
import type { DuckDbApi } from '../../src/data/duckdb/load.js';

const duckdb: DuckDbApi | undefined = await import('@duckdb/node-api').catch(() => undefined);

export const skipWithoutDuckdb = duckdb === undefined ? 'the optional package @duckdb/node-api is not installed' : undefined;

/** DuckDB's instance class; only called from tests that skip without the package. */
export function duckdbInstance(): DuckDbApi['DuckDBInstance'] {
  if (duckdb === undefined) throw new Error(skipWithoutDuckdb);
  return duckdb.DuckDBInstance;
}
