/**
 * Gradient-level methods over the block layout of autograd/taskGradients.ts, without ever
 * building a [tasks × parameters] matrix: the shared gradient is cut into sub-vectors
 * ("segments"), each method turns a segment's Gram matrix Gᵢⱼ = gᵢ·gⱼ (float64, T × T) into
 * coefficients c, and the segment's combined gradient is Σₖ cₖ gₖ.
 *
 * Every method here keeps each task's corrected gradient in the span of the original task
 * gradients: PCGrad's projections and GradVac's corrections add multiples of gⱼ to gᵢ, and their
 * dot products and norms are quadratic forms in G. So one pass over the data for G and one for
 * the output give exactly the textbook sequence of vector updates, whatever the vectors' length,
 * and an embedding table's segment is its touched rows only.
 *
 * Splits (the coarse-ranking note's sub-vector variant):
 * - 'none': one segment, every shared block together (the textbook method);
 * - 'tensor': one segment per shared parameter tensor or table;
 * - 'chunk': dense tensors in runs of `chunkSize` floats; tables one embedding row per segment
 *   (a row is one feature value's vector, the natural unit of conflict between tasks, and the
 *   row set changes from batch to batch, so a fixed row count per chunk would group unrelated
 *   values by the accident of which ones the batch touched).
 *
 * Blocks that fewer than two tasks reach are task-specific: their one gradient passes through.
 */
import type { GradientBlock } from '../../autograd/taskGradients.js';
import { backend } from '../../backend/index.js';

export type Split = 'none' | 'tensor' | 'chunk';

export interface SplitOptions {
  readonly split: Split;
  /** Floats per chunk of a dense tensor (split 'chunk'). */
  readonly chunkSize: number;
}

/**
 * A segment as a method sees it. `slot` names it across steps (for state kept per sub-vector):
 * '*' for split 'none', the tensor's name for 'tensor', `name[k]` for a dense tensor's k-th chunk
 * and the table's name for every row of a table under 'chunk'.
 */
export interface SegmentView {
  readonly slot: string;
  /** Gram matrix, row-major T × T. */
  readonly gram: Float64Array;
}

/** Computes a segment's coefficients (length T; a task that does not reach it may get any value). */
export type Coefficients = (seg: SegmentView) => ArrayLike<number>;

export function isShared(b: GradientBlock): boolean {
  return b.tasks.length >= 2;
}

/**
 * One combined gradient per block: shared blocks segment by segment through `coefficients`,
 * task-specific blocks passed through (the caller copies them into the parameters, so they are
 * returned as they are). Each block's combination is written over its first reaching task's
 * gradient, which the caller must not read afterwards. `withGram` false skips the Gram matrix
 * (left at zero) for coefficients that do not depend on it.
 *
 * Two kernel sweeps per block whatever the split: one for the Gram matrices of all its segments
 * (`gram`, run by run), one for the combination (`combineRuns`, with each segment's
 * coefficients), so a chunk or a table row costs a few float operations, not a call.
 */
export function combineSegments(blocks: readonly GradientBlock[], T: number, opts: SplitOptions, coefficients: Coefficients, withGram = true): Float32Array[] {
  const out = blocks.map((b) => b.grads[b.tasks[0]!]!);
  const shared = blocks.filter(isShared);
  const K = backend();
  const gram = new Float64Array(T * T);
  const view = { slot: '', gram };
  const vectors = (b: GradientBlock): Float32Array[] => b.tasks.map((t) => b.grads[t]!);
  /** Adds run r of `local` (the block's tasks × its tasks) to the T × T `gram`. */
  const addRun = (b: GradientBlock, local: Float64Array, r: number): void => {
    const m = b.tasks.length, o = r * m * m;
    for (let x = 0; x < m; x++) for (let y = 0; y < m; y++) gram[b.tasks[x]! * T + b.tasks[y]!] += local[o + x * m + y]!;
  };
  /** Run r's coefficients of the block's tasks, from the T task coefficients `c`. */
  const setRun = (b: GradientBlock, coef: Float64Array, r: number, c: ArrayLike<number>): void => {
    const m = b.tasks.length;
    for (let x = 0; x < m; x++) coef[r * m + x] = c[b.tasks[x]!]!;
  };
  const whole = (b: GradientBlock): number => Math.max(1, b.grads[0]!.length);
  if (opts.split === 'none') {
    // One segment: the Gram matrices of every shared block summed, one set of coefficients.
    if (shared.length === 0) return out;
    for (const b of shared) {
      const local = new Float64Array(b.tasks.length ** 2);
      if (withGram) K.gram(vectors(b), b.grads[0]!.length, whole(b), local);
      addRun(b, local, 0);
    }
    view.slot = '*';
    const c = coefficients(view);
    for (const b of shared) {
      const coef = new Float64Array(b.tasks.length);
      setRun(b, coef, 0, c);
      K.combineRuns(vectors(b), b.grads[0]!.length, whole(b), coef);
    }
    return out;
  }
  for (const b of shared) {
    const n = b.grads[0]!.length, m = b.tasks.length;
    // A run per segment: the whole tensor, a table row, or a chunk of a dense tensor.
    const run = opts.split === 'tensor' ? whole(b) : b.rows ? b.width : opts.chunkSize;
    const runs = Math.ceil(n / run);
    const local = new Float64Array(runs * m * m);
    if (withGram) K.gram(vectors(b), n, run, local);
    const coef = new Float64Array(runs * m);
    for (let r = 0; r < runs; r++) {
      gram.fill(0);
      addRun(b, local, r);
      view.slot = opts.split === 'tensor' || b.rows ? b.name : `${b.name}[${r}]`;
      setRun(b, coef, r, coefficients(view));
    }
    K.combineRuns(vectors(b), n, run, coef);
  }
  return out;
}

/** ‖Σₖ aₖ gₖ‖² and (Σₖ aₖ gₖ)·gⱼ from the Gram matrix. */
export function quadratic(gram: Float64Array, T: number, a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) s += a[i]! * gram[i * T + j]! * a[j]!;
  return s;
}

export function dotWith(gram: Float64Array, T: number, a: ArrayLike<number>, j: number): number {
  let s = 0;
  for (let k = 0; k < T; k++) s += a[k]! * gram[k * T + j]!;
  return s;
}

/**
 * Σᵢ of each task's corrected gradient, in coefficients: task i starts as eᵢ (its own gradient)
 * and `correct(a, i, j)` updates its coefficients a against each other task j in orders[i].
 */
export function sumOfCorrected(T: number, orders: readonly Int32Array[], correct: (a: Float64Array, i: number, j: number) => void): Float64Array {
  const c = new Float64Array(T);
  const a = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    a.fill(0);
    a[i] = 1;
    for (const j of orders[i]!) correct(a, i, j);
    for (let k = 0; k < T; k++) c[k] = c[k]! + a[k]!;
  }
  return c;
}
