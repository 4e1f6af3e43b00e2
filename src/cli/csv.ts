/**
 * Reading prediction CSVs for the CLI: a header row naming the columns (any order, extra columns
 * ignored, names matched case-insensitively), then one row per example. Every failure becomes a
 * CliError whose message names the file, the line and the column, so a user can go straight to it.
 */
import { createReadStream } from 'node:fs';
import { parse, CsvError } from 'csv-parse';
import { CliError } from './errors.js';

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

interface ParsedRecord {
  record: string[];
  info: { lines: number };
}

function describeIoError(file: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT': return `${file}: no such file`;
    case 'EACCES': return `${file}: permission denied`;
    case 'EISDIR': return `${file}: is a directory, expected a CSV file`;
    default: return `${file}: cannot read (${err.message})`;
  }
}

/** Reads the header and the wanted columns as strings; the caller converts and validates values. */
export async function readCsvColumns<R extends string, O extends string>(file: string,
  spec: ColumnSpec<R, O>): Promise<CsvColumns<R, O>> {
  // info: true gives each record's line number, which csv-parse tracks correctly across quoted newlines.
  const parser = parse({ bom: true, trim: true, skip_empty_lines: true, info: true });
  const input = createReadStream(file);
  // pipe() does not forward source errors; without this, ENOENT/EISDIR crash the process unhandled.
  input.on('error', (err) => parser.destroy(err));
  input.pipe(parser);
  let index: Map<string, number> | undefined;
  const position: Record<string, number> = {};
  const req = {} as Record<R, string[]>;
  const opt: Partial<Record<O, string[]>> = {};
  const want: { name: string; col: number; out: string[] }[] = [];
  const lines: number[] = [];
  try {
    for await (const item of parser as AsyncIterable<ParsedRecord>) {
      const { record, info } = item;
      if (index === undefined) {
        index = new Map();
        record.forEach((h, i) => {
          const key = h.toLowerCase();
          if (index!.has(key)) throw new CliError(`${file}:${info.lines}: column '${h}' appears twice in the header`);
          index!.set(key, i);
        });
        for (const name of spec.required) {
          const col = index.get(name);
          if (col === undefined) {
            throw new CliError(`${file}:${info.lines}: missing required column '${name}' (header has: ${record.join(', ')})`);
          }
          position[name] = col + 1;
          want.push({ name, col, out: (req[name] = []) });
        }
        for (const name of spec.optional) {
          const col = index.get(name);
          if (col === undefined) continue;
          position[name] = col + 1;
          want.push({ name, col, out: (opt[name] = []) });
        }
        continue;
      }
      for (const w of want) w.out.push(record[w.col]!);
      lines.push(info.lines);
    }
  } catch (err) {
    input.destroy();
    parser.destroy();
    if (err instanceof CliError) throw err;
    if (err instanceof CsvError) {
      const line = typeof err.lines === 'number' ? `:${err.lines}` : '';
      throw new CliError(`${file}${line}: ${err.message}`);
    }
    const e = err as NodeJS.ErrnoException;
    if (typeof e.code === 'string' && e.syscall !== undefined) throw new CliError(describeIoError(file, e));
    throw err;
  }
  if (index === undefined) throw new CliError(`${file}: empty file, expected a header row`);
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
