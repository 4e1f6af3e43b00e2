/** Criteo DAC TSV on worker threads: column blocks for encoders, or the same rows as openCriteo. */
import { CRITEO_NUM_CATS, CRITEO_NUM_INTS, type CriteoRow } from '../readers/criteo.js';
import { newStats, type ReaderStats, type RecordReader } from '../readers/reader.js';
import { TokenVocabulary } from './chunkTokens.js';
import { openLineChunks } from './lineChunks.js';
import { placeChunks, type ParallelOptions } from './orderedChunks.js';
import type { CriteoChunk } from './protocol.js';

/** Consecutive rows of a Criteo file, column by column. */
export interface CriteoBlock {
  numRows: number;
  /** 1-based line number of each row. */
  lines: Int32Array;
  /** 0 / 1 per row. */
  labels: Uint8Array;
  /** I1..I13, row-major [numRows * 13]; NaN = missing. */
  ints: Float64Array;
  /**
   * C1..C26, row-major [numRows * 26], as codes into `vocabulary[j]`: in order of first appearance
   * in the file, i.e. the provisional codes CategoricalField.intern would give the raw tokens.
   */
  cats: Int32Array;
}

export interface CriteoBlockReader extends AsyncIterable<CriteoBlock> {
  readonly file: string;
  readonly stats: ReaderStats;
  /** Per categorical field, code -> token ("" = missing); grows as blocks are read. */
  readonly vocabulary: readonly (readonly string[])[];
}

/** Streams a Criteo file (plain or gzip) as column blocks, parsed on `options.workers` threads. */
export async function openCriteoBlocks(file: string, options: ParallelOptions = {}): Promise<CriteoBlockReader> {
  const chunks = await openLineChunks(file, options);
  const stats = newStats(file);
  const vocab = new TokenVocabulary(CRITEO_NUM_CATS);
  let used = false;
  async function* blocks(): AsyncGenerator<CriteoBlock> {
    if (used) throw new Error(`${file}: a reader can be iterated once; open the file again`);
    used = true;
    for await (const { result, firstLine } of placeChunks<CriteoChunk>(file, chunks, { kind: 'criteo', file }, options, stats)) {
      if (result.rows === 0) continue;
      const lines = result.rowLines;
      for (let i = 0; i < lines.length; i++) lines[i]! += firstLine;
      yield { numRows: result.rows, lines, labels: result.labels, ints: result.ints, cats: vocab.mergePacked(result.cats, result.rows) };
    }
  }
  return { file, stats, vocabulary: vocab.tokens, [Symbol.asyncIterator]: blocks };
}

/** The rows of openCriteo (same values, errors and stats), parsed on worker threads. */
export async function openCriteoParallel(file: string, options: ParallelOptions = {}): Promise<RecordReader<CriteoRow>> {
  const blocks = await openCriteoBlocks(file, options);
  let current = 0;
  async function* rows(): AsyncGenerator<CriteoRow> {
    const vocab = blocks.vocabulary;
    for await (const b of blocks) {
      for (let r = 0; r < b.numRows; r++) {
        const cats = new Array<string>(CRITEO_NUM_CATS);
        for (let j = 0, p = r * CRITEO_NUM_CATS; j < CRITEO_NUM_CATS; j++, p++) cats[j] = vocab[j]![b.cats[p]!]!;
        current = b.lines[r]!;
        yield { label: b.labels[r]!, ints: b.ints.slice(r * CRITEO_NUM_INTS, (r + 1) * CRITEO_NUM_INTS), cats };
      }
    }
  }
  return { file, stats: blocks.stats, get line() { return current; }, [Symbol.asyncIterator]: rows };
}
