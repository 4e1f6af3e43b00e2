/**
 * A row stream read ahead on a worker thread: the worker reads, parses and encodes the next batches
 * (src/schema/streamWorker.ts) while the calling thread trains on the current one, so that on a
 * machine with a core to spare the per-line work is hidden behind the training step. The batches,
 * their order, the errors (file, line, field) and the reader's counters are those of openRowStream
 * on the calling thread, which it runs itself: the encoding is the same code, only on another thread.
 *
 * A file is read by the worker, and so is a JetStream stream (options.jetstream): the worker opens
 * its own connection and consumer, so that the NATS client's decoding of each message is off the
 * training thread too, and the batches come with their messages' sequences. Its abort signal cannot
 * cross threads: an abort is passed on as a message. Read in-thread: bytes that arrive on the
 * calling thread (options.content; standard input — a read left pending on it when the run stops
 * would keep the process waiting for the pipe), and growing vocabularies (state the training thread
 * shares: admissions reset embedding rows between batches).
 */
import { Worker } from 'node:worker_threads';
import { newStats } from '../data/readers/reader.js';
import { STDIN } from '../data/readers/textFile.js';
import type { SourceConfig } from './config.js';
import type { FittedSchema } from './fitted.js';
import { openRowStream, type RowStream, type StreamBatch, type StreamOptions } from './stream.js';
import { CreditReturn, revive, type AheadJetStream, type AheadMessage, type AheadReply, type AheadSpec } from './streamAheadProtocol.js';

/**
 * Batches encoded ahead of the one being trained on: about 4096 rows (2 to 32 batches), enough to
 * cover a slow batch, few enough to keep memory flat. Half of them are handed back at a time
 * (CreditReturn): each hand-back wakes the idle worker, a context switch that the training thread
 * pays on a busy machine, so small batches share one.
 */
export function readAheadDepth(batchSize: number): { ahead: number; returnEvery: number } {
  const returnEvery = Math.min(16, Math.max(1, Math.ceil(2048 / batchSize)));
  return { ahead: 2 * returnEvery, returnEvery };
}

/** train.online.readAhead: on, off, or chosen by the cores the process may use. */
export type ReadAheadSetting = boolean | 'auto';

/** What a stream reads: a file (or standard input), or a JetStream stream's messages. */
export type ReadAheadSource = 'file' | 'jetstream';

/**
 * The fewest cores (os.availableParallelism(), which counts the process's CPU affinity) at which
 * 'auto' reads ahead, by what the worker takes off the training thread (docs/benchmarks.md, 2 vCPUs,
 * the DNN of `npm run bench -- online --vs-epoch`):
 * - a file: parse and encode, 1–2 µs a row, about what handing the batches over and waking the
 *   worker cost the training thread; only with a core for the worker and one for the rest (the OS,
 *   other processes) is it a gain, so 3;
 * - JetStream: the NATS client's decoding of every message too (the training thread's CPU a row
 *   1.2–1.4× the epoch's in-thread, ~1.0–1.1× read ahead), which a second core absorbs beside the
 *   server: read ahead was faster on 2 cores in every paired round at 64 records a message, and
 *   as fast at 1, so 2. One core has none to spare: the worker's hand-overs are pure cost there
 *   (pinned to one core of a loaded machine, neither mode won consistently).
 */
export const READ_AHEAD_MIN_CORES: Readonly<Record<ReadAheadSource, number>> = { file: 3, jetstream: 2 };

/** Whether a run reads ahead on a worker: `setting`, or for 'auto' whether `cores` spare the worker one for `source`. */
export function resolveReadAhead(setting: ReadAheadSetting, source: ReadAheadSource, cores: number): boolean {
  return setting === 'auto' ? cores >= READ_AHEAD_MIN_CORES[source] : setting;
}

/** Whether `openRowStreamAhead` reads with a worker (else in-thread). */
export function canReadAhead(path: string, options: StreamOptions): boolean {
  return path !== STDIN && options.content === undefined && options.vocabularies === undefined;
}

/** openRowStream, read ahead on a worker thread where canReadAhead says so. */
export async function openRowStreamAhead(fitted: FittedSchema, source: SourceConfig, path: string, baseDir: string,
  options: StreamOptions): Promise<RowStream> {
  if (!canReadAhead(path, options)) return openRowStream(fitted, source, path, baseDir, options);
  const { content: _c, vocabularies: _v, jetstream, ...plain } = options;
  let signal: AbortSignal | undefined;
  let messages: AheadJetStream | undefined;
  if (jetstream !== undefined) ({ signal, ...messages } = jetstream);
  const { ahead, returnEvery } = readAheadDepth(plain.batchSize);
  const job: AheadSpec = { spec: fitted.spec, source, path, baseDir, options: { ...plain, ...(messages && { jetstream: messages }) }, ahead };
  const worker = new Worker(new URL('./streamWorker.js', import.meta.url), { workerData: job });
  // The worker holds the process open only while a batch is awaited: a run that fails between
  // opening the stream and reading it (or stops reading it) still exits.
  worker.unref();
  const reply = (m: AheadReply): void => worker.postMessage(m);
  const stop = (): void => reply({ kind: 'stop' });
  if (signal?.aborted === true) stop();
  else signal?.addEventListener('abort', stop, { once: true });
  const credits = new CreditReturn(returnEvery, (batches) => reply({ kind: 'take', batches }));
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
    if (queue.length === 0) {
      credits.flush();
      worker.ref();
      while (queue.length === 0) await new Promise<void>((r) => { waiting = r; });
      worker.unref();
    }
    const m = queue.shift()!;
    if (m.kind !== 'batch') done = true;
    return m;
  };
  const stats = newStats(path);
  const close = async (): Promise<void> => {
    done = true;
    signal?.removeEventListener('abort', stop);
    await worker.terminate();
  };
  const opened = await next();
  if (opened.stats) Object.assign(stats, opened.stats);
  if (opened.kind === 'error') {
    await close();
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
          credits.took();
          yield m.batch;
        }
      }
    } finally {
      await close();
    }
  }
  return { stats, [Symbol.asyncIterator]: batches };
}
