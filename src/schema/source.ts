import { resolve } from 'node:path';
import { CRITEO_COLUMN_NAMES } from '../data/readers/criteo.js';
import { DataFormatError } from '../data/readers/errors.js';
import { openIpinyou, readFeatIndex } from '../data/readers/ipinyou.js';
import { newStats, type ReaderStats } from '../data/readers/reader.js';
import { openDuckDbColumns } from '../data/duckdb/index.js';
import { openCriteoParallel, openCsvParallel, openSvmlightParallel, type ParallelOptions } from '../data/parallel/index.js';
import { openCriteo } from '../data/readers/criteo.js';
import { openCsv } from '../data/readers/csv.js';
import { openSvmlight } from '../data/readers/svmlight.js';
import type { RawValue } from '../data/prep/field.js';
import type { EventSplit } from '../data/events/sequences.js';
import type { SourceConfig } from './config.js';
import { openEventColumns } from './eventSource.js';

/*
 * Adapts the format readers to one shape: rows as the values of the columns a schema asks for,
 * in that order. Numbers stay numbers where the format has them (Criteo ints, SVMlight values,
 * DuckDB numeric columns), so that the log-bucket tokens are those of src/data/prep.
 *
 * The text formats with a worker-thread parser always go through it: `workers` only changes the
 * speed (0 parses on the calling thread), never a value, an error or a counter. Except on a stream
 * (`stream: true`, online training): the worker-thread parsers intern every distinct token, which
 * grows without bound on an endless source, so a stream is read by the line readers, which keep
 * nothing (same values, errors and counters).
 */

export interface ColumnSourceOptions extends ParallelOptions {
  /** Constant memory however long the source (see above). */
  stream?: boolean;
}

/** One data row: `values[k]` is the value of the k-th requested column. */
export interface SourceRow {
  values: RawValue[];
  /** 1-based line number in `file`. */
  line: number;
  /** The split part a source assigns itself (event logs under split modes last / time): 0 fit, 1 validation, 2 test. */
  part?: 0 | 1 | 2;
}

export interface ColumnSource extends AsyncIterable<SourceRow> {
  readonly file: string;
  /** The reader's counters (bad lines skipped by the schema are counted here too). */
  readonly stats: ReaderStats;
}

export interface ColumnRequest {
  column: string;
  /** The config key that needs the column, for the error message when it is absent. */
  usedBy: string;
}

const SVM_FEATURE = /^f([1-9]\d*)$/;

/** The error for a requested column the source does not have (`available`: its columns, listed). */
export function missingColumn(file: string, req: ColumnRequest, line: number | undefined, available: string): DataFormatError {
  return new DataFormatError(file, line, undefined,
    `no column ${JSON.stringify(req.column)} (needed by ${req.usedBy}); the columns are ${available}`);
}

export function listColumns(cols: readonly string[]): string {
  return cols.length <= 12 ? cols.join(', ') : `${cols.slice(0, 10).join(', ')}, … (${cols.length} in all)`;
}

/**
 * Opens `file` in the source's format and checks that every requested column exists (a DataFormatError
 * naming the file and column otherwise). `baseDir` resolves relative paths such as the featindex file.
 */
export async function openColumns(source: SourceConfig, file: string, baseDir: string,
  requests: readonly ColumnRequest[], options: ColumnSourceOptions, eventSplit?: EventSplit): Promise<ColumnSource> {
  switch (source.format) {
    case 'events': {
      const { path, header, columns, delimiter, trim } = source;
      const log: SourceConfig = { format: 'csv', path, header, delimiter, trim, ...(columns === undefined ? {} : { columns }) };
      return openEventColumns(source, file, requests, (req) => openColumns(log, file, baseDir, req, options), {
        policy: options.onBadLine ?? 'error', keep: options.keepSkipped ?? 10, split: eventSplit,
      });
    }
    case 'duckdb':
    case 'parquet':
    case 'json': {
      const src = source.format === 'duckdb' ? source : { ...source, path: file };
      const rows = await openDuckDbColumns(src, requests.map((r) => r.column), { baseDir, usedBy: requests.map((r) => r.usedBy) });
      const stats = newStats(rows.name);
      let line = 0;
      return {
        file: rows.name,
        stats,
        async *[Symbol.asyncIterator]() {
          // A result row is the "line" of error messages (row 1 = the first row of the result).
          for await (const r of rows) {
            line = r.row;
            stats.lines = line;
            stats.rows++;
            yield { values: r.values, line };
          }
          if (stats.rows === 0) throw new DataFormatError(rows.name, undefined, undefined, 'the source returned no rows');
        },
      };
    }
    case 'criteo': {
      const pos = requests.map((r) => {
        const i = CRITEO_COLUMN_NAMES.indexOf(r.column);
        if (i === -1) throw missingColumn(file, r, undefined, 'label, I1..I13, C1..C26 (criteo format)');
        return i;
      });
      const reader = await (options.stream === true ? openCriteo : openCriteoParallel)(file, options);
      return adapt(file, reader, (row) => pos.map((i) => (i === 0 ? row.label : i <= 13 ? row.ints[i - 1]! : row.cats[i - 14]!)));
    }
    case 'svmlight': {
      // Sparse format: an absent feature is 0; a line without qid has group value NaN (rejected by the group check).
      const pos = requests.map((r) => {
        if (r.column === 'label') return -1;
        if (r.column === 'qid') return -2;
        const m = SVM_FEATURE.exec(r.column);
        if (m === null) throw missingColumn(file, r, undefined, 'label, qid, f1, f2, … (svmlight format)');
        return Number(m[1]);
      });
      const reader = await (options.stream === true ? openSvmlight : openSvmlightParallel)(file, options);
      return adapt(file, reader, (row) => pos.map((p) => {
        if (p === -1) return row.label;
        if (p === -2) return row.qid ?? Number.NaN;
        const k = lowerBound(row.indices, p);
        return k < row.indices.length && row.indices[k] === p ? row.values[k]! : 0;
      }));
    }
    case 'ipinyou': {
      const index = await readFeatIndex(resolve(baseDir, source.featIndex), options);
      const pos = requests.map((r) => {
        if (r.column === 'label') return -1;
        const i = index.fields.indexOf(r.column);
        if (i === -1) throw missingColumn(file, r, undefined, `label, ${listColumns(index.fields)} (from ${source.featIndex})`);
        return i;
      });
      const reader = await openIpinyou(file, index, options);
      return adapt(file, reader, (row) => pos.map((i) => (i === -1 ? row.label : row.idx[i]!)));
    }
    case 'csv': {
      const reader = await (options.stream === true ? openCsv : openCsvParallel)(file, {
        ...options, header: source.header, columns: source.columns, delimiter: source.delimiter, trim: source.trim,
      });
      const pos = requests.map((r) => {
        const i = reader.columns.indexOf(r.column);
        if (i === -1) throw missingColumn(file, r, source.header ? 1 : undefined, listColumns(reader.columns));
        return i;
      });
      return adapt(file, reader, (row) => pos.map((i) => row[i]!));
    }
  }
}

interface Reader<T> extends AsyncIterable<T> {
  readonly stats: ReaderStats;
  readonly line: number;
}

function adapt<T>(file: string, reader: Reader<T>, pick: (row: T) => RawValue[]): ColumnSource {
  return {
    file,
    stats: reader.stats,
    async *[Symbol.asyncIterator]() {
      for await (const row of reader) yield { values: pick(row), line: reader.line };
    },
  };
}

function lowerBound(a: Int32Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
