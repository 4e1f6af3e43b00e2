/**
 * Coalesces concurrent requests for one model snapshot into batches (predict's here, rank's in
 * rank.ts): a batch is sealed when it holds maxBatchRows rows or maxWaitMs after its first
 * request; a predict batch is scored in chunks of chunkRows with a turn of the event loop between
 * chunks, so a large batch does not stall other
 * requests (and health checks) for long. Batches are scored one at a time, in arrival order; a
 * request is never split across batches, so it is scored by one model throughout.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Dataset } from '../data/dataset.js';
import { concatColumns, type FittedSchema, type StoredColumns } from '../schema/index.js';
import type { ModelSnapshot } from './snapshot.js';

export interface BatchOptions {
  /** Longest a request waits for others to join its batch (0: until the current I/O events are read). */
  maxWaitMs: number;
  /** Rows at which a batch is sealed at once (a single larger request is a batch of its own). */
  maxBatchRows: number;
  /** Rows scored per synchronous step. */
  chunkRows: number;
}

/**
 * Probabilities of rows [start, end) of a batch the snapshot's encoder built, one array per task:
 * the snapshot's own score by default; an alternative (e.g. an ONNX runtime session for the bench's
 * comparison) may answer asynchronously.
 */
export type Scorer = (ds: Dataset, start: number, end: number) => Float64Array[] | Promise<Float64Array[]>;

export const DEFAULT_BATCH_OPTIONS: BatchOptions = { maxWaitMs: 1, maxBatchRows: 1024, chunkRows: 256 };

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
}

/**
 * Gathers the rows of concurrent requests into batches (sealed at maxBatchRows or maxWaitMs after
 * the first request) and scores the batches one at a time, in arrival order; a subclass says how
 * a batch is scored and each request answered.
 */
export abstract class Coalescer<Req, Res> {
  private pending: Pending<Req, Res>[] = [];
  /** The encoded rows of `pending`, one block per request. */
  private blocks: StoredColumns[] = [];
  private rows = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private readonly queue: Sealed<Req, Res>[] = [];
  private running = false;

  constructor(private readonly fitted: FittedSchema, protected readonly opts: BatchOptions, private readonly onBatch?: (rows: number) => void) {}

  /** Resolves each request of the batch `ds` (rows of the requests in order), or rejects them. */
  protected abstract scoreBatch(ds: Dataset, pending: readonly Pending<Req, Res>[]): Promise<void>;

  /** Queues a request's rows, encoded with the fitted schema (readPredictBody). */
  protected enqueue(block: StoredColumns, request: Req): Promise<Res> {
    const count = block.numRows;
    if (this.rows > 0 && this.rows + count > this.opts.maxBatchRows) this.seal();
    const offset = this.rows;
    this.blocks.push(block);
    this.rows += count;
    const done = new Promise<Res>((resolve, reject) => this.pending.push({ offset, count, request, resolve, reject }));
    if (this.rows >= this.opts.maxBatchRows) this.seal();
    else if (this.timer === undefined) {
      this.timer = this.opts.maxWaitMs > 0 ? setTimeout(() => this.seal(), this.opts.maxWaitMs) : setImmediate(() => this.seal());
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
    this.queue.push({ blocks: this.blocks, pending: this.pending });
    this.pending = [];
    this.blocks = [];
    this.rows = 0;
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (let b = this.queue.shift(); b !== undefined; b = this.queue.shift()) {
        try {
          // Concatenated when scored, not when sealed: a batch waiting in the queue holds only its blocks.
          const ds = this.fitted.toDataset(concatColumns(b.blocks));
          this.onBatch?.(ds.numRows);
          await this.scoreBatch(ds, b.pending);
        } catch (e) {
          for (const w of b.pending) w.reject(e as Error);
        }
      }
    } finally {
      this.running = false;
    }
  }
}

/** /v1/predict's batcher: every task's probabilities of each request's rows. */
export class Batcher extends Coalescer<undefined, Float64Array[]> {
  private readonly scorer: Scorer;

  constructor(private readonly snapshot: ModelSnapshot, opts: BatchOptions, onBatch?: (rows: number) => void, scorer?: Scorer) {
    super(snapshot.loaded.fitted, opts, onBatch);
    this.scorer = scorer ?? ((ds, start, end) => snapshot.score(ds, start, end));
  }

  /** Scores rows encoded by readPredictBody; resolves with one array per task. */
  submit(block: StoredColumns): Promise<Float64Array[]> {
    return this.enqueue(block, undefined);
  }

  protected async scoreBatch(ds: Dataset, pending: readonly Pending<undefined, Float64Array[]>[]): Promise<void> {
    const n = ds.numRows;
    const out = this.snapshot.tasks.map(() => new Float64Array(n));
    for (let start = 0; start < n; start += this.opts.chunkRows) {
      const end = Math.min(n, start + this.opts.chunkRows);
      const scored = this.scorer(ds, start, end);
      (scored instanceof Promise ? await scored : scored).forEach((p, t) => out[t]!.set(p, start));
      if (end < n) await nextTurn();
    }
    for (const w of pending) w.resolve(out.map((p) => p.subarray(w.offset, w.offset + w.count)));
  }
}
