/**
 * Batch sources: how the rows of a Dataset are cut into mini-batches for one epoch. The
 * trainer only sees `BatchSource`; the modes (shuffled, group-aware, file order) implement it.
 */
import { Rng } from '../util/random.js';
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

function checkArgs(who: string, numRows: number, rows: Rows, batchSize: number): void {
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`${who}: batch size must be a positive integer, got ${batchSize}`);
  if (!(Number.isInteger(rows.start) && Number.isInteger(rows.end)) || rows.start < 0 || rows.end > numRows || rows.start > rows.end) {
    throw new Error(`${who}: rows [${rows.start}, ${rows.end}) outside the dataset's ${numRows} rows`);
  }
}

/** Copies the given rows of `ds` into a reusable batch (only the columns the dataset has). */
export class RowGatherer {
  private batch: Batch;
  constructor(private readonly ds: Dataset) {
    this.batch = { size: 0, numFields: ds.numFields, ids: new Int32Array(0), labels: new Float32Array(0) };
  }

  /** Sizes the reusable buffers for `n` rows (reallocated only when the batch size changes). */
  private ensure(n: number): Batch {
    const ds = this.ds;
    const b = this.batch;
    if (b.labels.length !== n) {
      b.ids = new Int32Array(n * ds.numFields);
      b.taskLabels = ds.labels.map(() => new Float32Array(n));
      b.labels = b.taskLabels[0] ?? new Float32Array(n);
      b.weights = ds.weights ? new Float32Array(n) : undefined;
      b.teacherLogits = ds.teacherLogits ? new Float32Array(n) : undefined;
      const D = ds.denseNames?.length ?? 0;
      b.dense = ds.dense && D > 0 ? new Float32Array(n * D) : undefined;
      b.denseDim = D > 0 ? D : undefined;
    }
    b.size = n;
    return b;
  }

  /** Copies the contiguous rows [start, end) with one bulk copy per column (file-order reading). */
  gatherRange(start: number, end: number): Batch {
    const ds = this.ds;
    const F = ds.numFields;
    const n = end - start;
    const b = this.ensure(n);
    b.ids.set(ds.ids.subarray(start * F, end * F));
    for (let t = 0; t < ds.labels.length; t++) b.taskLabels![t]!.set(ds.labels[t]!.subarray(start, end));
    if (b.weights) b.weights.set(ds.weights!.subarray(start, end));
    if (b.teacherLogits) b.teacherLogits.set(ds.teacherLogits!.subarray(start, end));
    if (b.dense) {
      const D = b.denseDim!;
      b.dense.set(ds.dense!.subarray(start * D, end * D));
    }
    if (ds.sequences) {
      b.sequences = ds.sequences.map((s) => {
        const base = s.offsets[start]!;
        const offsets = new Int32Array(n + 1);
        for (let k = 0; k <= n; k++) offsets[k] = s.offsets[start + k]! - base;
        return { offsets, ids: s.ids.slice(base, s.offsets[end]!) };
      });
    }
    return b;
  }

