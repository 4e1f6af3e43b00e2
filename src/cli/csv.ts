/**
 * Reading prediction CSVs for the CLI: a header row naming the columns (any order, extra columns
 * ignored, names matched case-insensitively), then one row per example. Every failure becomes a
 * CliError whose message names the file, the line and the column, so a user can go straight to it.
 */
import { openCsv } from '../data/readers/csv.js';
import { DataFormatError } from '../data/readers/errors.js';
import { CliError } from './errors.js';
import { checkInputFile, fsErrorMessage } from './userErrors.js';

/** The columns a command wants: `required` must be present, `optional` are read when present. */
export interface ColumnSpec<R extends string, O extends string> {
  readonly required: readonly R[];
  readonly optional: readonly O[];
}

/** Raw column text plus the 1-based file line of each data row (for later error messages). */
export interface CsvColumns<R extends string, O extends string> {
  readonly file: string;
  readonly rows: number;
  readonly lines: Uint32Array;
  readonly required: Record<R, string[]>;
  readonly optional: Partial<Record<O, string[]>>;
  /** 1-based position of each found column in the header, for error messages. */
  readonly position: Record<string, number>;
}

/**
 * Reads the header and the wanted columns as strings through the data layer's CSV reader
 * (quotes, CRLF, BOM, gzip); the caller converts and validates values.
 */
/** The header's column names of a CSV file. */
export async function csvHeader(file: string): Promise<string[]> {
  checkInputFile(file);
  try {
    const reader = await openCsv(file, { header: true, trim: true, allowEmpty: true, skipBlankLines: true });
    const names = reader.columns.map((h) => h.toLowerCase());
    // Leaving the loop at once closes the file (the iterator's return).
    for await (const _ of reader) break;
    return names;
  } catch (err) {
    if (err instanceof DataFormatError) throw new CliError(err.message);
    const fs = fsErrorMessage(err, file);
    if (fs !== undefined) throw new CliError(fs);
    throw err;
  }
}

export async function readCsvColumns<R extends string, O extends string>(file: string,
  spec: ColumnSpec<R, O>): Promise<CsvColumns<R, O>> {
  const position: Record<string, number> = {};
  const req = {} as Record<R, string[]>;
  const opt: Partial<Record<O, string[]>> = {};
  const want: { col: number; out: string[] }[] = [];
  const lines: number[] = [];
  checkInputFile(file);
  try {
    const reader = await openCsv(file, { header: true, trim: true, allowEmpty: true, skipBlankLines: true });
    const index = new Map<string, number>();
    reader.columns.forEach((h, i) => {
      const key = h.toLowerCase();
      if (index.has(key)) throw new CliError(`${file}:1: column '${h}' appears twice in the header`);
      index.set(key, i);
    });
    for (const name of spec.required) {
      const col = index.get(name);
      if (col === undefined) throw new CliError(`${file}:1: missing required column '${name}' (header has: ${reader.columns.join(', ')})`);
      position[name] = col + 1;
      want.push({ col, out: (req[name] = []) });
    }
    for (const name of spec.optional) {
      const col = index.get(name);
      if (col === undefined) continue;
      position[name] = col + 1;
      want.push({ col, out: (opt[name] = []) });
    }
    for await (const record of reader) {
      for (const w of want) w.out.push(record[w.col]!);
      lines.push(reader.line);
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    if (err instanceof DataFormatError) throw new CliError(err.message);
    const fs = fsErrorMessage(err, file);
    if (fs !== undefined) throw new CliError(fs);
    throw err;
  }
  if (lines.length === 0) throw new CliError(`${file}: header only, no data rows`);
  return { file, rows: lines.length, lines: Uint32Array.from(lines), required: req, optional: opt, position };
}

// Plain decimal / scientific notation only: Number() would also accept '', '0x1F' and 'Infinity'.
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function show(raw: string): string {
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
}

/** Where a value came from, for messages: "file:line: column 'name' (n)". */
export function cellRef(cols: CsvColumns<string, string>, row: number, column: string): string {
  return `${cols.file}:${cols.lines[row]}: column '${column}' (${cols.position[column]})`;
}

/** Converts a column to float64, failing on the first non-numeric cell with its file/line/column. */
export function numericColumn(cols: CsvColumns<string, string>, column: string, raw: readonly string[]): Float64Array {
  const out = new Float64Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const s = raw[i]!;
    if (!NUMBER.test(s)) throw new CliError(`${cellRef(cols, i, column)}: ${show(s)} is not a number`);
    out[i] = Number(s);
  }
  return out;
}
