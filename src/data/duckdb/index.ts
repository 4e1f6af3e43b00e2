export { openDuckDbRows, sourceSql, type DuckDbReadOptions, type DuckDbRow, type DuckDbRows, type DuckDbSource } from './source.js';
export { openDuckDbColumns, type DuckDbColumnOptions, type DuckDbColumnRows } from './columns.js';
export { DuckDbUnavailableError, DUCKDB_PACKAGE } from './load.js';
