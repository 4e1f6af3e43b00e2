import { basename } from 'node:path';
import type { EventSplit } from '../data/events/sequences.js';
import type { ParallelOptions } from '../data/parallel/index.js';
import { handleBadLine, newStats, type BadLinePolicy, type ReaderStats } from '../data/readers/reader.js';
import type { SourceConfig } from './config.js';
import { newParsedRow, rowParser, type ParsedRow } from './rows.js';
import { openColumns } from './source.js';
import { specColumns, type SchemaSpec } from './spec.js';
import type { RowStore } from './store.js';

/** Options of reading data files through a schema. */
export interface IngestOptions {
  /** Overrides the config's onBadLine. */
  onBadLine?: BadLinePolicy;
  /** How many skip messages to keep per file (default 10). */
  keepSkipped?: number;
  /** Bytes per read (default 1 MiB). */
  chunkSize?: number;
  /** Overrides the config's `workers` (parse threads of criteo / csv / svmlight; 0 = this thread). */
  workers?: number;
  /** The split of an event source that splits its examples itself (split modes last / time). */
  eventSplit?: EventSplit;
  /** Sees every row that is stored, after it is parsed, with its input line and file (the row object is reused: copy what you keep). */
  onRow?: (row: ParsedRow, line: number, file: string) => void;
}

/** What is stored for one parsed row: id field codes and sequence token codes. */
export interface RowCoder {
  field(j: number, row: ParsedRow): number;
  token(q: number, token: string): number;
}

/**
 * Streams one file into `store` (`file` is ignored by a `duckdb` query source, which names its own files). A line that fails the reader's or the schema's checks is an error
 * naming file:line:field, or is skipped and counted in the returned stats under onBadLine skip.
 */
export async function ingestFile(source: SourceConfig, file: string, baseDir: string, spec: SchemaSpec,
  withLabels: boolean, store: RowStore, coder: RowCoder, policy: BadLinePolicy, options: IngestOptions): Promise<ReaderStats> {
  const keep = options.keepSkipped ?? 10;
  const readerOptions: ParallelOptions = { onBadLine: policy, keepSkipped: keep };
  if (options.chunkSize !== undefined) readerOptions.chunkSize = options.chunkSize;
  if (options.workers !== undefined) readerOptions.workers = options.workers;
  const src = await openColumns(source, file, baseDir, specColumns(spec, withLabels), readerOptions, options.eventSplit);
  const parse = rowParser(spec, withLabels);
  const row = newParsedRow(spec, withLabels);
  const F = spec.fields.length;
  const field = (j: number): number => coder.field(j, row);
  store.startFile();
  // Schema-level bad lines are counted apart and merged by line at the end: the parallel readers
  // record their own bad lines a chunk ahead of the rows they yield, so interleaving the two as they
  // happen would order (and, past `keep`, choose) the examples differently from a single thread.
  const own = newStats(src.file);
  for await (const { values, line, part } of src) {
    try {
      parse(values, src.file, line, row);
    } catch (err) {
      handleBadLine(err, policy, own, keep);
      src.stats.rows--;
      continue;
    }
    store.push(row, src.file, line, field, F, coder.token, part);
    options.onRow?.(row, line, src.file);
  }
  src.stats.skipped += own.skipped;
  src.stats.skippedExamples = mergeByLine(src.file, src.stats.skippedExamples, own.skippedExamples).slice(0, keep);
  return src.stats;
}

/** Line number of a `name:line: …` message (DataFormatError names the base name; Infinity without a line: sorts last). */
function lineOf(file: string, msg: string): number {
  const name = basename(file);
  if (!msg.startsWith(`${name}:`)) return Infinity;
  const m = /^\d+/.exec(msg.slice(name.length + 1));
  return m === null ? Infinity : Number(m[0]);
}

/** Two lists of messages, each in line order, as one list in line order (a stable merge). */
function mergeByLine(file: string, a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && lineOf(file, a[i]!) <= lineOf(file, b[j]!))) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}
