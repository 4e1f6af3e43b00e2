/**
 * Coalesces concurrent requests for one model snapshot into batches (predict's here, rank's in
 * rank.ts): a batch is sealed when it holds maxBatchRows rows or maxWaitMs after its first
 * request (idleWaitMs where that request found nothing else waiting or being scored). A predict
 * batch is scored on the scoring thread (scoringThread.ts) while the event loop reads the next
 * requests (a sequential client's request of at most loopRows rows on the event loop, with the
 * weights the thread shares with it), or, on the event loop, in chunks of chunkRows with a turn of
 * the loop between chunks, so a large batch does not stall other requests (and health checks) for
 * long.
 * Batches are scored in arrival order, one at a time on the event loop and up to threadInFlight
 * at once on the scoring thread (the next one waits in its queue); batches sealed while those are
 * being scored are joined (up to maxBatchRows) when their turn comes. A request is never split
 * across batches, so it is scored by one model throughout.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Dataset } from '../data/dataset.js';
import { concatColumns, type FittedSchema, type StoredColumns } from '../schema/index.js';
import type { ModelSnapshot } from './snapshot.js';
import type { JobScorer } from './scoringThread.js';

export interface BatchOptions {
  /** Longest a request waits for others to join its batch while other requests are waiting or being scored (0: until the current I/O events are read). */
  maxWaitMs: number;
  /**
   * The same for a request that finds nothing else waiting or being scored: 0 by default, so a
   * lone client's request is not held back for company it does not bring (under concurrency the
   * requests find others in flight, and maxWaitMs gathers them).
   */
  idleWaitMs: number;
  /** Rows at which a batch is sealed at once (a single larger request is a batch of its own). */
  maxBatchRows: number;
  /** Rows scored per synchronous step. */
  chunkRows: number;
  /**
   * A predict batch of one request of at most this many rows, with nothing else waiting or being
   * scored, from the only connection that sends predict requests (a sequential client's), is
   * scored on the event loop where the snapshot's weights are shared with it
   * (ModelSnapshot.scoresHere), not on the scoring thread: nothing can arrive meanwhile, and the
   * hop to the thread and back would only add to its latency (0: always the thread). 256 by
   * default, one synchronous step (chunkRows); larger requests go to the thread, so the loop stays
   * free for health probes.
   */
  loopRows: number;
  /**
   * Batches handed to the scoring thread at once (≥ 1): with 2, the next batch waits in the
   * thread's queue while it scores one, so the thread does not idle for the event loop's round
   * trip between batches (answering one, concatenating and posting the next): +8 % DCN-v2 and
   * +14 % DNN requests/s (medians of 5 rounds) at 100 rows × 16 connections on 2 vCPUs of a Zen 5
   * (docs/benchmarks.md). Batches
   * scored on the event loop go one at a time whatever this says.
   */
  threadInFlight: number;
}

/**
 * Probabilities of rows [start, end) of a batch the snapshot's encoder built, one array per task:
 * the snapshot's own score by default; an alternative (e.g. an ONNX runtime session for the bench's
 * comparison) may answer asynchronously.
 */
export type Scorer = (ds: Dataset, start: number, end: number) => Float64Array[] | Promise<Float64Array[]>;

export const DEFAULT_BATCH_OPTIONS: BatchOptions = { maxWaitMs: 1, idleWaitMs: 0, maxBatchRows: 1024, chunkRows: 256, loopRows: 256, threadInFlight: 2 };

/** A request in a batch: its rows [offset, offset + count) of the batch and what else scoring it needs. */
export interface Pending<Req, Res> {
  offset: number;
  count: number;
  request: Req;
  resolve: (result: Res) => void;
  reject: (e: Error) => void;
}

interface Sealed<Req, Res> {
  blocks: StoredColumns[];
  pending: Pending<Req, Res>[];
  rows: number;
}

/**
 * Gathers the rows of concurrent requests into batches (sealed at maxBatchRows or maxWaitMs after
 * the first request) and scores the batches in arrival order, up to inFlight at once; a subclass
 * says how a batch is scored and each request answered.
 */
export abstract class Coalescer<Req, Res> {
  private pending: Pending<Req, Res>[] = [];
  /** The encoded rows of `pending`, one block per request. */
  private blocks: StoredColumns[] = [];
  private rows = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private readonly queue: Sealed<Req, Res>[] = [];
  /** Batches being scored. */
  private running = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(protected readonly fitted: FittedSchema, protected readonly opts: BatchOptions, private readonly onBatch?: (rows: number) => void) {}

  /** Batches scored at once: the subclass's scorer decides (threadInFlight on the scoring thread, 1 on the event loop). */
  protected abstract get inFlight(): number;

  /** Resolves each request of the batch `cols` (rows of the requests in order; the arrays are the callee's), or rejects them. */
  protected abstract scoreBatch(cols: StoredColumns, pending: readonly Pending<Req, Res>[]): Promise<void>;

  /** No request waits behind the batch being scored (none in the open batch, none queued). */
  private get nothingBehind(): boolean {
    return this.pending.length === 0 && this.queue.length === 0;
  }

  /** The batch being scored is all the work there is: no other being scored, none waiting. */
  protected get alone(): boolean {
    return this.running === 1 && this.nothingBehind;
  }

  /** Nothing waiting or being scored. */
  private get quiet(): boolean {
    return this.running === 0 && this.nothingBehind;
  }

