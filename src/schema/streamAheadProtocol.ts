/**
 * What the training thread and the read-ahead worker of a row stream exchange
 * (src/schema/streamAhead.ts). Plain data only: it crosses the thread boundary by structured clone.
 */
import type { ReaderStats } from '../data/readers/reader.js';
import type { SourceConfig } from './config.js';
import type { SchemaSpec } from './spec.js';
import type { StreamBatch, StreamOptions } from './stream.js';

/** The worker's input: what openRowStream is called with, the schema as its spec. */
export interface AheadSpec {
  spec: SchemaSpec;
  source: SourceConfig;
  path: string;
  baseDir: string;
  options: Omit<StreamOptions, 'content' | 'vocabularies'>;
  /** Batches the worker may have encoded and not yet handed over. */
  ahead: number;
}

/** An error as the worker caught it, so that the training thread throws the same one. */
export type ErrorRecord =
  | { kind: 'data'; file: string; line: number | undefined; field: string | undefined; detail: string }
  | { kind: 'config'; problems: string[] }
  | { kind: 'other'; name: string; message: string; code?: string };

export type AheadMessage =
  | { kind: 'open'; stats: ReaderStats }
  | { kind: 'batch'; batch: StreamBatch; stats: ReaderStats }
  | { kind: 'end'; stats: ReaderStats }
  | { kind: 'error'; error: ErrorRecord; stats: ReaderStats | undefined };
