/**
 * POST /v1/rank for a two-tower model: request rows (user, query, display features) against the
 * item vectors of an items file, computed when a snapshot loads with that snapshot's own model, so
 * a reload can never pair a model with another model's vectors. Concurrent requests share a batch
 * (RankBatcher): one user-tower pass over their rows, then one matrix product per request, mapped
 * to the probabilities /v1/predict serves. The vectors are computed and the batches scored where
 * the snapshot's weights are (the scoring thread, or the event loop where it falls back).
 */
import { endStep, noGrad } from '../autograd/tape.js';
import { RowGatherer } from '../data/batching.js';
import type { RawValue } from '../data/prep/field.js';
import { itemVectorsOf } from '../experiment/itemVectors.js';
import { TwoTower } from '../models/twoTower.js';
import { ConfigError } from '../schema/errors.js';
import { Tensor } from '../tensor/tensor.js';
import { isRecord, readPredictBody, RequestError } from './request.js';
import { fillerValue, weightsOf, type ModelSnapshot } from './snapshot.js';
import { Coalescer, type BatchOptions, type Pending } from './batcher.js';
import type { JobScorer, ThreadScorer } from './scoringThread.js';
import type { ModelConfig } from '../models/registry.js';
import type { StoredColumns } from '../schema/index.js';

/** What a request is checked against: the number of items (rows of the items file) and their vectors' width. */
export interface ItemShape {
  readonly count: number;
  readonly dim: number;
}

/** The items of one snapshot, where it is scored: item i is row i of the items file (the row order of `ctrkit export --format item-vectors`). */
export interface ItemTable extends ItemShape {
  /** [count, dim], row-major. */
  readonly vectors: Float32Array;
}

/** The file whose rows are the items, read with each snapshot where that snapshot is scored. */
export interface ItemsSource {
  readonly file: string;
  /** The file has the label column(s). */
  readonly labels: boolean;
}

type TwoTowerConfig = Extract<ModelConfig, { type: 'twotower' }>;

/** The snapshot's two-tower configuration (from its manifest: no weights needed); a clear error for any other model. */
export function twoTowerOf(s: ModelSnapshot): TwoTowerConfig {
  const m = s.manifest.model;
  if (m.type !== 'twotower') throw new ConfigError([`${s.dir}: --items needs a two-tower model (model type twotower); this model is '${m.type}'`]);
  return m;
}

/** The item vectors of `items` by the snapshot's model (its weights loaded on this thread). */
export async function itemTableOf(s: ModelSnapshot, items: ItemsSource): Promise<ItemTable> {
  twoTowerOf(s);
  const v = await itemVectorsOf(weightsOf(s), s.dir, items.file, { labels: items.labels });
  return { count: v.lines.length, dim: v.dim, vectors: v.vectors };
}

/**
 * Features a rank row does not give: those only the item tower reads (a feature of a group the
 * user tower or the bias net also reads stays a request field).
 */
