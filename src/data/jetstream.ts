/**
 * A NATS JetStream stream read as the lines of a file: each message is one record of the source's
 * line format (a Criteo TSV line, a headerless CSV record, an SVMlight line), delivered in stream
 * order by an ordered consumer from a given sequence. The text readers then parse it as they parse
 * a file (ReaderOptions.content), and `sequenceOf(line)` tells which message a line came from —
 * what a checkpoint records, so that a resumed run asks for the next sequence and neither loses nor
 * repeats a message (no acknowledgements are involved: the trainer's checkpoint is the one record
 * of progress).
 *
 * @nats-io/transport-node and @nats-io/jetstream are loaded on first use (development dependencies of ctrkit: see README on why not optional ones).
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

/** Resolves after the event loop's current turn: what a message already received resolves before. */
const nextTurn = (): Promise<'timeout'> => new Promise((r) => setImmediate(r, 'timeout'));

const PACKAGES = '@nats-io/transport-node and @nats-io/jetstream';
const MAX_MESSAGES_PER_CHUNK = 4096;

/** A JetStream source where the client packages are missing, the server cannot be reached or the stream does not exist: a user error. */
function unavailable(name: string, what: string, cause: unknown): DataFormatError {
  const msg = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0];
  const code = (cause as { code?: unknown } | null)?.code;
  const e = new DataFormatError(name, undefined, undefined, code === 'ERR_MODULE_NOT_FOUND'
    ? `reading a JetStream stream needs the packages ${PACKAGES}: \`npm install ${PACKAGES.replace(' and ', ' ')}\``
    : `${what} (${msg})`);
  (e as { cause?: unknown }).cause = cause;
  return e;
}

/*
 * The few client calls used, typed here rather than imported: the packages are optional, and
 * ctrkit builds and runs (every other source) without them.
 */
interface Msg { seq: number; data: Uint8Array }
interface Messages extends AsyncIterable<Msg> {
  stop(): void;
  /** Messages the client holds that the iterator has not yet yielded. */
  getPending(): number;
}
interface Connection {
  close(): Promise<void>;
  status(): AsyncIterable<{ type: string }>;
}
interface TransportApi {
  connect(opts: { servers: string[]; maxReconnectAttempts: number; reconnectTimeWait: number }): Promise<Connection>;
}
interface JetStreamApi {
  jetstream(nc: Connection): { consumers: { get(stream: string, opts: Record<string, unknown>): Promise<{ consume(opts?: { max_messages?: number }): Promise<Messages> }> } };
  DeliverPolicy: { All: string; StartSequence: string };
}

/** import() of a name the compiler does not resolve (an optional package). */
const load = (pkg: string): Promise<unknown> => import(pkg);

