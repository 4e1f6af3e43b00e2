/**
 * A row stream read ahead on a worker thread: the worker reads, parses and encodes the next batches
 * (src/schema/streamWorker.ts) while the calling thread trains on the current one, so that on a
 * machine with a core to spare the per-line work is hidden behind the training step. The batches,
 * their order, the errors (file, line, field) and the reader's counters are those of openRowStream
 * on the calling thread, which it runs itself: the encoding is the same code, only on another thread.
 *
 * Read ahead only where no state is shared with the training thread: a file read by path, with
 * hashed fields. Growing vocabularies (admissions reset embedding rows between batches), standard
 * input and message streams (their content arrives on the calling thread) are read in-thread.
 */
import { Worker } from 'node:worker_threads';
import { DataFormatError } from '../data/readers/errors.js';
import { newStats } from '../data/readers/reader.js';
import { STDIN } from '../data/readers/textFile.js';
import type { SourceConfig } from './config.js';
import { ConfigError } from './errors.js';
import type { FittedSchema } from './fitted.js';
import { openRowStream, type RowStream, type StreamBatch, type StreamOptions } from './stream.js';
import type { AheadMessage, AheadSpec, ErrorRecord } from './streamAheadProtocol.js';

/** Batches encoded ahead of the one being trained on: enough to cover a slow batch, few enough to keep memory flat. */
const AHEAD = 2;

function revive(e: ErrorRecord): Error {
  if (e.kind === 'data') return new DataFormatError(e.file, e.line, e.field, e.detail);
  if (e.kind === 'config') return new ConfigError(e.problems);
  const err = new Error(e.message);
  err.name = e.name;
  if (e.code !== undefined) (err as { code?: string }).code = e.code;
  return err;
}

/** Whether `openRowStreamAhead` reads these on a worker (else it reads them in-thread). */
export function canReadAhead(path: string, options: StreamOptions): boolean {
  return path !== STDIN && options.content === undefined && options.vocabularies === undefined;
}

/** openRowStream, read ahead on a worker thread where canReadAhead says so. */
export async function openRowStreamAhead(fitted: FittedSchema, source: SourceConfig, path: string, baseDir: string,
  options: StreamOptions): Promise<RowStream> {
  if (!canReadAhead(path, options)) return openRowStream(fitted, source, path, baseDir, options);
  const job: AheadSpec = { spec: fitted.spec, source, path, baseDir, options, ahead: AHEAD };
  const worker = new Worker(new URL('./streamWorker.js', import.meta.url), { workerData: job });
  const queue: AheadMessage[] = [];
  let waiting: (() => void) | undefined;
  let done = false;
  const arrive = (m: AheadMessage): void => {
    queue.push(m);
    waiting?.();
    waiting = undefined;
  };
  worker.on('message', arrive);
  worker.on('error', (err) => arrive({ kind: 'error', error: { kind: 'other', name: err.name, message: `stream reader thread failed: ${err.message}` }, stats: undefined }));
  worker.on('exit', (code) => {
    // A normal exit follows the worker's last message (end or error).
    if (!done && code !== 0) arrive({ kind: 'error', error: { kind: 'other', name: 'Error', message: `stream reader thread exited with code ${code}` }, stats: undefined });
  });
  const next = async (): Promise<AheadMessage> => {
    while (queue.length === 0) await new Promise<void>((r) => { waiting = r; });
    const m = queue.shift()!;
    if (m.kind === 'end' || m.kind === 'error') done = true;
    return m;
  };
  const stats = newStats(path);
  const opened = await next();
  if (opened.stats) Object.assign(stats, opened.stats);
  if (opened.kind === 'error') {
    await worker.terminate();
    throw revive(opened.error);
  }
  async function* batches(): AsyncGenerator<StreamBatch> {
    try {
      for (;;) {
        const m = await next();
        if (m.stats) Object.assign(stats, m.stats);
        if (m.kind === 'end') return;
        if (m.kind === 'error') throw revive(m.error);
        if (m.kind === 'batch') {
          worker.postMessage('take');
          yield m.batch;
        }
      }
    } finally {
      done = true;
      await worker.terminate();
    }
  }
  return { stats, [Symbol.asyncIterator]: batches };
}
