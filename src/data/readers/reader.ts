import { DataFormatError } from './errors.js';
import type { LineBatch, LineSource } from './lineSource.js';

/** What a reader does with a line it cannot parse. */
export type BadLinePolicy = 'error' | 'skip';

export interface ReaderOptions {
  /** 'error' (default): throw a DataFormatError naming file:line:field. 'skip': drop the line and count it. */
  onBadLine?: BadLinePolicy;
  /** An empty file (no data lines) is an error unless this is set: it is usually a failed download. */
  allowEmpty?: boolean;
  /** How many skipped-line messages to keep in the stats (default 10). */
  keepSkipped?: number;
  /** Bytes per read (default 1 MiB). */
  chunkSize?: number;
  /**
   * The content to read instead of opening the file (`file` then only names it in messages): the
   * records of a message stream, one per line (see src/data/jetstream.ts).
   */
  content?: AsyncIterable<Buffer>;
}

/** Counters of one read; final once iteration has finished. */
export interface ReaderStats {
  file: string;
  /** Physical lines consumed (header included). */
  lines: number;
  /** Records yielded. */
  rows: number;
  /** Bad lines dropped under onBadLine: 'skip'. */
  skipped: number;
  /** The first few skip reasons (full DataFormatError messages). */
  skippedExamples: string[];
}

/** A one-shot stream of parsed records from one file. */
export interface RecordReader<T> extends AsyncIterable<T> {
  readonly file: string;
  readonly stats: ReaderStats;
  /** Line number (1-based) where the most recently yielded record starts; 0 before the first. */
  readonly line: number;
}

export function newStats(file: string): ReaderStats {
  return { file, lines: 0, rows: 0, skipped: 0, skippedExamples: [] };
}

/**
 * Applies the bad-line policy to an error raised while parsing one line: rethrows it, or counts it.
 * Anything that is not a DataFormatError is a bug or an I/O error and always propagates.
 */
export function handleBadLine(err: unknown, policy: BadLinePolicy, stats: ReaderStats, keep: number): void {
  if (policy !== 'skip' || !(err instanceof DataFormatError) || err.line === undefined) throw err;
  stats.skipped++;
  if (stats.skippedExamples.length < keep) stats.skippedExamples.push(err.message);
}

export function checkNotEmpty(stats: ReaderStats, options: ReaderOptions): void {
  if (stats.lines === 0 && options.allowEmpty !== true) {
    throw new DataFormatError(stats.file, undefined, undefined, 'file is empty (no lines)');
  }
}

/**
 * The common shape of a line-per-record reader: every line is parsed by `parse` (which throws
 * DataFormatError for a bad line), under the bad-line policy.
 */
export function lineRecordReader<T>(
  source: LineSource,
  options: ReaderOptions,
  parse: (line: string, lineNo: number) => T,
  headerLines = 0,
): RecordReader<T> {
  const stats = newStats(source.file);
  stats.lines = headerLines;
  const policy = options.onBadLine ?? 'error';
  const keep = options.keepSkipped ?? 10;
  let current = 0;
  let used = false;
  async function* rows(): AsyncGenerator<T> {
    if (used) throw new Error(`${source.file}: a reader can be iterated once; open the file again`);
    used = true;
    for await (const batch of source.batches() as AsyncIterable<LineBatch>) {
      const { lines, firstLine } = batch;
      for (let i = 0; i < lines.length; i++) {
        const lineNo = firstLine + i;
        stats.lines++;
        let rec: T;
        try {
          rec = parse(lines[i]!, lineNo);
        } catch (err) {
          handleBadLine(err, policy, stats, keep);
          continue;
        }
        current = lineNo;
        stats.rows++;
        yield rec;
      }
    }
    checkNotEmpty(stats, options);
  }
  return {
    file: source.file,
    stats,
    get line() { return current; },
    [Symbol.asyncIterator]: rows,
  };
}

// ---------------------------------------------------------------- shared field parsers

/** Returned by parseIntRange for text that is not an integer (NaN is reserved for empty). */
export const NOT_AN_INT = Number.POSITIVE_INFINITY;

/**
 * Parses `s[start, end)` as a decimal integer (optional sign) without slicing: NaN if the range is
 * empty (missing value), NOT_AN_INT if it is not an integer. Beyond 2^53 the result is rounded,
 * which is harmless for features.
 */
export function parseIntRange(s: string, start: number, end: number): number {
  if (start >= end) return Number.NaN;
  let i = start;
  let neg = false;
  const c0 = s.charCodeAt(i);
  if (c0 === 45 /* - */ || c0 === 43 /* + */) {
    neg = c0 === 45;
    i++;
    if (i === end) return NOT_AN_INT;
  }
  let v = 0;
  for (; i < end; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NOT_AN_INT;
    v = v * 10 + d;
  }
  return neg ? -v : v;
}

/** Parses a whole string as a finite number (SVMlight values, labels); NaN for anything else. */
export function parseNumber(s: string): number {
  if (s.length === 0) return Number.NaN;
  const v = Number(s);
  return Number.isFinite(v) ? v : Number.NaN;
}
