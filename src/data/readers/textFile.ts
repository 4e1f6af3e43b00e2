/**
 * How every text reader sees a file: its bytes (gunzipped when the file is gzip, without a leading
 * UTF-8 byte-order mark) and the one rule that cuts them into lines. The streaming readers
 * (LineSource) and the worker-thread ones (openLineChunks and the chunk parsers) both start here,
 * so that a file gives the same lines, line numbers and first column name either way.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

const GZIP_MAGIC0 = 0x1f;
const GZIP_MAGIC1 = 0x8b;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Opens `file` (so that a missing or unreadable file fails here, with the fs error) and returns its
 * content as chunks of about `chunkSize` bytes. Gzip is detected from the magic bytes, not the name,
 * so a `.gz` that a download tool already decompressed still reads; concatenated gzip members
 * (pigz, `cat a.gz b.gz`) are one stream. zlib errors are thrown raw from the iteration (see
 * describeReadError). A UTF-8 byte-order mark (spreadsheet exports) is not content: left in, it
 * would become part of the first column name or value.
 */
export async function openFileBytes(file: string, chunkSize: number): Promise<AsyncIterable<Buffer>> {
  if (file === STDIN) return { [Symbol.asyncIterator]: () => withoutBom(gunzipIfGzip(process.stdin, chunkSize))[Symbol.asyncIterator]() };
  const fh = await open(file, 'r');
  let gzip = false;
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    gzip = bytesRead === 2 && head[0] === GZIP_MAGIC0 && head[1] === GZIP_MAGIC1;
  } finally {
    await fh.close();
  }
  return {
    [Symbol.asyncIterator]() {
      const raw = createReadStream(file, { highWaterMark: chunkSize });
      // pipeline() forwards errors of either stream to the gunzip stream, so the consumer's
      // for-await sees a truncated or unreadable file as one thrown error and both streams close.
      const src: AsyncIterable<Buffer> = gzip
        ? pipeline(raw, createGunzip({ chunkSize: Math.max(64, chunkSize) }), () => { /* errors surface in for-await */ })
        : raw;
      return withoutBom(src)[Symbol.asyncIterator]();
    },
  };
}

/** The path that names standard input (a pipe: read once, gzip detected from its first bytes). */
export const STDIN = '-';

/** A stream that cannot be peeked at by position (a pipe): its first two bytes decide, then it is replayed whole. */
async function* gunzipIfGzip(src: AsyncIterable<Buffer>, chunkSize: number): AsyncGenerator<Buffer> {
  const it = src[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let done = false;
  while (head.length < 2 && !done) {
    const r = await it.next();
    if (r.done === true) done = true;
    else head = Buffer.concat([head, r.value]);
  }
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    while (!done) {
      const r = await it.next();
      if (r.done === true) return;
      yield r.value;
    }
  }
  if (head.length >= 2 && head[0] === GZIP_MAGIC0 && head[1] === GZIP_MAGIC1) {
    yield* pipeline(Readable.from(all()), createGunzip({ chunkSize: Math.max(64, chunkSize) }), () => { /* errors surface in for-await */ }) as AsyncIterable<Buffer>;
  } else {
    yield* all();
  }
}

async function* withoutBom(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let head: Buffer | undefined = Buffer.alloc(0);
  for await (const buf of src) {
    if (head === undefined) {
      yield buf;
      continue;
    }
    head = head.length === 0 ? buf : Buffer.concat([head, buf]);
    // Chunks can be shorter than the mark: wait while what came so far could still be one.
    if (head.length < BOM.length && BOM.subarray(0, head.length).equals(head)) continue;
    const out: Buffer = head.subarray(0, BOM.length).equals(BOM) ? head.subarray(BOM.length) : head;
    head = undefined;
    if (out.length > 0) yield out;
  }
  if (head !== undefined && head.length > 0) yield head;
}

/**
 * The end of the line that runs from `start` to the `\n` at `nl` (or to the end of the data): lines
 * end with `\n` or `\r\n` (the LETOR files mix them), and the terminator is not part of the line.
 * For text and for bytes alike (`\r` and `\n` are ASCII, so both views cut the same lines).
 */
export function lineEnd(data: string | Uint8Array, start: number, nl: number): number {
  const prev = typeof data === 'string' ? data.charCodeAt(nl - 1) : data[nl - 1];
  return nl > start && prev === 13 ? nl - 1 : nl;
}

/**
 * Appends the complete lines of `text` to `lines` and returns what follows the last `\n`: the start
 * of a line whose end is in the next piece of text, or the last line of a file without a final
 * newline (see lastLine).
 */
export function cutLines(text: string, lines: string[]): string {
  let start = 0;
  let nl: number;
  while ((nl = text.indexOf('\n', start)) !== -1) {
    lines.push(text.slice(start, lineEnd(text, start, nl)));
    start = nl + 1;
  }
  return start === 0 ? text : text.slice(start);
}

/** The text after the file's last `\n` as its last line, or undefined when there is none (no trailing empty line). */
export function lastLine(rest: string): string | undefined {
  return rest.length === 0 ? undefined : rest.slice(0, lineEnd(rest, 0, rest.length));
}

/** Splits a whole text (a chunk of whole lines) into its lines. */
export function splitLines(text: string): string[] {
  const lines: string[] = [];
  const last = lastLine(cutLines(text, lines));
  if (last !== undefined) lines.push(last);
  return lines;
}
