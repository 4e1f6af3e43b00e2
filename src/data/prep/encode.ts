import type { Batch } from '../batch.js';
import { CategoricalField, makeField, type FieldSpec, type RawValue } from './field.js';
import { fileOrderSplit, type SplitBounds, type SplitFractions } from './split.js';

/** One row before encoding: label and one raw value per field, in field order. */
export interface LabeledRow {
  label: number;
  values: ArrayLike<RawValue>;
}

/** A fully encoded dataset: global ids [n, F] row-major, labels, vocabularies and the split. */
export interface EncodedDataset {
  numRows: number;
  numFields: number;
  fieldNames: string[];
  /** Global ids, row-major [numRows * numFields]; field j's ids lie in [fieldOffsets[j], +fieldSizes[j]). */
  ids: Int32Array;
  labels: Float32Array;
  /** Per field: kept tokens + 1 (OOV). */
  fieldSizes: Int32Array;
  /** Per field: first global id (OOV of that field); fieldOffsets[0] = 0. */
  fieldOffsets: Int32Array;
  /** Sum of fieldSizes: rows of the shared embedding table. */
  numIds: number;
  split: SplitBounds;
  /** The fitted fields, to encode new data the same way (field.lookup(raw) + fieldOffsets[j]). */
  fields: CategoricalField[];
}

export interface EncodeOptions {
  split?: SplitFractions;
}

/**
 * Encodes a stream of rows in one pass, keeping only Int32 codes per value: the vocabularies are
 * counted on the fit rows, which are known only once the row count is (the split is by fraction of n).
 */
export async function encodeRows(specs: readonly FieldSpec[], rows: AsyncIterable<LabeledRow> | Iterable<LabeledRow>,
  options: EncodeOptions = {}): Promise<EncodedDataset> {
  const F = specs.length;
  if (F === 0) throw new Error('encodeRows: no fields');
  const fields = specs.map(makeField);
  let cap = 1 << 14;
  let codes = new Int32Array(cap * F);
  let labels = new Float32Array(cap);
  let n = 0;
  for await (const row of rows) {
    const v = row.values;
    if (v.length !== F) throw new Error(`encodeRows: row ${n} has ${v.length} values, expected ${F} fields`);
    if (n === cap) {
      cap *= 2;
      const c2 = new Int32Array(cap * F);
      c2.set(codes);
      codes = c2;
      const l2 = new Float32Array(cap);
      l2.set(labels);
      labels = l2;
    }
    const base = n * F;
    for (let j = 0; j < F; j++) codes[base + j] = fields[j]!.intern(v[j]!);
    labels[n] = row.label;
    n++;
  }
  const split = fileOrderSplit(n, options.split);
  const fieldSizes = new Int32Array(F);
  const fieldOffsets = new Int32Array(F);
  let off = 0;
  for (let j = 0; j < F; j++) {
    fields[j]!.fitColumn(codes, F, j, split.nFit);
    fieldOffsets[j] = off;
    fieldSizes[j] = fields[j]!.size;
    off += fields[j]!.size;
  }
  // Map codes to global ids in place, then trim to n rows.
  for (let j = 0; j < F; j++) {
    const fld = fields[j]!;
    const o = fieldOffsets[j]!;
    for (let p = j; p < n * F; p += F) codes[p] = o + fld.localId(codes[p]!);
  }
  return {
    numRows: n,
    numFields: F,
    fieldNames: specs.map((s) => s.name),
    ids: n === cap ? codes : codes.slice(0, n * F),
    labels: n === cap ? labels : labels.slice(0, n),
    fieldSizes,
    fieldOffsets,
    numIds: off,
    split,
    fields,
  };
}

/** Rows [start, end) as a Batch sharing memory with the dataset (subarray views). */
export function sliceBatch(ds: EncodedDataset, start: number, end: number): Batch {
  if (start < 0 || end > ds.numRows || start > end) throw new RangeError(`sliceBatch: [${start}, ${end}) outside [0, ${ds.numRows})`);
  const F = ds.numFields;
  return {
    size: end - start,
    numFields: F,
    ids: ds.ids.subarray(start * F, end * F),
    labels: ds.labels.subarray(start, end),
  };
}
