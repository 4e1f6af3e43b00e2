import { resolve } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import type { BadLinePolicy, ReaderStats } from '../data/readers/reader.js';
import { sourcePath, type SourceConfig } from './config.js';
import type { FittedSchema } from './fitted.js';
import { fittedCoder } from './encodeRows.js';
import { resolveCsvHeader } from './header.js';
import { ingestFile, type IngestOptions } from './ingest.js';
import type { ParsedRow } from './rows.js';
import { RowStore } from './store.js';

export interface EncodeFileOptions extends IngestOptions {
  /** Resolves relative paths of `source` (default: the working directory). */
  baseDir?: string;
  /** Read the label columns (default true); false for unlabeled files at predict time (Dataset.labels = []). */
  labels?: boolean;
  /** CSV: the first line is a header (true), is data (false), or tell from its content (undefined; see header.ts). */
  header?: boolean;
  /** CSV: the training file's header, which names the columns of a headerless file. */
  knownColumns?: readonly string[];
  /** Also return each row's input line and each group's id (predict writes them next to the scores). */
  rowIds?: boolean;
}

export interface EncodedFile {
  dataset: Dataset;
  /** The reader's counters; `skipped` is the number of bad lines dropped under onBadLine: skip. */
  stats: ReaderStats;
  /** The file was read without the header line its source config expects, with the known columns' names. */
  headerless: boolean;
  /** With rowIds: the 1-based input line (result row for SQL sources) of every row kept. */
  lines?: Uint32Array;
  /** With rowIds and a group column: the group's value, one per group (Dataset.groupOffsets order). */
  groupIds?: string[];
}

/**
 * Encodes a new file (predict / eval) with a fitted schema: the same ids, dense values and groups the
 * training data got; tokens outside the vocabularies map to their field's OOV id.
 */
export async function encodeFile(fitted: FittedSchema, source: SourceConfig, options: EncodeFileOptions = {}): Promise<EncodedFile> {
  const { spec } = fitted;
  const withLabels = options.labels ?? true;
  const baseDir = options.baseDir ?? process.cwd();
  const policy: BadLinePolicy = options.onBadLine ?? 'error';
  const file = resolve(baseDir, sourcePath(source) ?? 'query');
  const read = await resolveCsvHeader(source, file, spec, { header: options.header, knownColumns: options.knownColumns, withLabels });
  const coder = fittedCoder(fitted);
  const store = new RowStore(withLabels ? spec.labels.length : 0, spec.sequences.length, spec.weight !== undefined, spec.group);
  const lines: number[] = [];
  const groupIds: string[] = [];
  const onRow = options.rowIds !== true ? options.onRow : (row: ParsedRow, line: number, file: string): void => {
    lines.push(line);
    // Rows of a group are contiguous (the store refuses anything else), so a change of value starts the next group.
    if (row.group !== undefined && (lines.length === 1 || groupIds[groupIds.length - 1] !== row.group)) groupIds.push(row.group);
    options.onRow?.(row, line, file);
  };
  const stats = await ingestFile(read.source, file, baseDir, spec, withLabels, store, coder, policy, { ...options, onRow });
  const out: EncodedFile = { dataset: fitted.toDataset(store.take()), stats, headerless: read.headerless };
  if (options.rowIds === true) {
    out.lines = Uint32Array.from(lines);
    if (spec.group !== undefined) out.groupIds = groupIds;
  }
  return out;
}
