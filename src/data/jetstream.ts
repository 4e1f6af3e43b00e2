/**
 * A NATS JetStream stream read as the lines of a file: each message holds one or more records of
 * the source's line format (a Criteo TSV line, a headerless CSV record, an SVMlight line),
 * newline-separated (a producer batching events, as log shippers do; a trailing newline optional),
 * delivered in stream order by an ordered consumer from a given sequence. The text readers then
 * parse them as they parse a file (ReaderOptions.content), and `sequenceOf(line)` / `lineOf(line)`
 * tell which message a line came from and where in it — what a checkpoint records, so that a
 * resumed run asks for the next sequence, or for the same message when it stopped inside one
 * (`startAfterLines`), and neither loses nor repeats a record (no acknowledgements are involved: the
 * trainer's checkpoint is the one record of progress).
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
  /**
   * Lines of message startSequence that an earlier run consumed (its checkpoint fell inside the
   * message; default 0). The message is delivered whole — a record may span lines (a quoted CSV
   * field) — and the rows of those lines are left to the row reader to drop: see `consumed()`.
   */
  startAfterLines?: number;
  /** End once no message has arrived for this long (undefined: read until closed). */
  idleMs?: number;
  /** Ends the lines (Ctrl-C), also while waiting for a message. */
  signal?: AbortSignal;
}

/** The key of JetStreamLines' count of held messages: for tests of the high-water bound, not a consumer's API. */
export const heldMessages: unique symbol = Symbol('heldMessages');

export interface JetStreamLines {
  /** What messages and errors call the source: `nats:<stream>`. */
  readonly name: string;
  /** The messages as lines, in stream order. */
  readonly content: AsyncIterable<Buffer>;
  /** The stream sequence of content line `line` (1-based); lines before forget()'s are gone. */
  sequenceOf(line: number): number;
  /** Which line of its message content line `line` is (1-based; 1 for a one-record message). */
  lineOf(line: number): number;
  /** How many lines content line `line`'s message has. */
  linesOf(line: number): number;
  /**
   * sequenceOf and lineOf of each of `lines` (increasing, as a batch's rows are) in one pass, and
   * for the last of them the lines of its message that follow it (0: it ends its message).
   */
  places(lines: Uint32Array): { sequences: Float64Array; lines: Uint32Array; openLines: number };
  /**
   * The leading content lines an earlier run consumed: startAfterLines when the first message
   * delivered is startSequence's, else 0 (that message is no longer in the stream: what follows is
   * all new). Resolves once the first message is there, or the lines end.
   */
  consumed(): Promise<number>;
  /** Lines up to `line` will not be asked about again (keeps the map bounded). */
  forget(line: number): void;
  /** Messages received and not yet in content: bounded, the consumer stops pulling above a high-water mark. */
  [heldMessages](): number;
  close(): Promise<void>;
}

const PACKAGES = '@nats-io/transport-node and @nats-io/jetstream';
const MAX_MESSAGES_PER_CHUNK = 4096;
/** Messages per pull request: a pull per ~75 messages (the client's default 100) cost more than receiving them. */
const PULL = 2048;
/**
 * Received messages held for the line reader: above either bound the consumer is stopped (the
 * client would otherwise keep pulling while the trainer is slower than the stream), and reopened at
 * the next sequence once fewer than PULL messages are left. High, because each stop costs the server
 * a new consumer and a resend of the messages pulled but not yet delivered (up to PULL): at 4 × PULL
 * that was +2.5 µs of nats-server CPU per message.
 */
const HIGH_WATER_MESSAGES = 16 * PULL;
const HIGH_WATER_BYTES = 16 << 20;

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
interface Messages {
  stop(): void;
  /** Resolves once the messages end: stopped, or the consumer failed. */
  closed(): Promise<unknown>;
}
interface Connection {
  close(): Promise<void>;
  status(): AsyncIterable<{ type: string }>;
}
interface TransportApi {
  connect(opts: { servers: string[]; maxReconnectAttempts: number; reconnectTimeWait: number }): Promise<Connection>;
}
interface JetStreamApi {
  jetstream(nc: Connection): { consumers: { get(stream: string, opts: Record<string, unknown>): Promise<{ consume(opts: { max_messages: number; callback(m: Msg): void }): Promise<Messages> }> } };
  DeliverPolicy: { All: string; StartSequence: string };
}

/** import() of a name the compiler does not resolve (an optional package). */
const load = (pkg: string): Promise<unknown> => import(pkg);

