/**
 * POST /v1/rank for a two-tower model: request rows (user, query, display features) against the
 * item vectors of an items file, computed when a snapshot loads with that snapshot's own model, so
 * a reload can never pair a model with another model's vectors. Concurrent requests share a batch
 * (RankBatcher): one user-tower pass over their rows, then one matrix product per request, mapped
 * to the probabilities /v1/predict serves.
 */
import { endStep, noGrad } from '../autograd/tape.js';
import { RowGatherer } from '../data/batching.js';
import type { RawValue } from '../data/prep/field.js';
import { itemVectorsOf } from '../experiment/itemVectors.js';
import { TwoTower } from '../models/twoTower.js';
import { ConfigError } from '../schema/errors.js';
import { Tensor } from '../tensor/tensor.js';
import { isRecord, readPredictBody, RequestError } from './request.js';
import { fillerValue, type ModelSnapshot } from './snapshot.js';
import { Coalescer, type BatchOptions, type Pending } from './batcher.js';
import type { StoredColumns } from '../schema/index.js';

/** The items of one snapshot: item i is row i of the items file (the row order of `ctrkit export --format item-vectors`). */
export interface ItemTable {
  readonly count: number;
  readonly dim: number;
  /** [count, dim], row-major. */
  readonly vectors: Float32Array;
}

/** The snapshot's two-tower model; a clear error for any other model. */
export function twoTowerOf(s: ModelSnapshot): TwoTower {
  const m = s.loaded.model;
  if (!(m instanceof TwoTower)) throw new ConfigError([`${s.dir}: --items needs a two-tower model (model type twotower); this model is '${m.kind}'`]);
  return m;
}

export async function itemTableOf(s: ModelSnapshot, itemsFile: string, labels: boolean): Promise<ItemTable> {
  twoTowerOf(s);
  const v = await itemVectorsOf(s.loaded, s.dir, itemsFile, { labels });
  return { count: v.lines.length, dim: v.dim, vectors: v.vectors };
}

/**
 * Features a rank row does not give: those only the item tower reads (a feature of a group the
 * user tower or the bias net also reads stays a request field).
 */
export function itemOnlyFeatures(s: ModelSnapshot): Map<number, RawValue> {
  const { cfg } = twoTowerOf(s);
  const spec = s.loaded.fitted.spec;
  const groups = new Map(s.loaded.fitted.features().map((f) => [f.name, f.group]));
  const implied = new Map<number, RawValue>();
  s.features.forEach((f, i) => {
    const g = groups.get(f.name);
    if (g !== undefined && cfg.item.includes(g) && !cfg.user.includes(g) && !cfg.bias.includes(g)) implied.set(i, fillerValue(spec, i));
  });
  return implied;
}

/**
 * Scores one request may ask for (rows × items): the answer is built in memory (float32 logits,
 * float64 probabilities, then JSON), so a large catalogue is ranked with `top` or fewer rows.
 */
export const MAX_RANK_PAIRS = 1 << 22;

export interface RankRequest {
  /** The rows, encoded (readPredictBody). */
  rows: StoredColumns;
  /** Item indices to score, in answer order (undefined: all items). */
  items: number[] | undefined;
  /** Keep each row's `top` best items, best first. */
  top: number | undefined;
}

