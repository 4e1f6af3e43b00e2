import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { DataFormatError } from './errors.js';

/** Lines of one read, with the 1-based line number of the first. */
export interface LineBatch {
  lines: string[];
  firstLine: number;
}

export interface LineSourceOptions {
  /** Bytes per read from disk (and per gunzip output chunk). Default 1 MiB. */
  chunkSize?: number;
}

const GZIP_MAGIC0 = 0x1f;
const GZIP_MAGIC1 = 0x8b;

/**
 * A streaming line splitter over a plain or gzip file, in constant memory (one chunk plus the
 * longest line). Lines come in batches, one per decoded chunk, so that the per-line cost is one
 * indexOf + one slice, with no async hop per line. `\n` and `\r\n` endings are both accepted (the
 * LETOR files mix them); the line terminator is not part of the line.
 *
 * Gzip is detected from the magic bytes, not the name, so a `.gz` that was already decompressed by a
 * download tool still reads. Concatenated gzip members (pigz, `cat a.gz b.gz`) are read as one stream.
 */
export class LineSource {
  readonly file: string;
  readonly gzip: boolean;
  private readonly chunkSize: number;
  private started = false;
  private pending: LineBatch | undefined;
  private iter: AsyncGenerator<LineBatch> | undefined;

  private constructor(file: string, gzip: boolean, chunkSize: number) {
    this.file = file;
    this.gzip = gzip;
    this.chunkSize = chunkSize;
  }

  /** Opens `file` (fails early, with the fs error, if it cannot be read) and sniffs for gzip. */
  static async open(file: string, options: LineSourceOptions = {}): Promise<LineSource> {
    const fh = await open(file, 'r');
    let gzip = false;
    try {
      const head = Buffer.alloc(2);
      const { bytesRead } = await fh.read(head, 0, 2, 0);
      gzip = bytesRead === 2 && head[0] === GZIP_MAGIC0 && head[1] === GZIP_MAGIC1;
    } finally {
      await fh.close();
    }
    return new LineSource(file, gzip, options.chunkSize ?? 1 << 20);
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
    const raw = createReadStream(this.file, { highWaterMark: this.chunkSize });
    // pipeline() forwards errors of either stream to the gunzip stream, so the for-await below sees
    // a truncated or unreadable file as one thrown error and both streams are closed.
    const src: AsyncIterable<Buffer> = this.gzip
      ? pipeline(raw, createGunzip({ chunkSize: Math.max(64, this.chunkSize) }), () => { /* errors surface in for-await */ })
      : raw;
    const decoder = new StringDecoder('utf8');
    let carry = '';
    let lineNo = 1;
    let first = true;
    try {
      for await (const buf of src) {
        let text = carry + decoder.write(buf);
        // A UTF-8 byte-order mark (spreadsheet exports) is not part of the first value.
        if (first && text.length > 0) {
          if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
          first = false;
        }
        const lines: string[] = [];
        let start = 0;
        let nl: number;
        while ((nl = text.indexOf('\n', start)) !== -1) {
          const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
          lines.push(text.slice(start, end));
          start = nl + 1;
        }
        carry = start === 0 ? text : text.slice(start);
        if (lines.length > 0) {
          yield { lines, firstLine: lineNo };
          lineNo += lines.length;
        }
      }
    } catch (err) {
      throw this.wrap(err, lineNo);
    }
    let tail = carry + decoder.end();
    if (tail.length > 0) {
      if (tail.charCodeAt(tail.length - 1) === 13) tail = tail.slice(0, -1);
      yield { lines: [tail], firstLine: lineNo };
    }
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
