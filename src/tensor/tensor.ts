import { numel, shapeStr, type Shape } from './shape.js';

/**
 * A float32 tensor: a shape over a Float32Array that is shared, never copied, with the native
 * kernels. Tensors produced inside a training step live in the step's arena (see
 * autograd/tape.ts) and are only valid until the step ends.
 */
export class Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
  readonly size: number;
  /** True when a gradient flows back to this tensor. */
  requiresGrad: boolean;
  /** Gradient, allocated during backward (persistent for parameters). */
  grad: Float32Array | null = null;
  /** For views (reshape): the tensor that owns data and gradient. */
  readonly base: Tensor | null;

  constructor(data: Float32Array, shape: Shape, requiresGrad = false, base: Tensor | null = null) {
    const n = numel(shape);
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`Tensor: invalid shape ${shapeStr(shape)}`);
    if (data.length !== n) throw new Error(`Tensor: data has ${data.length} elements but shape ${shapeStr(shape)} needs ${n}`);
    this.data = data;
    this.shape = [...shape];
    this.size = n;
    this.requiresGrad = requiresGrad;
    this.base = base;
  }

  /** Wraps numbers or a Float32Array (not copied) as a tensor of the given shape. */
  static from(values: Float32Array | readonly number[], shape?: Shape): Tensor {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    return new Tensor(data, shape ?? [data.length]);
  }

  static zeros(shape: Shape): Tensor {
    return new Tensor(new Float32Array(numel(shape)), shape);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new Error(`item: tensor of shape ${shapeStr(this.shape)} has ${this.size} elements, not 1`);
    return this.data[0]!;
  }

  /** Owner of the data (itself unless a view). */
  root(): Tensor {
    return this.base ? this.base.root() : this;
  }

  toString(): string {
    return `Tensor${shapeStr(this.shape)}`;
  }
}

/** A trainable dense parameter: persistent data and gradient buffers. */
export class Parameter extends Tensor {
  override grad: Float32Array;
  /**
   * Bumped by every in-place writer of data (an optimiser step, Module.loadStateDict): what is
   * derived from the values and cached (pre-packed weights) is rebuilt when it changes.
   */
  version = 0;
  constructor(
    public name: string,
    data: Float32Array,
    shape: Shape,
  ) {
    super(data, shape, true);
    this.grad = new Float32Array(data.length);
  }
}

/**
 * Row-sparse gradient of an embedding table: `count` unique rows (ascending ids in `rows`)
 * and their summed gradients in `values` ([count, dim]). Capacity grows as needed, never to
 * the table size.
 */
export interface SparseGrad {
  rows: Int32Array;
  values: Float32Array;
  count: number;
}

/** One pending lookup whose gradient has not been reduced to rows yet. */
export interface PendingLookup {
  ids: Int32Array;
  n: number;
  dOut: Float32Array;
  offsets: Int32Array | null;
  weights: Float32Array | null;
  mean: boolean;
}

/**
 * An embedding table: numRows × dim floats, updated row-sparsely. Backward records the
 * lookups; `sparseGrad()` reduces them to unique rows when the optimiser asks.
 */
export class EmbeddingTable {
  /** Not readonly only for adopt(). */
  data: Float32Array;
  pending: PendingLookup[] = [];
  /** False freezes the table (e.g. a distillation teacher): lookups record no gradient. */
  trainable = true;
  /** Std of the N(0, std²) the rows start from (0: zeros); a row handed to a new id starts there again. */
  initStd = 0;
  private grad: SparseGrad = { rows: new Int32Array(0), values: new Float32Array(0), count: 0 };
  private reduced = true;

  constructor(
    public name: string,
    readonly numRows: number,
    readonly dim: number,
    data?: Float32Array,
  ) {
    if (!Number.isInteger(numRows) || numRows < 1) throw new Error(`EmbeddingTable ${name}: numRows must be a positive integer, got ${numRows}`);
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`EmbeddingTable ${name}: dim must be a positive integer, got ${dim}`);
    const n = numRows * dim;
    if (data && data.length !== n) throw new Error(`EmbeddingTable ${name}: data has ${data.length} floats, needs ${n}`);
    this.data = data ?? new Float32Array(n);
  }

  /**
   * Takes `data` (same length) as the table's storage instead of copying it in: a loaded model
   * adopts its decoded rows, where copying gigabytes into fresh pages would cost seconds.
   */
  adopt(data: Float32Array): void {
    if (data.length !== this.data.length) throw new Error(`EmbeddingTable ${this.name}: adopt ${data.length} floats, needs ${this.data.length}`);
    this.data = data;
  }

  /** Records a lookup's output gradient (called by the embedding ops' backward). */
  addPending(p: PendingLookup): void {
    this.pending.push(p);
    this.reduced = false;
  }

  /** Unique touched rows and their summed gradients for this step. */
  sparseGrad(reduce: (p: PendingLookup, rowsOut: Int32Array, valuesOut: Float32Array) => number): SparseGrad {
    if (this.reduced) return this.grad;
    let cap = 0;
    for (const p of this.pending) cap += p.n;
    if (this.grad.rows.length < cap) {
      this.grad = { rows: new Int32Array(cap), values: new Float32Array(cap * this.dim), count: 0 };
    }
    if (this.pending.length === 1) {
      this.grad.count = reduce(this.pending[0]!, this.grad.rows, this.grad.values);
    } else {
      this.grad.count = 0;
      for (const p of this.pending) {
        const rows = new Int32Array(p.n);
        const vals = new Float32Array(p.n * this.dim);
        const u = reduce(p, rows, vals);
        this.grad.count = mergeSorted(this.grad, rows, vals, u, this.dim);
      }
    }
    this.reduced = true;
    return this.grad;
  }

  /** Whether this step gave the table a gradient (lookups to reduce, or one assigned). */
  hasGrad(): boolean {
    return this.pending.length > 0 || this.grad.count > 0;
  }

  /**
   * Replaces this step's gradient with `g` (copied; rows ascending and unique), e.g. the
   * per-task gradients combined by a multi-task method; pending lookups are dropped.
   */
  assignGrad(g: SparseGrad): void {
    const cap = g.count;
    if (this.grad.rows.length < cap) this.grad = { rows: new Int32Array(cap), values: new Float32Array(cap * this.dim), count: 0 };
    this.grad.rows.set(g.rows.subarray(0, cap));
    this.grad.values.set(g.values.subarray(0, cap * this.dim));
    this.grad.count = cap;
    this.pending.length = 0;
    this.reduced = true;
  }

  zeroGrad(): void {
    this.pending.length = 0;
    this.grad.count = 0;
    this.reduced = true;
  }
}

/** Merges sorted unique rows (rows, vals, u) into g (sorted), summing duplicates; returns new count. */
function mergeSorted(g: SparseGrad, rows: Int32Array, vals: Float32Array, u: number, dim: number): number {
  const aRows = g.rows.slice(0, g.count);
  const aVals = g.values.slice(0, g.count * dim);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < g.count || j < u) {
    const takeA = j >= u || (i < g.count && aRows[i]! <= rows[j]!);
    const takeB = i >= g.count || (j < u && rows[j]! <= aRows[i]!);
    const r = takeA ? aRows[i]! : rows[j]!;
    g.rows[k] = r;
    for (let d = 0; d < dim; d++) {
      g.values[k * dim + d] = (takeA ? aVals[i * dim + d]! : 0) + (takeB ? vals[j * dim + d]! : 0);
    }
    if (takeA) i++;
    if (takeB) j++;
    k++;
  }
  return k;
}
