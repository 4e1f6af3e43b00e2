/**
 * Reads a file (textFile.ts: gzip, byte-order mark) as chunks of whole lines (bytes, not text): the
 * main thread only decompresses and cuts at the last newline, which is cheap enough to keep
 * several parse workers fed. Lines are not counted here; each parsed chunk reports its own count.
 */
import { openFileBytes } from '../readers/textFile.js';

export interface LineChunkOptions {
  /** Approximate bytes per chunk (default 4 MiB: smaller chunks cost more in per-message overhead than they gain in balance). */
  chunkSize?: number;
}

/**
 * Opens `file` (so that a missing file fails here, with the fs error) and returns its chunks. Every
 * chunk but the last ends with `\n`; zlib errors are thrown raw (see describeReadError).
 */
export async function openLineChunks(file: string, options: LineChunkOptions = {}): Promise<AsyncIterable<Buffer>> {
  const size = options.chunkSize ?? 4 << 20;
  const src = await openFileBytes(file, size);
  return {
    async *[Symbol.asyncIterator]() {
      let parts: Buffer[] = [];
      let have = 0;
      try {
        for await (const buf of src) {
          parts.push(buf);
          have += buf.length;
          if (have < size) continue;
          const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
          const nl = data.lastIndexOf(10);
          // No newline yet: one very long line; keep collecting.
          if (nl === -1) {
            parts = [data];
            continue;
          }
          yield data.subarray(0, nl + 1);
          parts = nl + 1 < data.length ? [data.subarray(nl + 1)] : [];
          have = data.length - nl - 1;
        }
      } catch (err) {
        // The complete lines decoded before a zlib error are data the single-threaded reader
        // yields too, so they are handed on before the error.
        const data = Buffer.concat(parts, have);
        const nl = data.lastIndexOf(10);
        if (nl !== -1) yield data.subarray(0, nl + 1);
        throw err;
      }
      if (have > 0) yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
    },
  };
}
