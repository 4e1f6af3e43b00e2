import type { Dataset } from '../data/dataset.js';
import type { RawValue } from '../data/prep/field.js';
import type { FittedSchema } from './fitted.js';
import type { RowCoder } from './ingest.js';
import { newParsedRow, rowParser, type ParsedRow } from './rows.js';
import type { SchemaSpec, SequenceSpec } from './spec.js';
import { RowStore, type StoredColumns } from './store.js';

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
 * Accumulates rows of raw feature values (in featureNames order) and encodes them as the training
 * data was: same tokenising, vocabularies (unknown tokens → OOV), hashing, transforms.
 */
export class RowEncoder {
  private readonly parse: (values: readonly RawValue[], file: string, line: number, out: ParsedRow) => void;
  private readonly row: ParsedRow;
  private readonly coder: RowCoder;
  private store: RowStore;

  constructor(private readonly fitted: FittedSchema) {
    const spec = featureSpec(fitted.spec);
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
}