export function readRankBody(body: unknown, s: ModelSnapshot, table: ItemTable, maxRows: number, implied: ReadonlyMap<number, RawValue>): RankRequest {
  const rows = readPredictBody(body, s.features, s.encoder, maxRows, { keys: ['items', 'top'], implied });
  const b = body as Record<string, unknown>;
  let items: number[] | undefined;
  if (b.items !== undefined) {
    if (!Array.isArray(b.items)) throw new RequestError(`must be an array of item indices (rows of the items file), got ${isRecord(b.items) ? 'an object' : typeof b.items}`, undefined, 'items');
    items = b.items.map((v: unknown, k) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= table.count) {
        throw new RequestError(`unknown item ${JSON.stringify(v) ?? String(v)} (items are the rows 0 … ${table.count - 1} of the items file)`, undefined, `items[${k}]`);
      }
      return v;
    });
  }
  let top: number | undefined;
  if (b.top !== undefined) {
    if (typeof b.top !== 'number' || !Number.isInteger(b.top) || b.top < 1) throw new RequestError(`must be a positive integer, got ${JSON.stringify(b.top)}`, undefined, 'top');
    top = b.top;
  }
  const pairs = rows.numRows * (items?.length ?? table.count);
  if (pairs > MAX_RANK_PAIRS) {
    throw new RequestError(`${rows.numRows} rows × ${items?.length ?? table.count} items is ${pairs} scores, more than ${MAX_RANK_PAIRS} per request (send fewer rows or items)`, undefined, 'rows');
  }
  return { rows, items, top };
}

/** One rank request in a batch: the items it scores (undefined: all). */
interface RankJob {
  items: readonly number[] | undefined;
}

/**
 * Coalesces concurrent rank requests as /v1/predict's are (same bounds): one user-tower pass over
 * the batch's rows, then each request's rows against its own items
 * (TwoTower.scoreRequestsWithItemVectors), bit for bit what the request alone would get. Rows are
 * gathered by an encoder of its own (predict's gathers its own batches).
 */
export class RankBatcher extends Coalescer<RankJob, Float64Array> {
  private readonly model: TwoTower;

  constructor(private readonly snapshot: ModelSnapshot, private readonly table: ItemTable, opts: BatchOptions, onBatch?: (rows: number) => void) {
    super(snapshot.loaded.fitted, opts, onBatch);
    this.model = twoTowerOf(snapshot);
  }

  /** Probabilities [rows × items], row-major: σ(⟨u, v⟩ + b) through the snapshot's probability map. */
  submit(rows: StoredColumns, items: readonly number[] | undefined): Promise<Float64Array> {
    if (rows.numRows === 0) return Promise.resolve(new Float64Array(0));
    return this.enqueue(rows, { items });
  }

  private vectorsOf(items: readonly number[] | undefined): Tensor {
    const { table } = this;
    if (items === undefined) return new Tensor(table.vectors, [table.count, table.dim]);
    const v = new Float32Array(items.length * table.dim);
    items.forEach((it, k) => v.set(table.vectors.subarray(it * table.dim, (it + 1) * table.dim), k * table.dim));
    return new Tensor(v, [items.length, table.dim]);
  }

  protected async scoreBatch(cols: StoredColumns, pending: readonly Pending<RankJob, Float64Array>[]): Promise<void> {
    const ds = this.fitted.toDataset(cols);
    const requests = pending.map((w) => ({ start: w.offset, end: w.offset + w.count, items: this.vectorsOf(w.request.items) }));
    let logits: Float32Array[] = [];
    this.model.eval();
    noGrad(() => {
      const batch = new RowGatherer(ds).gather(Int32Array.from({ length: ds.numRows }, (_, i) => i), 0, ds.numRows);
      logits = this.model.scoreRequestsWithItemVectors(batch, requests).map((z) => z.data.slice());
      endStep();
    });
    pending.forEach((w, k) => w.resolve(this.snapshot.probabilities.apply(logits[k]!)));
  }
}

/** Each row's `top` best of `ids` (scores [rows × ids]), best first; ties keep the lower id first. */
export function topItems(scores: Float64Array, ids: readonly number[], rows: number, top: number): { items: number[][]; scores: number[][] } {
  const n = ids.length;
  const out = { items: [] as number[][], scores: [] as number[][] };
  for (let r = 0; r < rows; r++) {
    const order = Array.from({ length: n }, (_, k) => k)
      .sort((a, b) => scores[r * n + b]! - scores[r * n + a]! || ids[a]! - ids[b]!)
      .slice(0, top);
    out.items.push(order.map((k) => ids[k]!));
    out.scores.push(order.map((k) => scores[r * n + k]!));
  }
  return out;
}
