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
import type { RawValue } from '../data/prep/field.js';
import type { RowEncoder } from '../schema/index.js';
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
  ds: Dataset;
  pending: Pending<Req, Res>[];
}

/**
 * Gathers the rows of concurrent requests into batches (sealed at maxBatchRows or maxWaitMs after
 * the first request) and scores the batches one at a time, in arrival order; a subclass says how
 * a batch is scored and each request answered.
 */
export abstract class Coalescer<Req, Res> {
  private pending: Pending<Req, Res>[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private readonly queue: Sealed<Req, Res>[] = [];
  private running = false;

  constructor(private readonly encoder: RowEncoder, protected readonly opts: BatchOptions, private readonly onBatch?: (rows: number) => void) {}

  /** Resolves each request of the batch `ds` (rows of the requests in order), or rejects them. */
  protected abstract scoreBatch(ds: Dataset, pending: readonly Pending<Req, Res>[]): Promise<void>;

  /** Queues rows already checked against the encoder's schema (readPredictBody). */
  protected enqueue(rows: readonly (readonly RawValue[])[], request: Req): Promise<Res> {
    const enc = this.encoder;
    if (enc.numRows > 0 && enc.numRows + rows.length > this.opts.maxBatchRows) this.seal();
    const offset = enc.numRows;
    for (let r = 0; r < rows.length; r++) enc.push(rows[r]!, 'request', r);
    const done = new Promise<Res>((resolve, reject) => this.pending.push({ offset, count: rows.length, request, resolve, reject }));
    if (enc.numRows >= this.opts.maxBatchRows) this.seal();
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
    this.queue.push({ ds: this.encoder.take(), pending: this.pending });
    this.pending = [];
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (let b = this.queue.shift(); b !== undefined; b = this.queue.shift()) {
        this.onBatch?.(b.ds.numRows);
        try {
          await this.scoreBatch(b.ds, b.pending);
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
    super(snapshot.encoder, opts, onBatch);
    this.scorer = scorer ?? ((ds, start, end) => snapshot.score(ds, start, end));
  }

  /** Scores rows already checked by the snapshot's encoder (readPredictBody); resolves with one array per task. */
  submit(rows: readonly (readonly RawValue[])[]): Promise<Float64Array[]> {
    return this.enqueue(rows, undefined);
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
