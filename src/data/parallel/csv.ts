/** Delimited text on worker threads: column blocks, or the same rows as openCsv. */
import { csvHeaderColumns, csvRecordParser, type CsvOptions, type CsvReader } from '../readers/csv.js';
import { DataFormatError } from '../readers/errors.js';
import { describeReadError } from '../readers/lineSource.js';
import { lineEnd } from '../readers/textFile.js';
import { handleBadLine, newStats, type ReaderStats } from '../readers/reader.js';
import { parseCsvChunk } from './chunkParsers.js';
import { TokenVocabulary } from './chunkTokens.js';
import { openLineChunks } from './lineChunks.js';
import { placeChunks, type ParallelOptions } from './orderedChunks.js';
import type { CsvChunk, ParseSpec } from './protocol.js';

export type ParallelCsvOptions = CsvOptions & ParallelOptions;

/** Consecutive records of a delimited file as codes, column by column. */
export interface CsvBlock {
  numRows: number;
  /** 1-based line number where each record starts. */
  lines: Int32Array;
  /** Row-major [numRows * columns.length] codes into `vocabulary[j]` (order of first appearance). */
  values: Int32Array;
}

export interface CsvBlockReader extends AsyncIterable<CsvBlock> {
  readonly file: string;
  readonly stats: ReaderStats;
  readonly columns: readonly string[];
  /** Per column, code -> value as openCsv would return it; grows as blocks are read. */
  readonly vocabulary: readonly (readonly string[])[];
}

/** Splits the header line off the first chunk, so that workers only see records. */
async function headerAndRest(file: string, chunks: AsyncIterable<Buffer>): Promise<{ header: string; rest: AsyncIterable<Buffer> }> {
  const it = chunks[Symbol.asyncIterator]();
  let first: IteratorResult<Buffer>;
  try {
    first = await it.next();
  } catch (err) {
    throw describeReadError(file, err, 0);
  }
  if (first.done === true) throw new DataFormatError(file, undefined, undefined, 'file is empty (expected a header line)');
  const buf = first.value;
  const nl = buf.indexOf(10);
  const header = buf.toString('utf8', 0, lineEnd(buf, 0, nl === -1 ? buf.length : nl));
  const tail = nl === -1 ? undefined : buf.subarray(nl + 1);
  return {
    header,
    rest: {
      async *[Symbol.asyncIterator]() {
        if (tail !== undefined && tail.length > 0) yield tail;
        for (;;) {
          const r = await it.next();
          if (r.done === true) return;
          yield r.value;
        }
      },
    },
  };
}

/** Streams a delimited file (plain or gzip) as code blocks, parsed on `options.workers` threads. */
export async function openCsvBlocks(file: string, options: ParallelCsvOptions = {}): Promise<CsvBlockReader> {
  const delimiter = options.delimiter ?? ',';
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new Error(`openCsv: delimiter must be one character other than quote or newline, got ${JSON.stringify(delimiter)}`);
  }
  const header = options.header ?? true;
  let chunks = await openLineChunks(file, options);
  const stats = newStats(file);
  let columns: readonly string[];
  if (header) {
    const h = await headerAndRest(file, chunks);
    stats.lines = 1;
    columns = csvHeaderColumns(file, h.header, options);
    chunks = h.rest;
  } else {
    if (options.columns === undefined) throw new Error('openCsv: header: false needs `columns`');
    columns = options.columns;
  }
  // Fails now, like openCsv, for a typed column that is not in the file.
  csvRecordParser(file, columns, options);
  const spec: Extract<ParseSpec, { kind: 'csv' }> = {
    kind: 'csv', file, columns, delimiter, trim: options.trim === true, types: options.types ?? {},
  };
  const skip = options.onBadLine === 'skip';
  const keep = options.keepSkipped ?? 10;
  const vocab = new TokenVocabulary(columns.length);
  // A record whose quoted field runs past the end of a chunk: the next chunk was parsed without it,
  // so it is parsed again here with the record carried in (rare: one chunk per such record).
  let pending: { text: string; line: number } | undefined;
  function redo(chunk: { result: CsvChunk | { kind: string }; bytes: Buffer }, firstLine: number): CsvChunk {
    let res = chunk.result as CsvChunk;
    if (pending !== undefined) {
      res = parseCsvChunk(spec, { id: res.id, bytes: chunk.bytes, skip, keep }, { text: pending.text, line: pending.line - firstLine });
    }
    pending = res.open === undefined ? undefined : { text: res.open.text, line: firstLine + res.open.line };
    return res;
  }
  let used = false;
  async function* blocks(): AsyncGenerator<CsvBlock> {
    if (used) throw new Error(`${file}: a reader can be iterated once; open the file again`);
    used = true;
    for await (const { result, firstLine } of placeChunks<CsvChunk>(file, chunks, spec, options, stats, redo)) {
      if (result.rows === 0) continue;
      const lines = result.rowLines;
      for (let i = 0; i < lines.length; i++) lines[i]! += firstLine;
      yield { numRows: result.rows, lines, values: vocab.merge(result.values, result.rows) };
    }
    if (pending !== undefined) {
      const err = new DataFormatError(file, pending.line, undefined, 'quoted field is not closed before the end of the file');
      pending = undefined;
      handleBadLine(err, options.onBadLine ?? 'error', stats, keep);
    }
    if (stats.rows === 0 && stats.skipped === 0 && header && options.allowEmpty !== true) {
      throw new DataFormatError(file, undefined, undefined, 'no data rows after the header');
    }
  }
  return { file, stats, columns, vocabulary: vocab.tokens, [Symbol.asyncIterator]: blocks };
}

/** The records of openCsv (same values, errors and stats), parsed on worker threads. */
export async function openCsvParallel(file: string, options: ParallelCsvOptions = {}): Promise<CsvReader> {
  const blocks = await openCsvBlocks(file, options);
  const w = blocks.columns.length;
  let current = 0;
  async function* rows(): AsyncGenerator<string[]> {
    const vocab = blocks.vocabulary;
    for await (const b of blocks) {
      for (let r = 0; r < b.numRows; r++) {
        const rec = new Array<string>(w);
        for (let j = 0, p = r * w; j < w; j++, p++) rec[j] = vocab[j]![b.values[p]!]!;
        current = b.lines[r]!;
        yield rec;
      }
    }
  }
  return { file, stats: blocks.stats, columns: blocks.columns, get line() { return current; }, [Symbol.asyncIterator]: rows };
}