/**
 * Where lines base.. come from — their message's sequence, their line in it and its line count —
 * appended as lines arrive and dropped as they are forgotten.
 */
class LinePositions {
  private seqs = new Float64Array(1024);
  private within = new Uint32Array(1024);
  private counts = new Uint32Array(1024);
  private start = 0;
  private end = 0;
  /** The line whose entries are at `start`. */
  private base = 1;
  get lines(): number { return this.base + this.end - this.start - 1; }
  /** The `count` lines of message `seq`. */
  push(seq: number, count: number): void {
    if (this.end + count > this.seqs.length) {
      const held = this.end - this.start;
      let size = this.seqs.length;
      while ((held + count) * 2 > size) size *= 2;
      const grow = <T extends Float64Array | Uint32Array>(from: T, to: T): T => {
        to.set(from.subarray(this.start, this.end));
        return to;
      };
      const same = size === this.seqs.length;
      this.seqs = grow(this.seqs, same ? this.seqs : new Float64Array(size));
      this.within = grow(this.within, same ? this.within : new Uint32Array(size));
      this.counts = grow(this.counts, same ? this.counts : new Uint32Array(size));
      this.start = 0;
      this.end = held;
    }
    for (let k = 1; k <= count; k++) {
      this.seqs[this.end] = seq;
      this.within[this.end] = k;
      this.counts[this.end++] = count;
    }
  }
  /** Index of `line`'s entries, or -1 when it is not held. */
  index(line: number): number {
    return line >= this.base && line <= this.lines ? this.start + line - this.base : -1;
  }
  /**
   * The places of `lines` (each held, increasing: a batch's rows): one index check for the batch
   * and a copy per row, not a lookup of each array per row. openLines: the lines of the last row's
   * message after it (0: it is the message's last line).
   */
  places(lines: Uint32Array, name: string): { sequences: Float64Array; lines: Uint32Array; openLines: number } {
    const n = lines.length;
    const sequences = new Float64Array(n);
    const within = new Uint32Array(n);
    if (n === 0) return { sequences, lines: within, openLines: 0 };
    const first = lines[0]!;
    const last = lines[n - 1]!;
    const end = this.index(last);
    if (this.index(first) < 0 || end < 0 || first > last) {
      throw new Error(`${name}: no sequence recorded for lines ${first}..${last} (lines ${this.base}..${this.lines} are known)`);
    }
    const shift = this.start - this.base;
    const { seqs, within: w } = this;
    for (let r = 0; r < n; r++) {
      const i = lines[r]! + shift;
      sequences[r] = seqs[i]!;
      within[r] = w[i]!;
    }
    return { sequences, lines: within, openLines: this.counts[end]! - w[end]! > 0 ? w[end]! : 0 };
  }
  sequence(i: number): number { return this.seqs[i]!; }
  lineIn(i: number): number { return this.within[i]!; }
  count(i: number): number { return this.counts[i]!; }
  forget(line: number): void {
    if (line < this.base) return;
    const n = Math.min(line - this.base + 1, this.end - this.start);
    this.start += n;
    this.base += n;
  }
  get first(): number { return this.base; }
}

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
  // The next sequence to receive: where a consumer that ended (the server went away, or held
  // messages reached the high-water mark) is reopened.
  let nextSeq = opts.startSequence;
  let stopped = false;
  /** Stopped for the high-water mark (not a failure: reopened as soon as the reader catches up). */
  let paused = false;
  let messages: Messages | undefined;
  // Received messages not yet in a chunk, in stream order. The client hands each one to
  // `receive` on its own turn: no promise, iterator step or timer per message.
  const held: Uint8Array[] = [];
  const heldSeqs: number[] = [];
  let heldBytes = 0;
  let wake: (() => void) | undefined;
  const signal = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const receive = (m: Msg): void => {
    const seq = m.seq;
    if (seq < nextSeq) return;
    nextSeq = seq + 1;
    const data = m.data;
    held.push(data);
    heldSeqs.push(seq);
    heldBytes += data.length;
    if (!paused && (held.length >= HIGH_WATER_MESSAGES || heldBytes >= HIGH_WATER_BYTES)) {
      paused = true;
      messages?.stop();
    }
    signal();
  };
  const open = async (): Promise<void> => {
    const consumer = await jsc.consumers.get(opts.stream, {
      ...(nextSeq > 1 ? { deliver_policy: js.DeliverPolicy.StartSequence, opt_start_seq: nextSeq } : { deliver_policy: js.DeliverPolicy.All }),
      ...(opts.subject === undefined ? {} : { filter_subjects: [opts.subject] }),
    });
    const m = await consumer.consume({ max_messages: PULL, callback: receive });
    messages = m;
    // Ended without being stopped here (the server went away, or lost the consumer): reopen.
    void m.closed().then(() => { if (messages === m && !paused) reopen(); }, () => { if (messages === m && !paused) reopen(); });
  };
  let reopening = false;
  /** Opens a new consumer at the next sequence, retrying while the connection reconnects. */
  const reopen = (): void => {
    if (reopening || stopped) return;
    reopening = true;
    void (async () => {
      for (let first = true; !stopped; first = false) {
        if (!first || !paused) await sleep(200);
        if (stopped) break;
        try {
          paused = false;
          await open();
          break;
        } catch {
          // Not reachable yet: try again (the reader gives up once idle).
        }
      }
      reopening = false;
      if (stopped) messages?.stop();
    })();
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
    signal();
  };
  opts.signal?.addEventListener('abort', stop, { once: true });
  // After a reconnect the server may have lost the (ephemeral) consumer: rather than wait for the
  // client to notice missed heartbeats, end it now, and reopen one at the next sequence.
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'reconnect') messages?.stop();
  })().catch(() => { /* the status stream ends with the connection */ });
  const seqs = new LinePositions();
  /**
   * Waits for a message: false when stopped, or after idleMs without one — counted only while
   * waiting here, not while the trainer works.
   */
  async function arrival(): Promise<boolean> {
    const start = Date.now();
    while (held.length === 0 && !stopped) {
      const woken = new Promise<'woken'>((r) => { wake = () => r('woken'); });
      if (opts.idleMs === undefined) {
        await woken;
        continue;
      }
      const left = opts.idleMs - (Date.now() - start);
      if (left <= 0) return false;
      // The idle timer is cleared, so that it does not hold the process open (a plain timer: an
      // aborted one's AbortError cost more than the messages of a short wait).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([woken, new Promise<void>((r) => { timer = setTimeout(r, left); })]);
      clearTimeout(timer);
    }
    return !stopped;
  }
  /** The held messages (up to a chunk's worth) as one chunk of lines, copied once; their lines' sequences recorded. */
  const take = (): Buffer => {
    const datas = held.splice(0, MAX_MESSAGES_PER_CHUNK);
    const dataSeqs = heldSeqs.splice(0, MAX_MESSAGES_PER_CHUNK);
    const n = datas.length;
    let bytes = 0;
    for (const d of datas) bytes += d.length + 1;
    heldBytes -= bytes - n;
    const chunk = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (let k = 0; k < n; k++) {
      const data = datas[k]!;
      const seq = dataSeqs[k]!;
      // Without its trailing newline: a message of n records is n lines, with or without it. An empty
      // message, like an empty line inside one, is an empty line: a malformed record, as in a file.
      const len = data.length > 0 && data[data.length - 1] === 10 ? data.length - 1 : data.length;
      chunk.set(len === data.length ? data : data.subarray(0, len), at);
      at += len;
      chunk[at++] = 10;
      let count = 1;
      for (let i = data.indexOf(10); i !== -1 && i < len; i = data.indexOf(10, i + 1)) count++;
      seqs.push(seq, count);
    }
    if (paused && held.length < PULL) reopen();
    return at === bytes ? chunk : chunk.subarray(0, at);
  };
  async function* content(): AsyncGenerator<Buffer> {
    for (;;) {
      if (held.length === 0 && !await arrival()) return;
      if (stopped) return;
      yield take();
    }
  }
  const entry = (line: number): number => {
    const i = seqs.index(line);
    if (i < 0) throw new Error(`${name}: no sequence recorded for line ${line} (lines ${seqs.first}..${seqs.lines} are known)`);
    return i;
  };
  const skip = opts.startAfterLines ?? 0;
  return {
    name,
    content: { [Symbol.asyncIterator]: content },
    sequenceOf: (line) => seqs.sequence(entry(line)),
    lineOf: (line) => seqs.lineIn(entry(line)),
    linesOf: (line) => seqs.count(entry(line)),
    places: (lines) => seqs.places(lines, name),
    async consumed() {
      if (skip === 0 || (held.length === 0 && !await arrival())) return 0;
      return heldSeqs[0] === opts.startSequence ? skip : 0;
    },
    forget(line) {
      seqs.forget(line);
    },
    [heldMessages]: () => held.length,
    async close() {
      stop();
      await nc.close();
    },
  };
}
