/**
 * Per-task gradients of the same parameters from one forward pass: each task's loss is
 * backpropagated in turn over the retained tape, each into its own set of gradient buffers (no
 * copies). Multi-task methods that look at gradients (PCGrad, GradVac,
 * GradNorm, PE-LTR; src/train/multitask) read them as blocks and write one combined gradient
 * back, which the optimiser then applies as usual.
 *
 * Embedding tables stay row-sparse: a table's block covers only the rows that some task touched
 * in this batch (the merge of the tasks' sorted row lists), never the whole table. Every block is
 * laid out the same way for all tasks, so a dot product between two tasks' gradients is a plain
 * loop over the block, whatever the tensor.
 *
 * The first task's gradients are left in the parameters' own buffers, the others' live in the
 * step arena (recycled when the step ends; taken by the tape at their first write,
 * `BackwardOptions.into`); which tasks reached a parameter comes from the tape
 * (`BackwardOptions.reached`), not from scanning the buffers. No buffer is cleared beforehand:
 * the first write of a pass sets it (`intoOwn` for the parameters' own), so the per-task
 * gradients cost no zero pass over the parameters, and the caller need not zero them.
 */
import type { EmbeddingTable, Parameter, SparseGrad, Tensor } from '../tensor/tensor.js';
import { reducePending } from './ops/embedding.js';
import { backward, clearIntermediateGradients, stepArena } from './tape.js';

/** One tensor's gradients, one array per task, all of the same layout. */
export interface GradientBlock {
  /** The parameter's or table's name (as the model names it). */
  readonly name: string;
  /** Floats per row: 1 for a dense parameter, the table's dim for a table. */
  readonly width: number;
  /**
   * grads[t]: task t's gradient of this tensor (zeros when task t does not reach it). A method's
   * `combine` may overwrite them (segments.ts writes the combination over the first reaching
   * task's gradient): read them before combining.
   */
  readonly grads: readonly Float32Array[];
  /** The tasks whose loss reaches this tensor, ascending: a block with two or more is shared. */
  readonly tasks: readonly number[];
  /** For a table: the rows of the block, ascending (row i of the block is table row rows[i]). */
  readonly rows?: Int32Array;
}

interface Target {
  readonly block: GradientBlock;
  /** Writes a combined gradient (same layout as the block) back for the optimiser. */
  assign(g: Float32Array): void;
}

/** A step's per-task gradients, and where combined gradients go. */
export class TaskGradients {
  constructor(readonly numTasks: number, private readonly targets: readonly Target[]) {}

  get blocks(): GradientBlock[] {
    return this.targets.map((t) => t.block);
  }

  /** Sets each tensor's gradient to combined[b] (one array per block, in `blocks` order). */
  assign(combined: readonly Float32Array[]): void {
    if (combined.length !== this.targets.length) throw new Error(`TaskGradients.assign: ${combined.length} gradients for ${this.targets.length} blocks`);
    this.targets.forEach((t, b) => {
      const g = combined[b]!;
      const n = t.block.grads[0]?.length ?? 0;
      if (g.length !== n) throw new Error(`TaskGradients.assign: block ${t.block.name} has ${n} values, got ${g.length}`);
      t.assign(g);
    });
  }
}

/**
 * Backpropagates each loss in turn (the tape is kept between the passes) and returns every
 * tensor's per-task gradients. `losses[t]` must come from the current step's forward pass; a loss
 * that reaches no parameter (e.g. a task with no rows in this batch) contributes zeros. After this
 * call the parameters' own gradient buffers hold the first task's gradient or, once `assign` has
 * run, the combined one (zeros for a parameter no task reaches), whatever they held before: call
 * `assign` before the optimiser steps.
 */