  gather(rows: ArrayLike<number>, from: number, to: number): Batch {
    const ds = this.ds;
    const F = ds.numFields;
    const n = to - from;
    const b = this.ensure(n);
    for (let k = 0; k < n; k++) {
      const r = rows[from + k]!;
      b.ids.set(ds.ids.subarray(r * F, r * F + F), k * F);
      for (let t = 0; t < ds.labels.length; t++) b.taskLabels![t]![k] = ds.labels[t]![r]!;
      if (b.weights) b.weights[k] = ds.weights![r]!;
      if (b.teacherLogits) b.teacherLogits[k] = ds.teacherLogits![r]!;
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

/**
 * All the rows of `ds` as one batch that shares its arrays (what RowGatherer.gatherRange(0, numRows)
 * copies): a stream's batches arrive as datasets of one batch each, which need no copy to be trained on.
 */
export function wholeBatch(ds: Dataset): Batch {
  const n = ds.numRows;
  const D = ds.denseNames?.length ?? 0;
  const taskLabels = ds.labels.length > 0 ? ds.labels : [new Float32Array(n)];
  const b: Batch = {
    size: n, numFields: ds.numFields, ids: ds.ids, labels: taskLabels[0]!, taskLabels: ds.labels,
    weights: ds.weights, teacherLogits: ds.teacherLogits, dense: ds.dense && D > 0 ? ds.dense : undefined, denseDim: D > 0 ? D : undefined,
  };
  if (ds.sequences) {
    b.sequences = ds.sequences.map((s) => (s.offsets[0] === 0 ? { offsets: s.offsets, ids: s.ids } : { offsets: s.offsets.map((o) => o - s.offsets[0]!), ids: s.ids.subarray(s.offsets[0]!) }));
  }
  return b;
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

/**
 * Rows [start, end) in file order, never shuffled (streaming and online learning, where the order
 * is the time order). The rng is not used. Each batch is one bulk copy per column.
 */
export class FileOrderBatches implements BatchSource {
  readonly numRows: number;
  private readonly gatherer: RowGatherer;

  constructor(ds: Dataset, private readonly rows: Rows, private readonly batchSize: number) {
    checkArgs('FileOrderBatches', ds.numRows, rows, batchSize);
    this.numRows = rows.end - rows.start;
    this.gatherer = new RowGatherer(ds);
  }

  *epoch(_rng: RandomSource, skip = 0): Iterable<Batch> {
    const { start, end } = this.rows;
    for (let from = start + skip * this.batchSize; from < end; from += this.batchSize) {
      yield this.gatherer.gatherRange(from, Math.min(end, from + this.batchSize));
    }
  }
}

export interface GroupBatchesOptions {
  /** Shuffle the order of the groups every epoch (default true); rows inside a group keep file order. */
  shuffle?: boolean;
}

/**
 * Whole groups (lists / queries / requests, from Dataset.groupOffsets) per batch, for listwise
 * losses and per-list metrics, which are wrong on a split list. Groups are packed in (shuffled)
 * order while they fit in `batchSize` rows; a group larger than the batch size gets a batch of its
 * own rather than being cut. batch.groupOffsets are relative to the batch.
 */
export class GroupBatches implements BatchSource {
  readonly numRows: number;
  /** Groups [firstGroup, endGroup) make up the rows. */
  private readonly firstGroup: number;
  private readonly endGroup: number;
  private readonly offsets: Int32Array;
  private readonly gatherer: RowGatherer;
  private readonly shuffle: boolean;

  constructor(ds: Dataset, rows: Rows, private readonly batchSize: number, options: GroupBatchesOptions = {}) {
    checkArgs('GroupBatches', ds.numRows, rows, batchSize);
    const g = ds.groupOffsets;
    if (g === undefined) throw new Error('GroupBatches: the dataset has no groupOffsets');
    const at = (row: number, what: string): number => {
      // Binary search: the row must be a group boundary, or the range would cut a group.
      let lo = 0;
      let hi = g.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (g[mid]! < row) lo = mid + 1;
        else hi = mid;
      }
      if (g[lo] !== row) throw new Error(`GroupBatches: ${what} row ${row} is inside a group, not at a group boundary`);
      return lo;
    };
    this.firstGroup = at(rows.start, 'start');
    this.endGroup = rows.end === rows.start ? this.firstGroup : at(rows.end, 'end');
    this.offsets = g;
    this.numRows = rows.end - rows.start;
    this.gatherer = new RowGatherer(ds);
    this.shuffle = options.shuffle ?? true;
  }

  /** Number of groups one epoch visits. */
  get numGroups(): number {
    return this.endGroup - this.firstGroup;
  }

  *epoch(rng: RandomSource, skip = 0): Iterable<Batch> {
    const G = this.numGroups;
    const g = this.offsets;
    const order = new Int32Array(G);
    for (let i = 0; i < G; i++) order[i] = this.firstGroup + i;
    if (this.shuffle) {
      for (let i = G - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
    }
    // The epoch's rows, group after group, and where each group starts in that list.
    const rows = new Int32Array(this.numRows);
    const starts = new Int32Array(G + 1);
    let p = 0;
    for (let k = 0; k < G; k++) {
      starts[k] = p;
      const grp = order[k]!;
      for (let r = g[grp]!; r < g[grp + 1]!; r++) rows[p++] = r;
    }
    starts[G] = p;
    let batchIndex = 0;
    let k = 0;
    while (k < G) {
      // Greedy packing: take groups while they fit; always at least one (an oversized group alone).
      let e = k + 1;
      while (e < G && starts[e + 1]! - starts[k]! <= this.batchSize) e++;
      if (batchIndex++ >= skip) {
        const b = this.gatherer.gather(rows, starts[k]!, starts[e]!);
        const go = new Int32Array(e - k + 1);
        for (let q = k; q <= e; q++) go[q - k] = starts[q]! - starts[k]!;
        b.groupOffsets = go;
        yield b;
      }
      k = e;
    }
  }
}

/**
 * Rows materialised block by block, so that a batch source can walk data larger than memory: an
 * in-memory Dataset (datasetBlocks) or a cache read from disk (CacheBlockReader).
 */
export interface RowBlockReader {
  readonly numRows: number;
  /**
   * The rows of `ranges` (in that order): a dataset holding them and the indices of those rows in
   * it. The dataset may be the whole in-memory dataset or a window buffer reused by the next call.
   */
  readRanges(ranges: readonly Rows[]): { ds: Dataset; rows: Int32Array };
}

/** A RowBlockReader over an in-memory dataset: no copies, only row indices. */
export function datasetBlocks(ds: Dataset): RowBlockReader {
  return {
    numRows: ds.numRows,
    readRanges(ranges: readonly Rows[]) {
      let n = 0;
      for (const r of ranges) n += r.end - r.start;
      const rows = new Int32Array(n);
      let p = 0;
      for (const r of ranges) for (let i = r.start; i < r.end; i++) rows[p++] = i;
      return { ds, rows };
    },
  };
}

export interface BlockShuffleOptions {
  /** Rows per block: the unit read contiguously from disk (default 65536). */
  blockRows?: number;
  /** Blocks per window: rows are shuffled within a window of this many blocks (default 16). */
  windowBlocks?: number;
}

/**
 * Approximate shuffling for data read in blocks: the order of the blocks is shuffled, then
 * `windowBlocks` blocks at a time are loaded and their rows shuffled together. Memory is one window
 * (not the dataset) and reads are sequential within a block; the price is that rows of one block
 * land in the same window, so a batch mixes at most `windowBlocks` distinct regions of the file —
 * keep windows much larger than the batch and blocks small enough that there are many per window,
 * and, if the file is sorted (by time, by user), expect batches less diverse than a full shuffle.
 *
 * Batches do not straddle windows: the last batch of each window may be short, so choose
 * blockRows × windowBlocks a multiple of the batch size. All randomness (block order and one seed
 * per window) is drawn at the start of the epoch, so `skip` jumps over whole windows without
 * reading them.
 */
export class BlockShuffledBatches implements BatchSource {
  readonly numRows: number;
  private readonly blockRows: number;
  private readonly windowBlocks: number;
  private gatherer: RowGatherer | undefined;
  private gatherFor: Dataset | undefined;

  constructor(private readonly reader: RowBlockReader, private readonly rows: Rows, private readonly batchSize: number,
    options: BlockShuffleOptions = {}) {
    checkArgs('BlockShuffledBatches', reader.numRows, rows, batchSize);
    this.blockRows = options.blockRows ?? 65536;
    this.windowBlocks = options.windowBlocks ?? 16;
    for (const [k, v] of [['blockRows', this.blockRows], ['windowBlocks', this.windowBlocks]] as const) {
      if (!(Number.isInteger(v) && v >= 1)) throw new Error(`BlockShuffledBatches: ${k} must be a positive integer, got ${v}`);
    }
    this.numRows = rows.end - rows.start;
  }

  *epoch(rng: RandomSource, skip = 0): Iterable<Batch> {
    const { start, end } = this.rows;
    const nBlocks = Math.ceil((end - start) / this.blockRows);
    const blocks = new Int32Array(nBlocks);
    for (let i = 0; i < nBlocks; i++) blocks[i] = i;
    for (let i = nBlocks - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = blocks[i]!;
      blocks[i] = blocks[j]!;
      blocks[j] = t;
    }
    const nWindows = Math.ceil(nBlocks / this.windowBlocks);
    const seeds = new Array<number>(nWindows);
    for (let w = 0; w < nWindows; w++) seeds[w] = rng.int(4294967296);
    let toSkip = skip;
    for (let w = 0; w < nWindows; w++) {
      const ranges: Rows[] = [];
      let n = 0;
      for (let k = w * this.windowBlocks; k < Math.min(nBlocks, (w + 1) * this.windowBlocks); k++) {
        const s = start + blocks[k]! * this.blockRows;
        const e = Math.min(end, s + this.blockRows);
        ranges.push({ start: s, end: e });
        n += e - s;
      }
      const nb = Math.ceil(n / this.batchSize);
      if (toSkip >= nb) {
        toSkip -= nb;
        continue;
      }
      const win = this.reader.readRanges(ranges);
      new Rng(seeds[w]!).shuffle(win.rows);
      if (win.ds !== this.gatherFor) {
        this.gatherer = new RowGatherer(win.ds);
        this.gatherFor = win.ds;
      }
      for (let from = toSkip * this.batchSize; from < n; from += this.batchSize) {
        yield this.gatherer!.gather(win.rows, from, Math.min(n, from + this.batchSize));
      }
      toSkip = 0;
    }
  }
}