export function itemOnlyFeatures(s: ModelSnapshot): Map<number, RawValue> {
  const cfg = twoTowerOf(s);
  const spec = s.fitted.spec;
  const groups = new Map(s.fitted.features().map((f) => [f.name, f.group]));
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

export function readRankBody(body: unknown, s: ModelSnapshot, table: ItemShape, maxRows: number, implied: ReadonlyMap<number, RawValue>): RankRequest {
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

/** One request of a rank batch: its rows [start, end) of the batch and the items it scores (undefined: all). */
export interface RankSlice {
  start: number;
  end: number;
  items: readonly number[] | undefined;
}

/**
 * Probabilities [rows × items] of each request of a batch, row-major, σ(⟨u, v⟩ + b) through the
 * snapshot's probability map: one user-tower pass over the batch's rows, then each request's rows
 * against its own items (TwoTower.scoreRequestsWithItemVectors), bit for bit what the request alone
 * would get. Where the snapshot is scored (the scoring thread, or the event loop where it falls back).
 */
export function rankScores(s: ModelSnapshot, table: ItemTable, cols: StoredColumns, slices: readonly RankSlice[]): Float64Array[] {
  const model = weightsOf(s).model;
  if (!(model instanceof TwoTower)) throw new Error(`model ${s.version}: not a two-tower model`);
  const ds = s.fitted.toDataset(cols);
  const requests = slices.map((r) => {
    if (r.items?.some((it) => it >= table.count)) throw new Error(`model ${s.version}: the items file now has ${table.count} rows, fewer than when the model was loaded`);
    return { start: r.start, end: r.end, items: vectorsOf(table, r.items) };
  });
  let logits: Float32Array[] = [];
  model.eval();
  noGrad(() => {
    const batch = new RowGatherer(ds).gatherRange(0, ds.numRows);
    logits = model.scoreRequestsWithItemVectors(batch, requests).map((z) => z.data.slice());
    endStep();
  });
  return logits.map((z) => s.probabilities.apply(z));
}

function vectorsOf(table: ItemTable, items: readonly number[] | undefined): Tensor {
  if (items === undefined) return new Tensor(table.vectors, [table.count, table.dim]);
  const v = new Float32Array(items.length * table.dim);
  items.forEach((it, k) => v.set(table.vectors.subarray(it * table.dim, (it + 1) * table.dim), k * table.dim));
  return new Tensor(v, [items.length, table.dim]);
}

/**
 * Coalesces concurrent rank requests as /v1/predict's are (same bounds) and scores each batch
 * (rankScores) on the scoring thread, or on the event loop where that falls back (the item
 * vectors then computed here, once). Rows are gathered by an encoder of its own (predict's
 * gathers its own batches).
 */
export class RankBatcher extends Coalescer<readonly number[] | undefined, Float64Array> {
  private local: Promise<ItemTable> | undefined;

  /** `table`: the vectors, when computed on the event loop already. */
  constructor(private readonly snapshot: ModelSnapshot, private readonly items: ItemsSource, opts: BatchOptions, onBatch?: (rows: number) => void,
    private readonly remote?: JobScorer, table?: ItemTable) {
    super(snapshot.fitted, opts, onBatch);
    if (table !== undefined) this.local = Promise.resolve(table);
  }

  protected get inFlight(): number {
    return this.remote === undefined ? 1 : this.opts.threadInFlight;
  }

  /** Probabilities [rows × items], row-major: σ(⟨u, v⟩ + b) through the snapshot's probability map. */
  submit(rows: StoredColumns, items: readonly number[] | undefined): Promise<Float64Array> {
    if (rows.numRows === 0) return Promise.resolve(new Float64Array(0));
    return this.enqueue(rows, items);
  }

  protected async scoreBatch(cols: StoredColumns, pending: readonly Pending<readonly number[] | undefined, Float64Array>[]): Promise<void> {
    const slices = pending.map((w) => ({ start: w.offset, end: w.offset + w.count, items: w.request }));
    const there = await this.remote?.({ kind: 'rank', cols, slices });
    const out = there ?? rankScores(this.snapshot, await (this.local ??= itemTableOf(this.snapshot, this.items)), cols, slices);
    pending.forEach((w, k) => w.resolve(out[k]!));
  }
}

/**
 * A snapshot's items and the batcher of its rank requests: the vectors are computed where the
 * snapshot is scored (by the scoring thread as it loads the snapshot, else here); the event loop
 * keeps only their shape to check requests.
 */
export async function rankerOf(s: ModelSnapshot, items: ItemsSource, opts: BatchOptions, onBatch?: (rows: number) => void,
  thread?: ThreadScorer): Promise<{ table: ItemShape; ranker: RankBatcher }> {
  const there = await thread?.items;
  if (there !== undefined) return { table: there, ranker: new RankBatcher(s, items, opts, onBatch, thread!.run) };
  const table = await itemTableOf(s, items);
  return { table, ranker: new RankBatcher(s, items, opts, onBatch, thread?.run, table) };
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
