/**
 * A subset of a dataset's feature columns, re-addressed as a dataset of its own: the student's
 * view of data whose privileged columns only a teacher may read (SPEC §2). Kept id columns and
 * sequences move to a compact embedding-id space (their ranges packed in order, as a schema
 * without the dropped fields lays them out), so a student built on the view has no embedding rows,
 * dense inputs or ids of a dropped column at all. Everything that is not a feature (labels,
 * weights, groups, teacher logits) is shared, not copied.
 */
import type { Batch } from './batch.js';
import type { Dataset } from './dataset.js';

/** A kept id column or sequence: where it was, and what is added to its global ids in the view. */
export interface KeptIds {
  from: number;
  shift: number;
}

export interface ProjectionSpec {
  /** Kept id columns (in view order) and the view's numFields. */
  fields: KeptIds[];
  /** Kept dense columns of the source, in view order. */
  dense: number[];
  /** Kept sequences of the source, in view order. */
  sequences: KeptIds[];
  /** Rows of the view's embedding table. */
  numIds: number;
  /** The view's field names (dataset.fieldNames / denseNames). */
  fieldNames: string[];
  denseNames: string[];
}

function pickIds(src: Int32Array, srcWidth: number, rows: number, fields: readonly KeptIds[]): Int32Array {
  const F = fields.length;
  const out = new Int32Array(rows * F);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < F; k++) out[r * F + k] = src[r * srcWidth + fields[k]!.from]! + fields[k]!.shift;
  }
  return out;
}

function pickDense(src: Float32Array, srcWidth: number, rows: number, cols: readonly number[]): Float32Array {
  const D = cols.length;
  const out = new Float32Array(rows * D);
  for (let r = 0; r < rows; r++) for (let k = 0; k < D; k++) out[r * D + k] = src[r * srcWidth + cols[k]!]!;
  return out;
}

function shifted(ids: Int32Array, shift: number): Int32Array {
  return shift === 0 ? ids : ids.map((id) => id + shift);
}

export class ColumnProjection {
  constructor(readonly spec: ProjectionSpec) {}

  /** The view of a whole dataset (its feature columns copied, the rest shared). */
  dataset(ds: Dataset): Dataset {
    const { fields, dense, sequences, numIds, fieldNames, denseNames } = this.spec;
    const out: Dataset = {
      ...ds,
      numFields: fields.length,
      fieldNames,
      ids: pickIds(ds.ids, ds.numFields, ds.numRows, fields),
      fieldSizes: Int32Array.from(fields, (f) => ds.fieldSizes[f.from]!),
      fieldOffsets: Int32Array.from(fields, (f) => ds.fieldOffsets[f.from]! + f.shift),
      numIds,
    };
    delete out.dense;
    delete out.denseNames;
    delete out.sequences;
    delete out.privileged;
    if (dense.length > 0) {
      out.dense = pickDense(ds.dense!, ds.denseNames!.length, ds.numRows, dense);
      out.denseNames = denseNames;
    }
    if (sequences.length > 0) {
      out.sequences = sequences.map((s) => {
        const c = ds.sequences![s.from]!;
        return { name: c.name, offsets: c.offsets, ids: shifted(c.ids, s.shift) };
      });
    }
    return out;
  }

  /** The view of one batch (a fresh batch; the source batch is left as it was). */
  batch(b: Batch): Batch {
    const { fields, dense, sequences } = this.spec;
    const out: Batch = { ...b, numFields: fields.length, ids: pickIds(b.ids, b.numFields, b.size, fields) };
    delete out.dense;
    delete out.denseDim;
    delete out.sequences;
    if (dense.length > 0) {
      out.dense = pickDense(b.dense!, b.denseDim!, b.size, dense);
      out.denseDim = dense.length;
    }
    if (sequences.length > 0) {
      out.sequences = sequences.map((s) => {
        const c = b.sequences![s.from]!;
        return { offsets: c.offsets, ids: shifted(c.ids, s.shift) };
      });
    }
    return out;
  }
}
