/**
 * A NATS JetStream stream read as the lines of a file: each message is one record of the source's
 * line format (a Criteo TSV line, a headerless CSV record, an SVMlight line), delivered in stream
 * order by an ordered consumer from a given sequence. The text readers then parse it as they parse
 * a file (ReaderOptions.content), and `sequenceOf(line)` tells which message a line came from —
 * what a checkpoint records, so that a resumed run asks for the next sequence and neither loses nor
 * repeats a message (no acknowledgements are involved: the trainer's checkpoint is the one record
 * of progress).
 *
 * @nats-io/transport-node and @nats-io/jetstream are optional dependencies, loaded on first use.
 * The connection reconnects without limit when the server goes away; the ordered consumer resumes
 * after the last message it delivered.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DataFormatError } from './readers/errors.js';

export interface JetStreamSourceOptions {
  /** Server URLs (nats://host:port or host:port). */
  servers: readonly string[];
  stream: string;
  /** Only messages on this subject (wildcards allowed); default: all of the stream's. */
  subject?: string;
  /** The first sequence to deliver (1: the stream's start). */
  startSequence: number;
  /** End once no message has arrived for this long (undefined: read until closed). */
  idleMs?: number;
  /** Ends the lines (Ctrl-C), also while waiting for a message. */
  signal?: AbortSignal;
}

export interface JetStreamLines {
  /** What messages and errors call the source: `nats:<stream>`. */
  readonly name: string;
  /** The messages as lines, in stream order. */
  readonly content: AsyncIterable<Buffer>;
  /** The stream sequence of content line `line` (1-based); lines before forget()'s are gone. */
  sequenceOf(line: number): number;
  /** Lines up to `line` will not be asked about again (keeps the map bounded). */
  forget(line: number): void;
  close(): Promise<void>;
}

const PACKAGES = '@nats-io/transport-node and @nats-io/jetstream';

/** A JetStream source where the client packages are missing, the server cannot be reached or the stream does not exist: a user error. */
function unavailable(name: string, what: string, cause: unknown): DataFormatError {
  const msg = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0];
  const code = (cause as { code?: unknown } | null)?.code;
  const e = new DataFormatError(name, undefined, undefined, code === 'ERR_MODULE_NOT_FOUND'
    ? `reading a JetStream stream needs the optional packages ${PACKAGES}: \`npm install ${PACKAGES.replace(' and ', ' ')}\``
    : `${what} (${msg})`);
  (e as { cause?: unknown }).cause = cause;
  return e;
}

export async function openJetStreamLines(opts: JetStreamSourceOptions): Promise<JetStreamLines> {
  const name = `nats:${opts.stream}`;
  let transport: typeof import('@nats-io/transport-node');
  let js: typeof import('@nats-io/jetstream');
  try {
    [transport, js] = await Promise.all([import('@nats-io/transport-node'), import('@nats-io/jetstream')]);
  } catch (err) {
    throw unavailable(name, 'the NATS client did not load', err);
  }
  let nc: Awaited<ReturnType<typeof transport.connect>>;
  try {
    nc = await transport.connect({ servers: [...opts.servers], maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  } catch (err) {
    throw unavailable(name, `cannot connect to the NATS server at ${opts.servers.join(', ')}`, err);
  }
  let messages: Awaited<ReturnType<Awaited<ReturnType<ReturnType<typeof js.jetstream>['consumers']['get']>>['consume']>>;
  try {
    const consumer = await js.jetstream(nc).consumers.get(opts.stream, {
      ...(opts.startSequence > 1 ? { deliver_policy: js.DeliverPolicy.StartSequence, opt_start_seq: opts.startSequence } : { deliver_policy: js.DeliverPolicy.All }),
      ...(opts.subject === undefined ? {} : { filter_subjects: [opts.subject] }),
    });
    messages = await consumer.consume();
    opts.signal?.addEventListener('abort', () => messages.stop(), { once: true });
  } catch (err) {
    await nc.close();
    throw unavailable(name, `cannot read stream ${opts.stream}`, err);
  }
  // Sequences of the lines not yet forgotten: seqs[k] is the sequence of line base + k.
  let seqs: number[] = [];
  let base = 1;
  let lines = 0;
  async function* content(): AsyncGenerator<Buffer> {
    const it = messages[Symbol.asyncIterator]();
    for (;;) {
      let r: IteratorResult<{ seq: number; data: Uint8Array }>;
      if (opts.idleMs === undefined) {
        r = await it.next();
      } else {
        const timer = new AbortController();
        const idle = sleep(opts.idleMs, 'idle' as const, { signal: timer.signal }).catch(() => 'cancelled' as const);
        const next = await Promise.race([it.next(), idle]);
        timer.abort();
        if (next === 'idle' || next === 'cancelled') return;
        r = next;
      }
      if (r.done === true) return;
      const m = r.value;
      let data = Buffer.from(m.data);
      if (data.length > 0 && data[data.length - 1] === 10) data = data.subarray(0, data.length - 1);
      // A message holding a newline is several lines, all from this message (and then malformed records, named by it).
      let n = 1;
      for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) n++;
      for (let k = 0; k < n; k++) seqs.push(m.seq);
      lines += n;
      yield Buffer.concat([data, Buffer.from('\n')]);
    }
  }
  return {
    name,
    content: { [Symbol.asyncIterator]: content },
    sequenceOf(line) {
      const s = seqs[line - base];
      if (s === undefined) throw new Error(`${name}: no sequence recorded for line ${line} (lines ${base}..${lines} are known)`);
      return s;
    },
    forget(line) {
      if (line < base) return;
      seqs = seqs.slice(line - base + 1);
      base = line + 1;
    },
    async close() {
      messages.stop();
      await nc.close();
    },
  };
}
