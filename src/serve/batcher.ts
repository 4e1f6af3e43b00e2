/**
 * Coalesces concurrent predict requests for one model snapshot into batches: a batch is sealed
 * when it holds maxBatchRows rows or maxWaitMs after its first request, then scored in chunks of
 * chunkRows with a turn of the event loop between chunks, so a large batch does not stall other
 * requests (and health checks) for long. Batches are scored one at a time, in arrival order; a
 * request is never split across batches, so it is scored by one model throughout.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Dataset } from '../data/dataset.js';
import type { RawValue } from '../data/prep/field.js';
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

interface Waiter {
  offset: number;
  count: number;
  resolve: (scores: Float64Array[]) => void;
  reject: (e: Error) => void;
}

interface Sealed {
  ds: Dataset;
  waiters: Waiter[];
}

export class Batcher {
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private readonly queue: Sealed[] = [];
  private running = false;

  private readonly scorer: Scorer;

  constructor(private readonly snapshot: ModelSnapshot, private readonly opts: BatchOptions, private readonly onBatch?: (rows: number) => void, scorer?: Scorer) {
    this.scorer = scorer ?? ((ds, start, end) => snapshot.score(ds, start, end));
  }

  /** Scores rows already checked by the snapshot's encoder (readPredictBody); resolves with one array per task. */
  submit(rows: readonly (readonly RawValue[])[]): Promise<Float64Array[]> {
    const enc = this.snapshot.encoder;
    if (enc.numRows > 0 && enc.numRows + rows.length > this.opts.maxBatchRows) this.seal();
    const offset = enc.numRows;
    for (let r = 0; r < rows.length; r++) enc.push(rows[r]!, 'request', r);
    const done = new Promise<Float64Array[]>((resolve, reject) => this.waiters.push({ offset, count: rows.length, resolve, reject }));
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
    if (this.waiters.length === 0) return;
    this.queue.push({ ds: this.snapshot.encoder.take(), waiters: this.waiters });
    this.waiters = [];
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (let b = this.queue.shift(); b !== undefined; b = this.queue.shift()) await this.score(b);
    } finally {
      this.running = false;
    }
  }

  private async score({ ds, waiters }: Sealed): Promise<void> {
    const n = ds.numRows;
    this.onBatch?.(n);
    try {
      const out = this.snapshot.tasks.map(() => new Float64Array(n));
      for (let start = 0; start < n; start += this.opts.chunkRows) {
        const end = Math.min(n, start + this.opts.chunkRows);
        const scored = this.scorer(ds, start, end);
        (scored instanceof Promise ? await scored : scored).forEach((p, t) => out[t]!.set(p, start));
        if (end < n) await nextTurn();
      }
      for (const w of waiters) w.resolve(out.map((p) => p.subarray(w.offset, w.offset + w.count)));
    } catch (e) {
      for (const w of waiters) w.reject(e as Error);
    }
  }
}
