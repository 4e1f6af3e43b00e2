import type { Dataset } from '../data/dataset.js';
import type { RawValue } from '../data/prep/field.js';
import type { FittedSchema } from './fitted.js';
import type { RowCoder } from './ingest.js';
import { newParsedRow, parseDenseValue, parseIdValue, rowParser, sequenceTokens, type ParsedRow } from './rows.js';
import type { SchemaSpec, SequenceSpec } from './spec.js';
import { Growable, RowStore, type StoredColumns } from './store.js';

/*
 * Rows that arrive as values rather than as a file (the server's JSON requests) go through the
 * row parser, store and fitted ids of encodeFile, so a row scores the same whichever way it came.
 */

/** What is stored for a parsed row under a fitted schema: its global ids. */
export function fittedCoder(fitted: FittedSchema): RowCoder {
  return {
    field: (j, row) => fitted.fieldId(j, row.fieldRaw[j]!, row.fieldLocal[j]!),
    token: (q, token) => fitted.sequenceId(q, token),
  };
}

/**
 * The features of a fitted schema as one value per input, named by field name (in errors too):
 * labels, group and weight are training-time columns, not inputs of a prediction.
 */
function featureSpec(spec: SchemaSpec): SchemaSpec {
  const byName = <T extends { name: string }>(f: T): T => ({ ...f, column: f.name });
  // A request gives a multi-column sequence as one value, its tokens joined by the separator.
  const seqByName = ({ columns: _c, ...s }: SequenceSpec): SequenceSpec => ({ ...s, column: s.name });
  return { labels: [], fields: spec.fields.map(byName), dense: spec.dense.map(byName), sequences: spec.sequences.map(seqByName) };
}

/** Feature names in the order RowEncoder takes values: id fields, dense columns, sequences (config order within each). */
export function featureNames(spec: SchemaSpec): string[] {
  return [...spec.fields, ...spec.dense, ...spec.sequences].map((f) => f.name);
}

/**
 * A feature's values for a block of rows given column by column: one raw value per row, or one
 * value every row shares.
 */
export type FeatureColumn = readonly RawValue[] | RawValue;

/**
 * An id field's column already coded: each row's global id, as FittedSchema.fieldId gives it for
 * the value (the server's request reader codes vocabulary fields as it reads the text).
 */
export type CodedColumn = Int32Array;

/**
 * Accumulates rows of raw feature values (in featureNames order) and encodes them as the training
 * data was: same tokenising, vocabularies (unknown tokens → OOV), hashing, transforms.
 */
export class RowEncoder {
  private readonly parse: (values: readonly RawValue[], file: string, line: number, out: ParsedRow) => void;
  private readonly row: ParsedRow;
  private readonly coder: RowCoder;
  private readonly spec: SchemaSpec;
  private store: RowStore;

  constructor(readonly fitted: FittedSchema) {
    const spec = featureSpec(fitted.spec);
    this.spec = spec;
    this.parse = rowParser(spec, false);
    this.row = newParsedRow(spec, false);
    this.coder = fittedCoder(fitted);
    this.store = this.newStore();
  }

  private newStore(): RowStore {
    return new RowStore(0, this.fitted.spec.sequences.length, false, undefined);
  }

  get numRows(): number {
    return this.store.numRows;
  }

  /**
   * Throws the DataFormatError (`source`, `row`, field name) a file line with these values would
   * get; stores nothing, so a request can be checked whole before any of it is kept.
   */
  check(values: readonly RawValue[], source: string, row: number): void {
    this.parse(values, source, row, this.row);
  }

  /** Parses and stores one row (throws like check, storing nothing then). */
  push(values: readonly RawValue[], source: string, row: number): void {
    this.parse(values, source, row, this.row);
    this.store.push(this.row, source, row, (j) => this.coder.field(j, this.row), this.fitted.spec.fields.length, this.coder.token);
  }

  /** The rows pushed so far as a Dataset (without labels); the encoder starts empty again. */
  take(): Dataset {
    return this.fitted.toDataset(this.takeColumns());
  }

  /** The rows pushed so far as stored columns (a block for concatColumns, then FittedSchema.toDataset); the encoder starts empty again. */
  takeColumns(): StoredColumns {
    const cols = this.store.take();
    this.store = this.newStore();
    return cols;
  }

  /**
   * `numRows` rows given column by column (`columns` in featureNames order), encoded as pushing
   * them row by row would encode them, with the same per-value parsing (src/schema/rows.ts), but
   * in one loop per column. Independent of the rows pushed. Throws the DataFormatError (`source`,
   * row index as its line, field name) of the first bad value in column order.
   */
  encodeColumns(columns: readonly (FeatureColumn | CodedColumn)[], numRows: number, source: string): StoredColumns {
    const { spec, fitted } = this;
    const F = spec.fields.length;
    const D = spec.dense.length;
    const n = numRows;
    // A shared value is parsed once, as its first row (no rows: nothing to check, as row by row).
    const each = <T>(c: FeatureColumn | CodedColumn, parse: (v: RawValue, r: number) => T, set: (r: number, x: T) => void): void => {
      if (c instanceof Int32Array) throw new Error('RowEncoder.encodeColumns: a coded column for a feature that is not an id field');
      if (typeof c === 'object') {
        for (let r = 0; r < n; r++) set(r, parse(c[r]!, r));
      } else if (n > 0) {
        const x = parse(c, 0);
        for (let r = 0; r < n; r++) set(r, x);
      }
    };
    // The id columns written out (not through `each`): most of a request's values are ids. A parsed
    // value is a bucketized field's local id and the others' raw value (fieldId reads the one it needs).
    const codes = new Int32Array(n * F);
    for (let j = 0; j < F; j++) {
      const f = spec.fields[j]!;
      const c = columns[j]!;
      if (c instanceof Int32Array) {
        for (let r = 0; r < n; r++) codes[r * F + j] = c[r]!;
      } else if (typeof c === 'object') {
        for (let r = 0; r < n; r++) {
          const p = parseIdValue(f, c[r]!, source, r);
          codes[r * F + j] = fitted.fieldId(j, p, p as number);
        }
      } else if (n > 0) {
        const p = parseIdValue(f, c, source, 0);
        const id = fitted.fieldId(j, p, p as number);
        for (let r = 0; r < n; r++) codes[r * F + j] = id;
      }
    }
    const dense = new Float64Array(n * D);
    for (let d = 0; d < D; d++) {
      const s = spec.dense[d]!;
      each(columns[F + d]!, (v, r) => parseDenseValue(s, v, source, r), (r, x) => { dense[r * D + d] = x; });
    }
    const sequences = spec.sequences.map((s, q) => {
      const offsets = new Int32Array(n + 1);
      const ids = new Growable((k) => new Int32Array(k), 64);
      each(columns[F + D + q]!, (v) => sequenceTokens(s, v).map((t) => fitted.sequenceId(q, t)), (r, toks) => {
        for (const id of toks) ids.push(id);
        offsets[r + 1] = ids.length;
      });
      return { offsets, codes: ids.take() };
    });
    return { numRows: n, codes, labels: [], weights: undefined, dense, sequences, groupOffsets: undefined };
  }
}
