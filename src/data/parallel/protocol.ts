/**
 * What the main thread and the parse workers exchange. Everything is plain data (typed arrays and
 * string arrays) so that it crosses the thread boundary by structured clone / transfer.
 */
import type { CsvColumnType } from '../readers/csv.js';

/** Which parser a worker runs; fixed per file, sent once as workerData. */
export type ParseSpec =
  | { kind: 'criteo'; file: string }
  | { kind: 'svmlight'; file: string }
  | {
    kind: 'csv';
    file: string;
    columns: readonly string[];
    delimiter: string;
    trim: boolean;
    types: Readonly<Record<string, CsvColumnType>>;
  };

export interface ChunkRequest {
  id: number;
  /** Whole lines (the last chunk of a file may lack its final newline). */
  bytes: Uint8Array;
  skip: boolean;
  /** How many skipped-line problems to describe (the rest are only counted). */
  keep: number;
}

/**
 * A bad line, located within its chunk: the worker does not know how many lines precede the chunk,
 * so the main thread adds the chunk's first line number when it turns this into a DataFormatError.
 */
export interface LocalProblem {
  /** 0-based line index within the chunk. */
  line: number;
  field: string | undefined;
  detail: string;
}

/**
 * Token columns coded per chunk: codes[r * width + j] indexes tokens[j], which lists column j's
 * distinct tokens in order of first appearance in the chunk. Merging chunks in file order therefore
 * gives each token the global code it would get from a single pass over the file.
 */
export interface ChunkTokens {
  width: number;
  codes: Int32Array;
  tokens: string[][];
}

/**
 * ChunkTokens with the token text as bytes instead of strings, so that a chunk's tokens cross to the
 * main thread as three transferred buffers rather than tens of thousands of cloned strings, and the
 * main thread looks them up without making or hashing a string. Column j's local tokens are
 * numbered 0..counts[j]-1; over all columns in order, token k is bytes[offsets[k], offsets[k+1]),
 * the UTF-8 of its text (so equal texts have equal bytes), and hashes[k] is tokenHash of those bytes.
 */
export interface PackedChunkTokens {
  width: number;
  codes: Int32Array;
  counts: Int32Array;
  offsets: Int32Array;
  hashes: Int32Array;
  bytes: Uint8Array;
}

export interface ChunkResultBase {
  id: number;
  /** Physical lines in the chunk. */
  lines: number;
  rows: number;
  /** 0-based line index (within the chunk) where each row starts. */
  rowLines: Int32Array;
  skipped: number;
  skippedExamples: LocalProblem[];
  /** With skip = false: the first bad line; rows before it are complete, nothing after it is parsed. */
  error?: LocalProblem;
}

export interface CriteoChunk extends ChunkResultBase {
  kind: 'criteo';
  labels: Uint8Array;
  /** [rows * 13], NaN = missing. */
  ints: Float64Array;
  cats: PackedChunkTokens;
}

export interface CsvChunk extends ChunkResultBase {
  kind: 'csv';
  values: ChunkTokens;
  /** A record whose quoted field was still open at the end of the chunk. */
  open?: { text: string; line: number };
}

export interface SvmlightChunk extends ChunkResultBase {
  kind: 'svmlight';
  labels: Float64Array;
  /** NaN = the line has no qid. */
  qids: Float64Array;
  /** Row r's features are [offsets[r], offsets[r+1]); rows + 1 entries. */
  offsets: Int32Array;
  indices: Int32Array;
  values: Float64Array;
  /** undefined entries = no comment. */
  comments: (string | undefined)[];
}

export type ChunkResult = CriteoChunk | CsvChunk | SvmlightChunk;

/** Reply of a worker: a parsed chunk, or a failure that is not about the data (a bug). */
export type WorkerReply = { ok: true; result: ChunkResult } | { ok: false; id: number; message: string };
