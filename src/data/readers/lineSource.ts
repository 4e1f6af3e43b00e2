import { StringDecoder } from 'node:string_decoder';
import { DataFormatError } from './errors.js';
import { cutLines, lastLine, openFileBytes } from './textFile.js';

/** Lines of one read, with the 1-based line number of the first. */
export interface LineBatch {
  lines: string[];
  firstLine: number;
}

export interface LineSourceOptions {
  /** Bytes per read from disk (and per gunzip output chunk). Default 1 MiB. */
  chunkSize?: number;
  /** Read these bytes instead of the file (see ReaderOptions.content). */
  content?: AsyncIterable<Buffer>;
}

/**
 * The lines of a plain or gzip file (textFile.ts: bytes and line rule), streamed in constant memory
 * (one chunk plus the longest line). Lines come in batches, one per decoded chunk, so that the
 * per-line cost is one indexOf + one slice, with no async hop per line.
 */
export class LineSource {
  readonly file: string;
  private readonly bytes: AsyncIterable<Buffer>;
  private started = false;
  private pending: LineBatch | undefined;
  private iter: AsyncGenerator<LineBatch> | undefined;

  private constructor(file: string, bytes: AsyncIterable<Buffer>) {
    this.file = file;
    this.bytes = bytes;
  }

  /** Opens `file` (fails early, with the fs error, if it cannot be read). */
  static async open(file: string, options: LineSourceOptions = {}): Promise<LineSource> {
    return new LineSource(file, options.content ?? await openFileBytes(file, options.chunkSize ?? 1 << 20));
  }

  /**
   * Removes and returns the first line (a CSV header), or undefined for an empty file. The rest of
   * the batch it came from is kept for `batches()`.
   */
  async shift(): Promise<string | undefined> {
    this.iter ??= this.read();
    const r = await this.iter.next();
    if (r.done) return undefined;
    const b = r.value;
    const first = b.lines[0];
    if (b.lines.length > 1) this.pending = { lines: b.lines.slice(1), firstLine: b.firstLine + 1 };
    return first;
  }

  /** The line batches, in file order. A source can be iterated once. */
  async *batches(): AsyncGenerator<LineBatch> {
    if (this.started) throw new Error(`${this.file}: lines can only be read once`);
    this.started = true;
    this.iter ??= this.read();
    if (this.pending !== undefined) {
      const p = this.pending;
      this.pending = undefined;
      yield p;
    }
    yield* this.iter;
  }

  private async *read(): AsyncGenerator<LineBatch> {
    const decoder = new StringDecoder('utf8');
    let carry = '';
    let lineNo = 1;
    try {
      for await (const buf of this.bytes) {
        const lines: string[] = [];
        carry = cutLines(carry + decoder.write(buf), lines);
        if (lines.length > 0) {
          yield { lines, firstLine: lineNo };
          lineNo += lines.length;
        }
      }
    } catch (err) {
      throw this.wrap(err, lineNo);
    }
    const tail = lastLine(carry + decoder.end());
    if (tail !== undefined) yield { lines: [tail], firstLine: lineNo };
  }

  private wrap(err: unknown, lineNo: number): unknown {
    return describeReadError(this.file, err, lineNo - 1);
  }
}

/**
 * Turns a zlib error into a DataFormatError naming the file and how far it got; other errors (I/O)
 * are returned unchanged. Shared with the parallel reader, which decompresses the same way.
 */
export function describeReadError(file: string, err: unknown, completeLines: number): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR' || code === 'Z_STREAM_ERROR') {
    const what = code === 'Z_BUF_ERROR'
      ? 'truncated gzip file (unexpected end of compressed data)'
      : `corrupt gzip data (${(err as Error).message})`;
    const e = new DataFormatError(file, undefined, undefined,
      `${what} after ${completeLines} complete lines; the file is incomplete or damaged, re-download or re-create it`);
    (e as { cause?: unknown }).cause = err;
    return e;
  }
  return err;
}

/**
 * The bytes of a plain or gzip file (or options.content) cut after a `\n`: every chunk holds whole
 * lines, but the last, which holds the file's last line when it has no final newline. For parsers
 * that work on bytes (no string per line); the line rule is LineSource's (see lineEnd). zlib errors
 * are thrown raw: the caller, which counts the lines, names them with describeReadError.
 */
export async function openLineBytes(file: string, options: LineSourceOptions = {}): Promise<AsyncIterable<Buffer>> {
  const bytes = options.content ?? await openFileBytes(file, options.chunkSize ?? 1 << 20);
  return {
    async *[Symbol.asyncIterator]() {
      let carry: Buffer | undefined;
      for await (const buf of bytes) {
        const last = buf.lastIndexOf(10);
        if (last === -1) {
          carry = carry === undefined ? buf : Buffer.concat([carry, buf]);
          continue;
        }
        let from = 0;
        if (carry !== undefined) {
          // Only the line that straddles the chunks is copied.
          from = buf.indexOf(10) + 1;
          yield Buffer.concat([carry, buf.subarray(0, from)]);
        }
        carry = last + 1 < buf.length ? buf.subarray(last + 1) : undefined;
        if (from <= last) yield buf.subarray(from, last + 1);
      }
      if (carry !== undefined && carry.length > 0) yield carry;
    },
  };
}
