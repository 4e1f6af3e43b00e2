import { DataFormatError, show } from './errors.js';
import { LineSource } from './lineSource.js';
import {
  checkNotEmpty, handleBadLine, newStats, NOT_AN_INT, parseIntRange, parseNumber,
  type ReaderOptions, type RecordReader,
} from './reader.js';

/** 'int': a required integer; 'int?': integer or empty; 'number': a required finite number. */
export type CsvColumnType = 'int' | 'int?' | 'number';

export interface CsvOptions extends ReaderOptions {
  /** Ignore empty lines instead of reporting them (hand-edited files often have some). */
  skipBlankLines?: boolean;
  /** First line is the header (default true). With false, `columns` must name the columns. */
  header?: boolean;
  /** Column names; with a header they must equal it (a cheap schema check). */
  columns?: readonly string[];
  /** One character, default ','. */
  delimiter?: string;
  /** Strip surrounding whitespace from every value (census-income writes `, value`). */
  trim?: boolean;
  /** Columns checked on every row, so that a bad value is reported with its line (and skippable). */
  types?: Readonly<Record<string, CsvColumnType>>;
}

export interface CsvReader extends RecordReader<string[]> {
  /** Column names (from the header or the options). */
  readonly columns: readonly string[];
}

const QUOTE = 34;
const MAX_RECORD_CHARS = 1 << 20;

/**
 * Splits one record. Unquoted lines (the common case) are split with indexOf; a line with a `"` goes
 * through the RFC 4180 path (quoted fields, `""` escapes). Returns undefined when a quoted field is
 * still open at the end of the text, i.e. it continues on the next physical line.
 */
export function splitCsvRecord(text: string, delim: string): string[] | undefined {
  if (text.indexOf('"') === -1) {
    const out: string[] = [];
    let start = 0;
    let end: number;
    while ((end = text.indexOf(delim, start)) !== -1) {
      out.push(text.slice(start, end));
      start = end + 1;
    }
    out.push(text.slice(start));
    return out;
  }
  const out: string[] = [];
  const d = delim.charCodeAt(0);
  let i = 0;
  const n = text.length;
  for (;;) {
    if (i < n && text.charCodeAt(i) === QUOTE) {
      // Quoted field: collect the pieces between escaped quotes, no per-character building.
      let value = '';
      let from = i + 1;
      for (;;) {
        const q = text.indexOf('"', from);
        if (q === -1) return undefined;
        if (q + 1 < n && text.charCodeAt(q + 1) === QUOTE) {
          value += text.slice(from, q + 1);
          from = q + 2;
          continue;
        }
        value += text.slice(from, q);
        i = q + 1;
        break;
      }
      // Text between the closing quote and the delimiter is kept, as most readers do.
      const end = text.indexOf(delim, i);
      const stop = end === -1 ? n : end;
      if (stop > i) value += text.slice(i, stop);
      out.push(value);
      if (end === -1) return out;
      i = end + 1;
    } else {
      let end = i;
      while (end < n && text.charCodeAt(end) !== d) end++;
      out.push(text.slice(i, end));
      if (end >= n) return out;
      i = end + 1;
    }
  }
}

/** Options that decide how one record is checked (shared by the streaming and parallel readers). */
export type CsvRecordOptions = Pick<CsvOptions, 'delimiter' | 'trim' | 'types'>;

/**
 * The per-record check of a CSV reader: splits a complete record (as assembled by
 * CsvRecordAssembler), checks the column count and typed columns, and trims. Throws DataFormatError.
 */
export function csvRecordParser(file: string, columns: readonly string[],
  options: CsvRecordOptions): (text: string, lineNo: number) => string[] {
  const delim = options.delimiter ?? ',';
  const trim = options.trim === true;
  const ncol = columns.length;
  const checks: { col: number; name: string; type: CsvColumnType }[] = [];
  for (const [name, type] of Object.entries(options.types ?? {})) {
    const col = columns.indexOf(name);
    if (col === -1) throw new Error(`openCsv: typed column ${JSON.stringify(name)} is not among the columns of ${file}`);
    checks.push({ col, name, type });
  }
  const delimName = delim === ',' ? 'comma' : delim === '\t' ? 'tab' : show(delim);
  return (text, lineNo) => {
    const f = splitCsvRecord(text, delim)!;
    if (f.length !== ncol) {
      throw new DataFormatError(file, lineNo, undefined,
        `expected ${ncol} ${delimName}-separated columns, got ${text.length === 0 ? 'an empty line' : f.length}`);
    }
    if (trim) for (let j = 0; j < ncol; j++) f[j] = f[j]!.trim();
    for (const c of checks) {
      const s = f[c.col]!;
      let ok: boolean;
      if (c.type === 'number') ok = !Number.isNaN(parseNumber(s));
      else {
        const v = parseIntRange(s, 0, s.length);
        ok = v !== NOT_AN_INT && (c.type === 'int?' || !Number.isNaN(v));
      }
      if (!ok) {
        const want = c.type === 'number' ? 'a number' : c.type === 'int' ? 'an integer' : 'an integer or empty';
        throw new DataFormatError(file, lineNo, `${c.name} (column ${c.col + 1})`, `expected ${want}, got ${show(s)}`);
      }
    }
    return f;
  };
}

