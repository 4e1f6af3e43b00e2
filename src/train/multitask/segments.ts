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

/** A run [start, end) of floats of one block. */
interface Span {
  block: GradientBlock;
  start: number;
  end: number;
}

/**
 * One combined gradient per block: shared blocks segment by segment through `coefficients`,
 * task-specific blocks passed through (the caller copies them into the parameters, so they are
 * returned as they are). Each block's combination is written over its first reaching task's
 * gradient, which the caller must not read afterwards. `withGram` false skips the Gram matrix (left at zero) for coefficients
 * that do not depend on it.
 */
export function combineSegments(blocks: readonly GradientBlock[], T: number, opts: SplitOptions, coefficients: Coefficients, withGram = true): Float32Array[] {
  // The combination overwrites the first reaching task's gradient, span by span after the span's
  // Gram matrix is complete: no extra buffer, and no copy when that is the parameter's own.
  const out = blocks.map((b) => b.grads[b.tasks[0]!]!);
  const gram = new Float64Array(T * T);
  const view = { slot: '', gram };
  const run = (slot: string, spans: readonly Span[]): void => {
    gram.fill(0);
    if (withGram) for (const s of spans) accumulateGram(s, T, gram);
    view.slot = slot;
    const c = coefficients(view);
    for (const s of spans) writeCombination(s, c);
  };
  const shared: Span[] = [];
  for (const block of blocks) if (isShared(block)) shared.push({ block, start: 0, end: block.grads[0]!.length });
  if (opts.split === 'none') {
    if (shared.length > 0) run('*', shared);
    return out;
  }
  const span: Span = { ...shared[0]! };
  const one = [span];
  for (const { block } of shared) {
    const n = block.grads[0]!.length;
    span.block = block;
    if (opts.split === 'tensor') {
      span.start = 0;
      span.end = n;
      run(block.name, one);
    } else if (block.rows) {
      for (let r = 0; r < n; r += block.width) {
        span.start = r;
        span.end = r + block.width;
        run(block.name, one);
      }
    } else {
      for (let k = 0, start = 0; start < n; k++, start += opts.chunkSize) {
        span.start = start;
        span.end = Math.min(n, start + opts.chunkSize);
        run(`${block.name}[${k}]`, one);
      }
    }
  }
  return out;
}

/**
 * Spans at least this long go to the kernels (threaded, vectorised); shorter ones (a table row,
 * a small tensor) stay in a loop here, where a kernel call would cost more than it saves. The
 * choice depends on sizes only, so a run is as deterministic either way.
 */
const KERNEL_SPAN = 4096;

/** Adds the span's dot products between the tasks that reach its block to `gram`. */
function accumulateGram(s: Span, T: number, gram: Float64Array): void {
  const { tasks, grads } = s.block;
  const start = s.start, end = s.end;
  if (end - start < KERNEL_SPAN && tasks.length === 2) {
    // One pass over both gradients for the three products (short spans: chunks, table rows).
    const i = tasks[0]!, j = tasks[1]!;
    const gi = grads[i]!, gj = grads[j]!;
    let ii = 0, ij = 0, jj = 0;
    for (let k = start; k < end; k++) {
      const x = gi[k]!, y = gj[k]!;
      ii += x * x;
      ij += x * y;
      jj += y * y;
    }
    gram[i * T + i] = gram[i * T + i]! + ii;
    gram[j * T + j] = gram[j * T + j]! + jj;
    gram[i * T + j] = gram[i * T + j]! + ij;
    gram[j * T + i] = gram[j * T + i]! + ij;
    return;
  }
  const m = tasks.length;
  if (end - start >= KERNEL_SPAN) {
    // One sweep over the tasks' gradients for every product (each equal to the kernel's `dot`).
    const local = new Float64Array(m * m);
    backend().gram(tasks.map((t) => grads[t]!.subarray(start, end)), end - start, local);
    for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) gram[tasks[a]! * T + tasks[b]!] += local[a * m + b]!;
    return;
  }
  for (let a = 0; a < m; a++) {
    const i = tasks[a]!;
    for (let b = a; b < m; b++) {
      const j = tasks[b]!;
      const gi = grads[i]!, gj = grads[j]!;
      let d = 0;
      for (let k = start; k < end; k++) d += gi[k]! * gj[k]!;
      gram[i * T + j] = gram[i * T + j]! + d;
      if (i !== j) gram[j * T + i] = gram[j * T + i]! + d;
    }
  }
}

/** g₀[span] ← Σₖ cₖ gₖ[span] over the tasks that reach the block, g₀ the first of them. */
function writeCombination(s: Span, c: ArrayLike<number>): void {
  const { tasks, grads } = s.block;
  const start = s.start, end = s.end, n = end - start;
  const out = grads[tasks[0]!]!;
  if (n >= KERNEL_SPAN) {
    const K = backend();
    const o = out.subarray(start, end);
    const x = (a: number): Float32Array => grads[tasks[a]!]!.subarray(start, end);
    if (tasks.length === 1) K.affine(o, o, n, c[tasks[0]!]!, 0);
    else K.axpby(n, c[tasks[1]!]!, x(1), c[tasks[0]!]!, o);
    for (let a = 2; a < tasks.length; a++) K.axpy(n, c[tasks[a]!]!, x(a), o);
    return;
  }
  if (tasks.length === 2) {
    const g1 = grads[tasks[1]!]!;
    const c0 = c[tasks[0]!]!, c1 = c[tasks[1]!]!;
    for (let k = start; k < end; k++) out[k] = c0 * out[k]! + c1 * g1[k]!;
    return;
  }
  for (let k = start; k < end; k++) {
    let v = 0;
    for (const t of tasks) v += c[t]! * grads[t]![k]!;
    out[k] = v;
  }
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
