import { EmbeddingTable, Tensor, type PendingLookup } from '../../tensor/tensor.js';
import { K, empty, isGradEnabled } from '../tape.js';

/**
 * Row gather: out[b] = table[ids[b]] → [n, dim]. Backward records the lookup on the table;
 * the optimiser turns it into a row-sparse gradient (never a table-sized one).
 */
export function embeddingLookup(table: EmbeddingTable, ids: Int32Array, n = ids.length): Tensor {
  const out = empty([n, table.dim]);
  K().embeddingLookup(table.data, table.numRows, table.dim, ids, n, out.data);
  return attach(out, table, ids, n, null, null, false);
}

/**
 * Pooled lookup over bags (multi-hot fields, behaviour sequences): out[s] = Σ (or mean) of
 * wts[k]·table[ids[k]] for k in bag s → [S, dim].
 */
export function embeddingBag(table: EmbeddingTable, ids: Int32Array, offsets: Int32Array,
  weights: Float32Array | null = null, mean = false): Tensor {
  const S = offsets.length - 1;
  if (S < 0) throw new Error('embeddingBag: offsets must have at least one entry');
  if (weights && weights.length < ids.length) throw new Error(`embeddingBag: ${weights.length} weights for ${ids.length} ids`);
  const out = empty([S, table.dim]);
  K().embeddingBag(table.data, table.numRows, table.dim, ids, offsets, weights, mean, out.data);
  return attach(out, table, ids, offsets[S] ?? 0, offsets, weights, mean);
}

function attach(out: Tensor, table: EmbeddingTable, ids: Int32Array, n: number, offsets: Int32Array | null,
  weights: Float32Array | null, mean: boolean): Tensor {
  if (!isGradEnabled() || !table.trainable) return out;
  // No tape entry: downstream ops accumulate straight into this buffer, and the table reduces
  // it to rows when the optimiser asks (tensors from the arena are discarded at endStep).
  out.requiresGrad = true;
  out.grad = empty(out.shape, true).data;
  table.addPending({ ids, n, dOut: out.grad, offsets, weights, mean });
  return out;
}

/** Reduces one pending lookup to unique rows (used by EmbeddingTable.sparseGrad). */
export function reducePending(table: EmbeddingTable) {
  return (p: PendingLookup, rows: Int32Array, values: Float32Array): number =>
    K().embeddingBackward(p.ids, p.n, p.dOut, table.dim, table.numRows, p.offsets, p.weights, p.mean, rows, values);
}
