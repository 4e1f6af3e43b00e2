/**
 * @duckdb/node-api is an optional dependency (a native binary per platform, tens of MB), loaded the
 * first time a Parquet / JSON / SQL source is read: `import 'ctrkit'`, the CSV / TSV / Criteo /
 * SVMlight readers and the pure-TypeScript backend never need it.
 */
import type * as DuckDb from '@duckdb/node-api';
import { DataFormatError } from '../readers/errors.js';

export type DuckDbApi = typeof DuckDb;

export const DUCKDB_PACKAGE = '@duckdb/node-api';

/** A DuckDB source read where the package is missing or does not load; a user error, like bad data. */
export class DuckDbUnavailableError extends DataFormatError {
  constructor(source: string, what: string, cause: unknown) {
    const code = (cause as { code?: unknown } | null)?.code;
    const why = code === 'ERR_MODULE_NOT_FOUND'
      ? 'which is not installed'
      : `which did not load (${(cause instanceof Error ? cause.message : String(cause)).split('\n')[0]})`;
    super(source, undefined, undefined,
      `reading ${what} needs the optional package ${DUCKDB_PACKAGE}, ${why}; install it with \`npm install ${DUCKDB_PACKAGE}\` (CSV and TSV sources do not need it)`);
    this.name = 'DuckDbUnavailableError';
    (this as { cause?: unknown }).cause = cause;
  }
}

let loaded: Promise<DuckDbApi> | undefined;

/** The DuckDB API, or a DuckDbUnavailableError naming `source` (file or "query") and `what` (e.g. "Parquet files"). */
export async function loadDuckDb(source: string, what: string): Promise<DuckDbApi> {
  loaded ??= import('@duckdb/node-api');
  try {
    return await loaded;
  } catch (err) {
    // Not cached: a package installed while the process runs (a REPL, a server) is found next time.
    loaded = undefined;
    throw new DuckDbUnavailableError(source, what, err);
  }
}