export async function openJetStreamLines(opts: JetStreamSourceOptions): Promise<JetStreamLines> {
  const name = `nats:${opts.stream}`;
  let transport: TransportApi;
  let js: JetStreamApi;
  try {
    [transport, js] = await Promise.all([load('@nats-io/transport-node') as Promise<TransportApi>, load('@nats-io/jetstream') as Promise<JetStreamApi>]);
  } catch (err) {
    throw unavailable(name, 'the NATS client did not load', err);
  }
  let nc: Connection;
  try {
    nc = await transport.connect({ servers: [...opts.servers], maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  } catch (err) {
    throw unavailable(name, `cannot connect to the NATS server at ${opts.servers.join(', ')}`, err);
  }
  const jsc = js.jetstream(nc);
  // The next sequence to deliver: where a consumer that ended (the server went away) is reopened.
  let nextSeq = opts.startSequence;
  let stopped = false;
  let messages: Messages | undefined;
  const open = async (): Promise<Messages> => {
    const consumer = await jsc.consumers.get(opts.stream, {
      ...(nextSeq > 1 ? { deliver_policy: js.DeliverPolicy.StartSequence, opt_start_seq: nextSeq } : { deliver_policy: js.DeliverPolicy.All }),
      ...(opts.subject === undefined ? {} : { filter_subjects: [opts.subject] }),
    });
    // Pulls of 2048 rather than the client's 100: a pull request per ~75 messages cost the
    // training thread more than receiving them (a few MB held at most, for records of a few hundred bytes).
    messages = await consumer.consume({ max_messages: 2048 });
    return messages;
  };
  try {
    await open();
  } catch (err) {
    await nc.close();
    throw unavailable(name, `cannot read stream ${opts.stream}`, err);
  }
  const stop = (): void => {
    stopped = true;
    messages?.stop();
  };
  opts.signal?.addEventListener('abort', stop, { once: true });
  // After a reconnect the server may have lost the (ephemeral) consumer: rather than wait for the
  // client to notice missed heartbeats, end it now; nextMessage() reopens one at the next sequence.
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'reconnect') messages?.stop();
  })().catch(() => { /* the status stream ends with the connection */ });
  // Sequences of the lines not yet forgotten: seqs[k] is the sequence of line base + k.
  let seqs: number[] = [];
  let base = 1;
  let lines = 0;
  let it: AsyncIterator<Msg> = messages![Symbol.asyncIterator]();
  // The iterator's next() in flight (kept across calls: a probe that found nothing buffered leaves it).
  let pending: Promise<IteratorResult<Msg> | 'failed'> | undefined;
  let reopen = false;
  /**
   * The next message. `wait`: until one arrives (undefined when stopped, or after idleMs without
   * one — counted only while waiting here, not while the trainer works); else only a message the
   * client already holds ('none' when there is none).
   */
  async function nextMessage(wait: boolean, turn?: Promise<'timeout'>): Promise<Msg | undefined | 'none'> {
    const start = Date.now();
    for (;;) {
      if (stopped) return undefined;
      if (reopen) {
        if (!wait) return 'none';
        // The consumer ended without being stopped (the server went away, or lost it): open a new
        // one at the next sequence, retrying while the connection reconnects.
        await sleep(200);
        try {
          it = (await open())[Symbol.asyncIterator]();
          reopen = false;
        } catch {
          // Not reachable yet: try again (and give up once idle).
        }
        if (opts.idleMs !== undefined && Date.now() - start >= opts.idleMs) return undefined;
        continue;
      }
      // Without waiting, only a message the client already holds. Its count can be high (a status
      // callback it holds counts until its batch ends), so next() is raced with the end of the
      // event loop's turn — one turn per chunk, not a timer per message: held messages resolve
      // in microtasks, before that turn ends.
      if (!wait && pending === undefined && messages!.getPending() === 0) return 'none';
      pending ??= it.next().catch(() => 'failed' as const);
      const left = opts.idleMs === undefined ? undefined : Math.max(0, opts.idleMs - (Date.now() - start));
      // The idle timer is cancelled, so that it does not hold the process open.
      const timer = wait && left !== undefined ? new AbortController() : undefined;
      const r = !wait ? await Promise.race([pending, turn!])
        : timer === undefined ? await pending
        : await Promise.race([pending, sleep(left, 'timeout' as const, { signal: timer.signal }).catch(() => 'timeout' as const)]);
      timer?.abort();
      if (r === 'timeout') return wait ? undefined : 'none';
      pending = undefined;
      if (r === 'failed' || r.done === true) {
        if (stopped) return undefined;
        reopen = true;
        continue;
      }
      if (r.value.seq < nextSeq) continue;
      return r.value;
    }
  }
  /** Records a message's sequence per line; returns its bytes without a trailing newline. */
  const record = (m: Msg): Uint8Array => {
    nextSeq = m.seq + 1;
    let data = m.data;
    if (data.length > 0 && data[data.length - 1] === 10) data = data.subarray(0, data.length - 1);
    // A message holding a newline is several lines, all from this message (and then malformed records, named by it).
    seqs.push(m.seq);
    lines++;
    for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) { seqs.push(m.seq); lines++; }
    return data;
  };
  async function* content(): AsyncGenerator<Buffer> {
    for (;;) {
      const first = await nextMessage(true);
      if (first === undefined || first === 'none') return;
      // What the client already holds goes out in the same chunk: one pass of the line reader for
      // many messages, copied once into it.
      const parts = [record(first)];
      let bytes = parts[0].length + 1;
      let ended = false;
      const turn = nextTurn();
      while (parts.length < MAX_MESSAGES_PER_CHUNK) {
        const m = await nextMessage(false, turn);
        if (m === 'none') break;
        if (m === undefined) { ended = true; break; }
        const data = record(m);
        parts.push(data);
        bytes += data.length + 1;
      }
      const chunk = Buffer.allocUnsafe(bytes);
      let at = 0;
      for (const data of parts) {
        chunk.set(data, at);
        at += data.length;
        chunk[at++] = 10;
      }
      yield chunk;
      if (ended) return;
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
      stop();
      await nc.close();
    },
  };
}
