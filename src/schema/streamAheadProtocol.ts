/**
 * What the training thread and the read-ahead worker of a row stream exchange
 * (src/schema/streamAhead.ts). Plain data only: it crosses the thread boundary by structured clone.
 */
import type { JetStreamSourceOptions } from '../data/jetstream.js';
import { DataFormatError } from '../data/readers/errors.js';
import type { ReaderStats } from '../data/readers/reader.js';
import { ConfigError } from './errors.js';
import type { SourceConfig } from './config.js';
import type { SchemaSpec } from './spec.js';
import type { StreamBatch, StreamOptions } from './stream.js';

/** A JetStream source as the worker opens it: its abort comes as a 'stop' message. */
export type AheadJetStream = Omit<JetStreamSourceOptions, 'signal'>;

/** The worker's input: what openRowStream is called with, the schema as its spec. */
export interface AheadSpec {
  spec: SchemaSpec;
  source: SourceConfig;
  path: string;
  baseDir: string;
  options: Omit<StreamOptions, 'content' | 'vocabularies' | 'jetstream'> & { jetstream?: AheadJetStream };
  /** Batches the worker may have encoded and not yet handed over. */
  ahead: number;
}

/** An error as plain data (it crosses between the threads). */
export type ErrorRecord =
  | { kind: 'data'; file: string; line: number | undefined; field: string | undefined; detail: string }
  | { kind: 'config'; problems: string[] }
  | { kind: 'other'; name: string; message: string; code?: string };

/** Worker → training thread. */
export type AheadMessage =
  | { kind: 'open'; stats: ReaderStats }
  | { kind: 'batch'; batch: StreamBatch; stats: ReaderStats }
  | { kind: 'end'; stats: ReaderStats }
  | { kind: 'error'; error: ErrorRecord; stats: ReaderStats | undefined };

/** Training thread → worker: `batches` taken (as many credits back), or the JetStream source's abort (its signal fired). */
export type AheadReply = { kind: 'take'; batches: number } | { kind: 'stop' };

/**
 * The credits the training thread owes the worker for the batches it took, handed back `every` at a
 * time: each 'take' wakes the idle worker, a thread wake-up that costs the training thread more than
 * the message itself, so fewer of them leave it more of its core. A thread about to wait for a batch
 * hands back what it holds (else both would wait: the worker's credits + the batches on their way +
 * the credits held = the read-ahead depth).
 */
export class CreditReturn {
  private held = 0;

  constructor(private readonly every: number, private readonly send: (batches: number) => void) {}

  /** A batch taken: its credit is held, the credits handed back once `every` are held. */
  took(): void {
    if (++this.held >= this.every) this.flush();
  }

  /** Hands back every credit held (before waiting for a batch). */
  flush(): void {
    if (this.held === 0) return;
    this.send(this.held);
    this.held = 0;
  }
}

/** An error as the worker caught it, so that the training thread throws the same one. */
export function errorRecord(err: unknown): ErrorRecord {
  if (err instanceof DataFormatError) return { kind: 'data', file: err.file, line: err.line, field: err.field, detail: err.detail };
  if (err instanceof ConfigError) return { kind: 'config', problems: [...err.problems] };
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  return { kind: 'other', name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) };
}

/** The error a record stands for: same class, message, location and code. */
export function revive(e: ErrorRecord): Error {
  if (e.kind === 'data') return new DataFormatError(e.file, e.line, e.field, e.detail);
  if (e.kind === 'config') return new ConfigError(e.problems);
  const err = new Error(e.message);
  err.name = e.name;
  if (e.code !== undefined) (err as { code?: string }).code = e.code;
  return err;
}
