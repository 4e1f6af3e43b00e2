import { handleBadLine, type BadLinePolicy, type ReaderOptions, type ReaderStats } from '../data/readers/reader.js';
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
}

/** What is stored for one parsed row: id field codes and sequence token codes. */
export interface RowCoder {
  field(j: number, row: ParsedRow): number;
  token(q: number, token: string): number;
}

/**
 * Streams one file into `store`. A line that fails the reader's or the schema's checks is an error
 * naming file:line:field, or is skipped and counted in the returned stats under onBadLine skip.
 */
export async function ingestFile(source: SourceConfig, file: string, baseDir: string, spec: SchemaSpec,
  withLabels: boolean, store: RowStore, coder: RowCoder, policy: BadLinePolicy, options: IngestOptions): Promise<ReaderStats> {
  const keep = options.keepSkipped ?? 10;
  const readerOptions: ReaderOptions = { onBadLine: policy, keepSkipped: keep };
  if (options.chunkSize !== undefined) readerOptions.chunkSize = options.chunkSize;
  const src = await openColumns(source, file, baseDir, specColumns(spec, withLabels), readerOptions);
  const parse = rowParser(spec, withLabels);
  const row = newParsedRow(spec, withLabels);
  const F = spec.fields.length;
  const field = (j: number): number => coder.field(j, row);
  store.startFile();
  for await (const { values, line } of src) {
    try {
      parse(values, file, line, row);
    } catch (err) {
      handleBadLine(err, policy, src.stats, keep);
      src.stats.rows--;
      continue;
    }
    store.push(row, file, line, field, F, coder.token);
  }
  return src.stats;
}
