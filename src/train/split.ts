/**
 * Holding out validation rows: the last rows in file order (time-ordered logs: validate on the
 * most recent data, as the torch_ref protocol does) or a seeded random subset, plus a batch
 * source over an arbitrary row list so a random split can be trained on like a range.
 */
import type { Batch } from '../data/batch.js';
import { RowGatherer, type BatchSource, type RandomSource } from '../data/batching.js';
import type { Dataset } from '../data/dataset.js';
import type { CTRModel } from '../models/ctrModel.js';
import { noGrad, endStep } from '../autograd/tape.js';
import { servingLogit } from '../models/servingLogit.js';
import { Rng } from '../tensor/random.js';

export type SplitMode = 'random' | 'ordered';

export interface SplitOptions {
  /** Share of rows held out, in [0, 1); the count is rounded to the nearest row. */
  fraction: number;
  mode: SplitMode;
  /** Seed of the random split (independent of the training seed, so both can vary alone). */
  seed?: number;
}

export interface RowSplit {
  /** Row indices, ascending. */
  train: Int32Array;
  validation: Int32Array;
}

export function validationSplit(numRows: number, opts: SplitOptions): RowSplit {
  if (!(opts.fraction >= 0 && opts.fraction < 1)) throw new Error(`validationSplit: fraction must be in [0, 1), got ${opts.fraction}`);
  const k = Math.round(numRows * opts.fraction);
  const all = Int32Array.from({ length: numRows }, (_, i) => i);
  if (opts.mode === 'ordered') return { train: all.slice(0, numRows - k), validation: all.slice(numRows - k) };
  new Rng(opts.seed ?? 0).shuffle(all);
  // Sorted back so that the training order depends on the trainer's generator alone and the
  // validation rows are read in file order.
  return { train: all.slice(k).sort(), validation: all.slice(0, k).sort() };
}

/** The given rows in a fresh uniformly random order every epoch; the last partial batch is kept. */
export class IndexedBatches implements BatchSource {
  readonly numRows: number;
  private readonly gatherer: RowGatherer;

  constructor(ds: Dataset, private readonly rows: Int32Array, private readonly batchSize: number) {
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`IndexedBatches: batch size must be a positive integer, got ${batchSize}`);
    for (const r of rows) {
      if (!(r >= 0 && r < ds.numRows)) throw new Error(`IndexedBatches: row ${r} outside the dataset's ${ds.numRows} rows`);
    }
    this.numRows = rows.length;
    this.gatherer = new RowGatherer(ds);
  }

  *epoch(rng: RandomSource, skip = 0): Iterable<Batch> {
    const order = this.rows.slice();
    // Same Fisher–Yates draw as ShuffledBatches, so a split covering rows [a, b) in order
    // trains exactly like ShuffledBatches over that range.
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    for (let from = skip * this.batchSize; from < order.length; from += this.batchSize) {
      yield this.gatherer.gather(order, from, Math.min(order.length, from + this.batchSize));
    }
  }
}

/**
 * Logits for the given rows, in that order, without recording gradients (validation of a random
 * split); a two-logit model gives z¹ − z⁰ per row (servingLogit).
 */
export function predictRows(model: CTRModel, ds: Dataset, rows: Int32Array, batchSize = 4096): Float32Array {
  const out = new Float32Array(rows.length);
  const gatherer = new RowGatherer(ds);
  model.eval();
  noGrad(() => {
    for (let from = 0; from < rows.length; from += batchSize) {
      const to = Math.min(rows.length, from + batchSize);
      out.set(servingLogit(model.forward(gatherer.gather(rows, from, to))).data, from);
      endStep();
    }
  });
  return out;
}