export function taskGradients(losses: readonly Tensor[], params: readonly (readonly [string, Parameter])[], tables: readonly (readonly [string, EmbeddingTable])[]): TaskGradients {
  const T = losses.length;
  const arena = stepArena();
  const dense: (Float32Array | null)[][] = params.map(() => new Array<Float32Array | null>(T).fill(null));
  const sparse: (SparseGrad | null)[][] = tables.map(() => new Array<SparseGrad | null>(T).fill(null));
  // A lookup is recorded on its table once, by the forward pass, with the buffer its output's
  // gradient accumulates into (it has no tape entry): every pass re-arms the same lookups with
  // that buffer zeroed, and keeps only those the task's loss reached.
  const lookups = tables.map(([, tb]) => tb.pending.slice());
  // Each pass writes buffers that become the task's gradient as they are (no copy): the first
  // task the parameters' own, the others arena buffers, each taken and set at its first write
  // (`into`), so an unreached one costs nothing.
  for (let t = 0; t < T; t++) {
    tables.forEach(([, tb], i) => {
      tb.zeroGrad();
      for (const l of lookups[i]!) {
        l.dOut.fill(0);
        tb.addPending(l);
      }
    });
    clearIntermediateGradients();
    const loss = losses[t]!;
    const hit = new Set<Tensor>();
    const into = new Map<Tensor, Float32Array | null>(params.map(([, p]) => [p, null]));
    if (loss.requiresGrad) backward(loss, undefined, { retain: true, reached: hit, into, intoOwn: t === 0 });
    params.forEach(([, p], i) => {
      if (hit.has(p)) dense[i]![t] = into.get(p)!;
    });
    tables.forEach(([, tb], i) => {
      tb.pending = tb.pending.filter((l) => l.dOut.some((v) => v !== 0));
      if (!tb.trainable || !tb.hasGrad()) return;
      const g = tb.sparseGrad(reducePending(tb));
      if (g.count === 0) return;
      const rows = new Int32Array(g.count);
      rows.set(g.rows.subarray(0, g.count));
      const values = arena.f32(g.count * tb.dim);
      values.set(g.values.subarray(0, g.count * tb.dim));
      sparse[i]![t] = { rows, values, count: g.count };
    });
  }
  clearIntermediateGradients();
  const targets: Target[] = [];
  params.forEach(([name, p], i) => {
    const per = dense[i]!;
    const tasks = reached(per);
    if (tasks.length === 0) {
      p.grad.fill(0);
      return;
    }
    const grads = per.map((g) => g ?? arena.f32(p.size, true));
    // A method may combine in place, over the first task's gradient, i.e. the parameter's buffer.
    targets.push({ block: { name, width: 1, grads, tasks }, assign: (g) => {
      if (g !== p.grad) p.grad.set(g);
    } });
  });
  tables.forEach(([name, tb], i) => {
    const per = sparse[i]!;
    const tasks = reached(per);
    tb.zeroGrad();
    if (tasks.length === 0) return;
    const rows = unionRows(per);
    const grads = per.map((g) => scatterRows(g, rows, tb.dim));
    targets.push({ block: { name, width: tb.dim, grads, tasks, rows }, assign: (g) => tb.assignGrad({ rows, values: g, count: rows.length }) });
  });
  return new TaskGradients(T, targets);
}

function reached(per: readonly (object | null)[]): number[] {
  const out: number[] = [];
  per.forEach((g, t) => {
    if (g !== null) out.push(t);
  });
  return out;
}

/** Ascending union of the tasks' sorted row lists. */
function unionRows(per: readonly (SparseGrad | null)[]): Int32Array {
  let acc = new Int32Array(0);
  for (const g of per) {
    if (g === null) continue;
    const out = new Int32Array(acc.length + g.count);
    let i = 0, j = 0, k = 0;
    while (i < acc.length || j < g.count) {
      const a = i < acc.length ? acc[i]! : Infinity;
      const b = j < g.count ? g.rows[j]! : Infinity;
      out[k++] = a <= b ? a : b;
      if (a <= b) i++;
      if (b <= a) j++;
    }
    acc = out.subarray(0, k);
  }
  return acc.slice();
}

/** A task's sparse gradient laid out over `rows` (zeros for rows it did not touch). */
function scatterRows(g: SparseGrad | null, rows: Int32Array, dim: number): Float32Array {
  const out = stepArena().f32(rows.length * dim, true);
  if (g === null) return out;
  let j = 0;
  for (let i = 0; i < g.count; i++) {
    while (rows[j]! < g.rows[i]!) j++;
    out.set(g.values.subarray(i * dim, (i + 1) * dim), j * dim);
  }
  return out;
}
