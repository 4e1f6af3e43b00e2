/**
 * The read-ahead worker of a row stream (src/schema/streamAhead.ts): runs openRowStream on its own
 * thread and posts the batches in stream order, at most `ahead` of them not yet taken. A JetStream
 * source is received here, on this thread's own connection; a 'stop' from the training thread ends
 * its messages as its abort signal does in-thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ReaderStats } from '../data/readers/reader.js';
import { FittedSchema } from './fitted.js';
import { openRowStream, type StreamBatch } from './stream.js';
import { errorRecord, type AheadMessage, type AheadReply, type AheadSpec } from './streamAheadProtocol.js';

const port = parentPort!;
const job = workerData as AheadSpec;
const post = (m: AheadMessage): void => port.postMessage(m);
let credits = job.ahead;
let wakeCredit: (() => void) | undefined;
const stop = new AbortController();
port.on('message', (m: AheadReply) => {
  if (m.kind === 'stop') {
    stop.abort();
    return;
  }
  credits += m.batches;
  wakeCredit?.();
  wakeCredit = undefined;
});

/**
 * The buffers of a batch, moved to the training thread rather than copied: the stream makes new
 * arrays for every batch (src/schema/streamBytes.ts, src/schema/store.ts), so none is used here again.
 */
function batchBuffers(b: StreamBatch): ArrayBuffer[] {
  const ds = b.dataset;
  const views: (ArrayBufferView | undefined)[] = [ds.ids, ...ds.labels, ds.weights, ds.dense, ds.groupOffsets, b.lines, b.messageSequences, b.messageLines,
    ...(ds.sequences ?? []).flatMap((q) => [q.offsets, q.ids])];
  const out = new Set<ArrayBuffer>();
  for (const v of views) if (v !== undefined && v.buffer instanceof ArrayBuffer) out.add(v.buffer);
  return [...out];
}

let stats: ReaderStats | undefined;
try {
  const { jetstream, ...options } = job.options;
  const rows = await openRowStream(new FittedSchema(job.spec), job.source, job.path, job.baseDir,
    { ...options, ...(jetstream && { jetstream: { ...jetstream, signal: stop.signal } }) });
  stats = rows.stats;
  post({ kind: 'open', stats });
  for await (const batch of rows) {
    while (credits === 0) await new Promise<void>((r) => { wakeCredit = r; });
    credits--;
    port.postMessage({ kind: 'batch', batch, stats } satisfies AheadMessage, batchBuffers(batch));
  }
  post({ kind: 'end', stats });
} catch (err) {
  post({ kind: 'error', error: errorRecord(err), stats });
}
port.close();
