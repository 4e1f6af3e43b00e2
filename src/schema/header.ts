/**
 * Headerless CSV input for a fitted schema. A model records the columns of its training file's
 * header; a later file of the same log often comes without one (a slice cut with tail or split).
 * Whether a file's first line is a header or already data is decided here, once, for eval,
 * predict and `data inspect -m`: a first line that names every column the schema reads is a
 * header; otherwise, when it has as many values as the recorded header has columns, it is data
 * and the file is read with the recorded names. Anything else is left to the reader, whose error
 * names the missing column and lists what the first line holds.
 */
import { openCsv } from '../data/readers/csv.js';
import { ConfigError } from './errors.js';
import type { SourceConfig } from './config.js';
import { specColumns, type SchemaSpec } from './spec.js';

type CsvSource = Extract<SourceConfig, { format: 'csv' }>;

/** The first record of a CSV file, split as the source splits it (undefined for an empty file). */
export async function csvFirstRecord(source: CsvSource, file: string): Promise<string[] | undefined> {
  const reader = await openCsv(file, { header: true, delimiter: source.delimiter, trim: source.trim, allowEmpty: true });
  const first = [...reader.columns];
  // Ending the iteration is what closes the file; whether the next line parses is not our concern here.
  try {
    for await (const _ of reader) break;
  } catch { /* the first line is all that was wanted */ }
  return first;
}

export interface HeaderChoice {
  /** true / false force it; undefined detects (see the module comment). */
  header?: boolean;
  /** The training file's header, as the model recorded it (undefined for models that did not). */
  knownColumns?: readonly string[];
  withLabels: boolean;
}

/** `source` (already pointing at `file`) as it must be read, and whether that is without the header its config expects. */
export async function resolveCsvHeader(source: SourceConfig, file: string, spec: SchemaSpec,
  choice: HeaderChoice): Promise<{ source: SourceConfig; headerless: boolean }> {
  // A source configured without a header is read as configured: nothing was decided here.
  if (source.format !== 'csv' || !source.header || choice.header === true) return { source, headerless: false };
  const columns = source.columns ?? choice.knownColumns;
  const headerless = { source: { ...source, header: false, columns: [...columns ?? []] }, headerless: true };
  if (choice.header === false) {
    if (columns === undefined) {
      throw new ConfigError([`${file}: reading it without a header needs the column names, which this model does not record (it predates headerless input); retrain it, or add the header line`]);
    }
    return headerless;
  }
  const first = await csvFirstRecord(source, file);
  if (first === undefined) return { source, headerless: false };
  const names = new Set(first);
  if (specColumns(spec, choice.withLabels).every((c) => names.has(c.column))) return { source, headerless: false };
  if (columns !== undefined && first.length === columns.length) return headerless;
  return { source, headerless: false };
}
