/**
 * Batch sources: how the rows of a Dataset are cut into mini-batches for one epoch. The
 * trainer only sees `BatchSource`; the modes (shuffled, group-aware, file order) implement it.
 */
import type { Batch } from './batch.js';
import type { Dataset } from './dataset.js';

/** Seeded randomness a batch source may use (the trainer owns the generator). */
export interface RandomSource {
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

export interface BatchSource {
  /** Rows one epoch visits. */
  readonly numRows: number;
  /**
   * The batches of one epoch. `rng` is consumed only at the start of the epoch (to draw its
   * order), so an epoch can be replayed from a saved generator state and `skip` batches
   * skipped cheaply when resuming mid-epoch. A yielded Batch may reuse buffers: it is valid
   * until the next one is requested.
   */
  epoch(rng: RandomSource, skip?: number): Iterable<Batch>;
}

/** Half-open row range. */
export interface Rows {
  start: number;
  end: number;
}

/** Copies the given rows of `ds` into a reusable batch (only the columns the dataset has). */
export class RowGatherer {
  private batch: Batch;
  constructor(private readonly ds: Dataset) {
    this.batch = { size: 0, numFields: ds.numFields, ids: new Int32Array(0), labels: new Float32Array(0) };
  }

  gather(rows: ArrayLike<number>, from: number, to: number): Batch {
    const ds = this.ds;
    const F = ds.numFields;
    const n = to - from;
    const b = this.batch;
    if (b.labels.length !== n) {
      b.ids = new Int32Array(n * F);
      b.taskLabels = ds.labels.map(() => new Float32Array(n));
      b.labels = b.taskLabels[0] ?? new Float32Array(n);
      b.weights = ds.weights ? new Float32Array(n) : undefined;
      const D = ds.denseNames?.length ?? 0;
      b.dense = ds.dense && D > 0 ? new Float32Array(n * D) : undefined;
      b.denseDim = D > 0 ? D : undefined;
    }
    b.size = n;
    for (let k = 0; k < n; k++) {
      const r = rows[from + k]!;
      b.ids.set(ds.ids.subarray(r * F, r * F + F), k * F);
      for (let t = 0; t < ds.labels.length; t++) b.taskLabels![t]![k] = ds.labels[t]![r]!;
      if (b.weights) b.weights[k] = ds.weights![r]!;
      if (b.dense) {
        const D = b.denseDim!;
        b.dense.set(ds.dense!.subarray(r * D, r * D + D), k * D);
      }
    }
    if (ds.sequences) {
      b.sequences = ds.sequences.map((s) => {
        const offsets = new Int32Array(n + 1);
        let total = 0;
        for (let k = 0; k < n; k++) {
          const r = rows[from + k]!;
          total += s.offsets[r + 1]! - s.offsets[r]!;
          offsets[k + 1] = total;
        }
        const ids = new Int32Array(total);
        for (let k = 0; k < n; k++) {
          const r = rows[from + k]!;
          ids.set(s.ids.subarray(s.offsets[r]!, s.offsets[r + 1]!), offsets[k]!);
        }
        return { offsets, ids };
      });
    }
    return b;
  }
}

/** Rows [start, end) in a fresh uniformly random order every epoch; the last partial batch is kept. */
export class ShuffledBatches implements BatchSource {
  readonly numRows: number;
  private readonly gatherer: RowGatherer;

  constructor(ds: Dataset, private readonly rows: Rows, private readonly batchSize: number) {
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`ShuffledBatches: batch size must be a positive integer, got ${batchSize}`);
    if (rows.start < 0 || rows.end > ds.numRows || rows.start > rows.end) {
      throw new Error(`ShuffledBatches: rows [${rows.start}, ${rows.end}) outside the dataset's ${ds.numRows} rows`);
    }
    this.numRows = rows.end - rows.start;
    this.gatherer = new RowGatherer(ds);
  }

  *epoch(rng: RandomSource, skip = 0): Iterable<Batch> {
    const n = this.numRows;
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = this.rows.start + i;
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    for (let from = skip * this.batchSize; from < n; from += this.batchSize) {
      yield this.gatherer.gather(order, from, Math.min(n, from + this.batchSize));
    }
  }
}
