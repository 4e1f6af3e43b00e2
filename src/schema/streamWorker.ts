/**
 * The read-ahead worker of a row stream (src/schema/streamAhead.ts): runs openRowStream on its own
 * thread and posts the batches in stream order, at most `ahead` of them not yet taken.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DataFormatError } from '../data/readers/errors.js';
import type { ReaderStats } from '../data/readers/reader.js';
import { ConfigError } from './errors.js';
import { FittedSchema } from './fitted.js';
import { openRowStream } from './stream.js';
import type { AheadMessage, AheadSpec, ErrorRecord } from './streamAheadProtocol.js';

const port = parentPort!;
const job = workerData as AheadSpec;
let credits = job.ahead;
let wake: (() => void) | undefined;
// The training thread gives a credit back for each batch it takes.
port.on('message', () => {
  credits++;
  wake?.();
  wake = undefined;
});

function record(err: unknown): ErrorRecord {
  if (err instanceof DataFormatError) return { kind: 'data', file: err.file, line: err.line, field: err.field, detail: err.detail };
  if (err instanceof ConfigError) return { kind: 'config', problems: [...err.problems] };
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  return { kind: 'other', name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) };
}

const post = (m: AheadMessage): void => port.postMessage(m);
let stats: ReaderStats | undefined;
try {
  const rows = await openRowStream(new FittedSchema(job.spec), job.source, job.path, job.baseDir, job.options);
  stats = rows.stats;
  post({ kind: 'open', stats });
  for await (const batch of rows) {
    while (credits === 0) await new Promise<void>((r) => { wake = r; });
    credits--;
    post({ kind: 'batch', batch, stats });
  }
  post({ kind: 'end', stats });
} catch (err) {
  post({ kind: 'error', error: record(err), stats });
}
port.close();