/**
 * Joins physical lines into records: a quoted field may contain newlines, so a record can span
 * lines; it is reported at its first line. Separate from the reader so that the parallel reader,
 * which sees the file in chunks, assembles records exactly the same way.
 */
export class CsvRecordAssembler {
  /** The last complete record and its first line (valid after push() returned true). */
  text = '';
  line = 0;
  private open: string | undefined;
  private openLine = 0;

  constructor(private readonly file: string, private readonly delim: string) {}

  /** A record continued from an earlier chunk, as returned by `pending`. */
  resume(open: string, openLine: number): void {
    this.open = open;
    this.openLine = openLine;
  }

  /** The unfinished record, if the last line pushed left a quoted field open. */
  get pending(): { text: string; line: number } | undefined {
    return this.open === undefined ? undefined : { text: this.open, line: this.openLine };
  }

  /**
   * Adds one physical line. true: a record is complete (`text`, `line`); false: it continues on the
   * next line. Throws DataFormatError for a quoted field that runs on past MAX_RECORD_CHARS.
   */
  push(physical: string, lineNo: number): boolean {
    let text = physical;
    let recLine = lineNo;
    if (this.open !== undefined) {
      text = `${this.open}\n${text}`;
      recLine = this.openLine;
      this.open = undefined;
    }
    if (text.indexOf('"') !== -1 && splitCsvRecord(text, this.delim) === undefined) {
      if (text.length <= MAX_RECORD_CHARS) {
        this.open = text;
        this.openLine = recLine;
        return false;
      }
      // A stray quote would otherwise swallow the rest of the file into one record.
      throw new DataFormatError(this.file, recLine, undefined, `quoted field is not closed within ${MAX_RECORD_CHARS} characters`);
    }
    this.text = text;
    this.line = recLine;
    return true;
  }

  /** The error for a record still open at the end of the file, if any. */
  finish(): DataFormatError | undefined {
    if (this.open === undefined) return undefined;
    const line = this.openLine;
    this.open = undefined;
    return new DataFormatError(this.file, line, undefined, 'quoted field is not closed before the end of the file');
  }
}

/** The column names of a header line, checked against `options.columns` when given. */
export function csvHeaderColumns(file: string, line: string, options: Pick<CsvOptions, 'delimiter' | 'trim' | 'columns'>): string[] {
  const delim = options.delimiter ?? ',';
  const names = splitCsvRecord(line, delim);
  if (names === undefined) throw new DataFormatError(file, 1, undefined, 'unterminated quoted field in the header');
  const columns = options.trim === true ? names.map((s) => s.trim()) : names;
  if (options.columns !== undefined && options.columns.join('\u0000') !== columns.join('\u0000')) {
    throw new DataFormatError(file, 1, undefined,
      `header ${show(columns.join(delim), 200)} differs from the expected columns ${show(options.columns.join(delim), 200)}`);
  }
  return columns;
}

/**
 * Streams a delimited text file (plain or gzip) as arrays of strings, one per column. Every record
 * must have as many values as there are columns.
 */
export async function openCsv(file: string, options: CsvOptions = {}): Promise<CsvReader> {
  const delim = options.delimiter ?? ',';
  if (delim.length !== 1 || delim === '"' || delim === '\n' || delim === '\r') {
    throw new Error(`openCsv: delimiter must be one character other than quote or newline, got ${JSON.stringify(delim)}`);
  }
  const header = options.header ?? true;
  const src = await LineSource.open(file, options);
  const stats = newStats(file);
  let columns: readonly string[];
  if (header) {
    const line = await src.shift();
    if (line === undefined) throw new DataFormatError(file, undefined, undefined, 'file is empty (expected a header line)');
    stats.lines = 1;
    columns = csvHeaderColumns(file, line, options);
  } else {
    if (options.columns === undefined) throw new Error('openCsv: header: false needs `columns`');
    columns = options.columns;
  }
  const parse = csvRecordParser(file, columns, options);
  const policy = options.onBadLine ?? 'error';
  const keep = options.keepSkipped ?? 10;

  let current = 0;
  let used = false;
  async function* rows(): AsyncGenerator<string[]> {
    if (used) throw new Error(`${file}: a reader can be iterated once; open the file again`);
    used = true;
    const records = new CsvRecordAssembler(file, delim);
    for await (const { lines, firstLine } of src.batches()) {
      for (let i = 0; i < lines.length; i++) {
        stats.lines++;
        let rec: string[];
        try {
          if (!records.push(lines[i]!, firstLine + i)) continue;
          if (records.text.length === 0 && options.skipBlankLines === true) continue;
          rec = parse(records.text, records.line);
        } catch (err) {
          handleBadLine(err, policy, stats, keep);
          continue;
        }
        current = records.line;
        stats.rows++;
        yield rec;
      }
    }
    const unclosed = records.finish();
    if (unclosed !== undefined) handleBadLine(unclosed, policy, stats, keep);
    checkNotEmpty(stats, options);
    if (stats.rows === 0 && stats.skipped === 0 && header && options.allowEmpty !== true) {
      throw new DataFormatError(file, undefined, undefined, 'no data rows after the header');
    }
  }
  return {
    file,
    stats,
    columns,
    get line() { return current; },
    [Symbol.asyncIterator]: rows,
  };
}
