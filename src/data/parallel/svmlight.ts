/** SVMlight / LETOR on worker threads: the same rows as openSvmlight. */
import { newStats, type RecordReader } from '../readers/reader.js';
import type { SvmlightRow } from '../readers/svmlight.js';
import { openLineChunks } from './lineChunks.js';
import { placeChunks, type ParallelOptions } from './orderedChunks.js';
import type { SvmlightChunk } from './protocol.js';

export async function openSvmlightParallel(file: string, options: ParallelOptions = {}): Promise<RecordReader<SvmlightRow>> {
  const chunks = await openLineChunks(file, options);
  const stats = newStats(file);
  let current = 0;
  let used = false;
  async function* rows(): AsyncGenerator<SvmlightRow> {
    if (used) throw new Error(`${file}: a reader can be iterated once; open the file again`);
    used = true;
    for await (const { result: c, firstLine } of placeChunks<SvmlightChunk>(file, chunks, { kind: 'svmlight', file }, options, stats)) {
      for (let r = 0; r < c.rows; r++) {
        const q = c.qids[r]!;
        current = firstLine + c.rowLines[r]!;
        yield {
          label: c.labels[r]!,
          qid: Number.isNaN(q) ? undefined : q,
          indices: c.indices.slice(c.offsets[r]!, c.offsets[r + 1]!),
          values: c.values.slice(c.offsets[r]!, c.offsets[r + 1]!),
          comment: c.comments[r],
        };
      }
    }
  }
  return { file, stats, get line() { return current; }, [Symbol.asyncIterator]: rows };
}