  /** Resolves once every request submitted so far is answered (a retired snapshot's resources may then go). */
  idle(): Promise<void> {
    if (this.quiet) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Queues a request's rows, encoded with the fitted schema (readPredictBody). */
  protected enqueue(block: StoredColumns, request: Req): Promise<Res> {
    const count = block.numRows;
    const idle = this.quiet;
    if (this.rows > 0 && this.rows + count > this.opts.maxBatchRows) this.seal();
    const offset = this.rows;
    this.blocks.push(block);
    this.rows += count;
    const done = new Promise<Res>((resolve, reject) => this.pending.push({ offset, count, request, resolve, reject }));
    if (this.rows >= this.opts.maxBatchRows) this.seal();
    else if (this.timer === undefined) {
      const wait = idle ? this.opts.idleWaitMs : this.opts.maxWaitMs;
      this.timer = wait > 0 ? setTimeout(() => this.seal(), wait) : setImmediate(() => this.seal());
    }
    return done;
  }

  private seal(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    if (this.pending.length === 0) return;
    this.queue.push({ blocks: this.blocks, pending: this.pending, rows: this.rows });
    this.pending = [];
    this.blocks = [];
    this.rows = 0;
    if (this.running < this.inFlight) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running++;
    try {
      for (let b = this.next(); b !== undefined; b = this.next()) {
        try {
          // Concatenated when scored, not when sealed: a batch waiting in the queue holds only its blocks.
          const cols = concatColumns(b.blocks);
          this.onBatch?.(cols.numRows);
          await this.scoreBatch(cols, b.pending);
        } catch (e) {
          for (const w of b.pending) w.reject(e as Error);
        }
      }
    } finally {
      this.running--;
      if (this.quiet) for (const done of this.idleWaiters.splice(0)) done();
    }
  }

  /** The first queued batch, joined by those queued behind it while they fit in maxBatchRows together. */
  private next(): Sealed<Req, Res> | undefined {
    const b = this.queue.shift();
    if (b === undefined) return undefined;
    for (let n = this.queue[0]; n !== undefined && b.rows + n.rows <= this.opts.maxBatchRows; n = this.queue[0]) {
      this.queue.shift();
      for (const w of n.pending) b.pending.push({ ...w, offset: w.offset + b.rows });
      b.blocks.push(...n.blocks);
      b.rows += n.rows;
    }
    return b;
  }
}

/** What a predict batcher is told besides its snapshot and options; all optional. */
export interface BatcherHooks {
  /** Rows of each batch scored (the batch-size histogram). */
  onBatch?: (rows: number) => void;
  /** Scores batches on the event loop instead of the snapshot's own score (the bench's onnxruntime session). */
  scorer?: Scorer;
  /** The scoring thread. */
  remote?: JobScorer;
  /** A batch was scored by `remote` (true) or on the event loop (false). */
  onScored?: (elsewhere: boolean) => void;
  /** Open connections that have sent predict requests (undefined: one client's, e.g. inject). */
  clients?: () => number;
}

/** /v1/predict's batcher: every task's probabilities of each request's rows. */
export class Batcher extends Coalescer<undefined, Float64Array[]> {
  private readonly scorer: Scorer;

  constructor(private readonly snapshot: ModelSnapshot, opts: BatchOptions, private readonly hooks: BatcherHooks = {}) {
    super(snapshot.fitted, opts, hooks.onBatch);
    this.scorer = hooks.scorer ?? ((ds, start, end) => snapshot.score(ds, start, end));
  }

  /** Scores rows encoded by readPredictBody; resolves with one array per task. */
  submit(block: StoredColumns): Promise<Float64Array[]> {
    return this.enqueue(block, undefined);
  }

  protected get inFlight(): number {
    return this.hooks.remote === undefined ? 1 : this.opts.threadInFlight;
  }

  protected async scoreBatch(cols: StoredColumns, pending: readonly Pending<undefined, Float64Array[]>[]): Promise<void> {
    // A sequential client's request is scored here: from the only connection sending predict
    // requests nothing can arrive while the loop scores, and the hop to the thread and back only
    // adds to its latency. Otherwise the thread scores while the event loop reads the next requests
    // (scoring a lone request here whenever nothing else waited serialised DCN-v2's 100-row requests
    // from 2 connections on the loop: -25 % req/s, docs/benchmarks.md).
    const here = cols.numRows <= this.opts.loopRows && pending.length === 1 && this.alone &&
      (this.hooks.clients?.() ?? 1) <= 1 && this.snapshot.scoresHere;
    const remote = here ? undefined : await this.hooks.remote?.({ kind: 'predict', cols });
    this.hooks.onScored?.(remote !== undefined);
    const out = remote ?? await this.scoreHere(this.fitted.toDataset(cols));
    for (const w of pending) w.resolve(out.map((p) => p.subarray(w.offset, w.offset + w.count)));
  }

  private scoreHere(ds: Dataset): Promise<Float64Array[]> {
    return scoreInChunks(ds.numRows, this.snapshot.tasks.length, this.opts.chunkRows, (start, end) => this.scorer(ds, start, end), nextTurn);
  }
}

/**
 * Rows [0, n) scored in steps of chunkRows, one array per task: the event loop's batches (with a
 * turn of the loop between steps) and the scoring thread's. A few recurring step shapes, which the
 * kernels' size-keyed scratch and the JIT settle on (a new shape per batch cost int8 2-3×).
 */
export async function scoreInChunks(n: number, tasks: number, chunkRows: number,
  score: (start: number, end: number) => Float64Array[] | Promise<Float64Array[]>, between?: () => Promise<unknown>): Promise<Float64Array[]> {
  const out = Array.from({ length: tasks }, () => new Float64Array(n));
  for (let start = 0; start < n; start += chunkRows) {
    const end = Math.min(n, start + chunkRows);
    const scored = score(start, end);
    (scored instanceof Promise ? await scored : scored).forEach((p, t) => out[t]!.set(p, start));
    if (end < n && between !== undefined) await between();
  }
  return out;
}
