/**
 * The file-level bookkeeping around parseInOrder, shared by the formats: global line numbers,
 * reader stats, the bad-line policy and the read errors, so that a parallel reader reports exactly
 * what the single-threaded reader of the same format would.
 */
import { availableParallelism } from 'node:os';
import { DataFormatError } from '../readers/errors.js';
import { describeReadError } from '../readers/lineSource.js';
import { checkNotEmpty, type ReaderOptions, type ReaderStats } from '../readers/reader.js';
import { parseInOrder, type OrderedChunk } from './pool.js';
import type { ChunkResult, LocalProblem, ParseSpec } from './protocol.js';

export interface ParallelOptions extends ReaderOptions {
  /**
   * Parse worker threads (default: the number of cores). 0 parses on the calling thread. The
   * result is the same for every value; only the speed differs.
   */
  workers?: number;
}

export function defaultWorkers(options: ParallelOptions): number {
  const w = options.workers ?? availableParallelism();
  if (!Number.isInteger(w) || w < 0) throw new Error(`workers must be an integer >= 0, got ${w}`);
  return w;
}

/** A parsed chunk placed in the file: `firstLine` is the 1-based line number of its first line. */
export interface PlacedChunk<R extends ChunkResult> {
  result: R;
  firstLine: number;
}

export function problemError(file: string, firstLine: number, p: LocalProblem): DataFormatError {
  return new DataFormatError(file, firstLine + p.line, p.field, p.detail);
}

/**
 * Yields the chunks in order with their first line; updates `stats`; throws the first bad line
 * (policy 'error') after yielding the chunk's rows before it. `redo` may replace a chunk's result
 * (CSV records that span chunks); it sees the chunk's first line.
 */
export async function* placeChunks<R extends ChunkResult>(file: string, chunks: AsyncIterable<Buffer>, spec: ParseSpec,
  options: ParallelOptions, stats: ReaderStats,
  redo?: (chunk: OrderedChunk, firstLine: number) => R): AsyncGenerator<PlacedChunk<R>> {
  const keep = options.keepSkipped ?? 10;
  let next = stats.lines + 1;
  try {
    for await (const chunk of parseInOrder(chunks, spec, {
      workers: defaultWorkers(options), skip: options.onBadLine === 'skip', keep,
    })) {
      const firstLine = next;
      const result = redo === undefined ? chunk.result as R : redo(chunk, firstLine);
      next += result.lines;
      stats.lines += result.lines;
      stats.rows += result.rows;
      stats.skipped += result.skipped;
      for (const p of result.skippedExamples) {
        if (stats.skippedExamples.length < keep) stats.skippedExamples.push(problemError(file, firstLine, p).message);
      }
      yield { result, firstLine };
      if (result.error !== undefined) throw problemError(file, firstLine, result.error);
    }
  } catch (err) {
    throw describeReadError(file, err, stats.lines);
  }
  checkNotEmpty(stats, options);
}
