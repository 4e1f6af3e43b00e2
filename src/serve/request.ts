/**
 * Validation of a predict request's JSON against the model's features, before anything is
 * scored. Every problem is a RequestError naming the row (0-based index in `rows`) and the
 * field, which the server answers with 400; values that pass are what a data file would hold,
 * and the row encoder then applies the training checks (a number for a numeric field, …).
 */
import type { RawValue } from '../data/prep/field.js';
import { DataFormatError } from '../data/readers/errors.js';
import type { FeatureColumn, RowEncoder, StoredColumns } from '../schema/index.js';
import { errorKind } from './metrics.js';
import { scanRows, type IdCoder } from './rowsText.js';
import { VocabTable } from './vocabTable.js';
import type { FittedSchema } from '../schema/fitted.js';
import { parseIdValue } from '../schema/rows.js';
import type { FeatureInfo } from './snapshot.js';

export class RequestError extends Error {
  override readonly name = 'RequestError';

  constructor(readonly detail: string, readonly row?: number, readonly field?: string, readonly status = 400) {
    super(`${row === undefined ? '' : `row ${row}: `}${field === undefined ? '' : `field ${field}: `}${detail}`);
  }

  toJSON(): { code: string; message: string; row?: number; field?: string } {
    return {
      code: errorKind(this.status) ?? 'bad_request', message: this.message,
      ...(this.row === undefined ? {} : { row: this.row }), ...(this.field === undefined ? {} : { field: this.field }),
    };
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

/**
 * A JSON value as a reader would give it: text as it is, a number as a number (the row parser
 * tokenises both the way the training reader's values were), null as an empty cell (missing),
 * a sequence's array as its tokens joined by the separator.
 */
function rawValue(v: unknown, f: FeatureInfo): RawValue {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') {
    // JSON has no NaN / Infinity literals, but 1e999 parses to Infinity.
    if (!Number.isFinite(v)) throw new Error(`expected a finite number, got ${v}`);
    return v;
  }
  if (f.kind === 'sequence' && Array.isArray(v)) {
    const sep = f.separator!;
    return v.map((t, k) => {
      if (typeof t === 'number' && Number.isFinite(t)) return String(t);
      if (typeof t !== 'string') throw new Error(`token ${k}: expected a string, got ${describe(t)}`);
      if (t.includes(sep)) throw new Error(`token ${k}: ${describe(t)} contains the separator ${JSON.stringify(sep)}`);
      return t;
    }).join(sep);
  }
  const want = f.kind === 'sequence' ? 'a string, an array of tokens or null' : f.kind === 'numeric' ? 'a number, a numeric string or null' : 'a string, a number or null';
  throw new Error(`expected ${want}, got ${describe(v)}`);
}

function listNames(features: readonly FeatureInfo[]): string {
  const n = features.map((f) => f.name);
  return n.length <= 12 ? n.join(', ') : `${n.slice(0, 10).join(', ')}, … (${n.length} in all; GET /v1/model lists them)`;
}

const BODY_KEYS: readonly string[] = ['rows', 'columns', 'context'];
const NO_IMPLIED: ReadonlyMap<number, RawValue> = new Map();

export interface BodyOptions {
  /** Top-level keys besides rows and context (a route's own options, read by the route). */
  keys?: readonly string[];
  /** Features a row does not give, with the value each gets (a two-tower rank request's item features). */
  implied?: ReadonlyMap<number, RawValue>;
  /** Why a row must not give an implied feature (default: the rank request's reason). */
  impliedWhy?: string;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Each feature's index by name, built once per snapshot's feature list (not per request). */
const indexes = new WeakMap<readonly FeatureInfo[], ReadonlyMap<string, number>>();

function featureIndex(features: readonly FeatureInfo[]): ReadonlyMap<string, number> {
  let index = indexes.get(features);
  if (index === undefined) {
    index = new Map(features.map((f, i) => [f.name, i]));
    indexes.set(features, index);
  }
  return index;
}

/** A request body's JSON value; RequestError for an empty body or text that is not JSON. */
export function parseJsonBody(text: string): unknown {
  if (text.trim().length === 0) throw new RequestError('the body is empty; expected JSON {"rows": [...]}');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new RequestError(`the body is not valid JSON (${(e as Error).message})`);
  }
}

/** Per id field, how the rows reader codes its values (built once per fitted schema). */
const coderCache = new WeakMap<FittedSchema, (IdCoder | undefined)[]>();

/** Integer values whose log-bucket id is kept once seen (Criteo's counts are mostly small). */
const LOG_BUCKET_MEMO = 4096;

export function idCoders(fitted: FittedSchema): (IdCoder | undefined)[] {
  let coders = coderCache.get(fitted);
  if (coders === undefined) {
    // The id fields are the first features (featureInfo's order), field j being feature j.
    coders = fitted.spec.fields.map((spec, j): IdCoder | undefined => {
      // A required field refuses '' (left to the encoder, which names it).
      if (spec.kind !== 'vocab' || spec.required === true) return undefined;
      const ofRaw = (raw: RawValue): number | undefined => {
        try {
          const p = parseIdValue(spec, raw, 'request', 0);
          return fitted.fieldId(j, p, p as number);
        } catch (e) {
          if (e instanceof DataFormatError) return undefined;
          throw e;
        }
      };
      const offset = fitted.fieldOffsets[j]!;
      // A plain vocabulary looks its text up as it is (parseIdValue passes a string through); a
      // log-bucket one buckets a digit string by its value (FittedSchema's logBucketCoder).
      return spec.logBucket ? { offset, byInteger: new Int32Array(LOG_BUCKET_MEMO).fill(-1), ofRaw }
        : { offset, table: new VocabTable(spec.vocabulary), ofRaw };
    });
    coderCache.set(fitted, coders);
  }
  return coders;
}

/**
 * readPredictBody of a body's text: a plain `rows` body is read straight into columns
 * (rowsText.ts) and encoded; any other body, or one with a problem, is parsed and read by
 * readPredictBody, which names the problem — so both give the same columns and the same errors.
 */
export function readPredictText(text: string, features: readonly FeatureInfo[], encoder: RowEncoder, maxRows: number): StoredColumns {
  const scanned = scanRows(text, featureIndex(features), features.length, maxRows, idCoders(encoder.fitted));
  if (scanned !== undefined) {
    try {
      const shared = sharedValues(scanned.context, features, NO_IMPLIED, '');
      // Each feature in the rows or in context, not both (else readPredictBody names it).
      if (shared.every((v, i) => (v === undefined) !== (scanned.columns[i] === undefined))) {
        const columns = shared.map((v, i) => v ?? scanned.columns[i]!);
        return encoder.encodeColumns(columns, scanned.numRows, 'request');
      }
    } catch (e) {
      if (!(e instanceof RequestError || e instanceof DataFormatError)) throw e;
    }
  }
  return readPredictBody(parseJsonBody(text), features, encoder, maxRows);
}

/**
 * The rows of a predict body, checked and encoded by `encoder` (a block of stored columns for the
 * batcher, which concatenates the blocks of concurrent requests): `rows` (one object per row) or
 * `columns` (one array per field), both encoded one column at a time. Throws RequestError on the
 * first problem (of `rows`: in row order, from a second, row-by-row reading); the encoder is left
 * empty either way, so it can be shared by every request of a snapshot.
 */
export function readPredictBody(body: unknown, features: readonly FeatureInfo[], encoder: RowEncoder, maxRows: number, opts: BodyOptions = {}): StoredColumns {
  if (!isRecord(body)) throw new RequestError(`the body must be a JSON object {"rows": [...]}, got ${describe(body)}`);
  const keys = opts.keys === undefined ? BODY_KEYS : [...BODY_KEYS, ...opts.keys];
  for (const k of Object.keys(body)) {
    if (!keys.includes(k)) throw new RequestError(`unknown key ${JSON.stringify(k)} (expected rows or columns, and optionally ${keys.slice(2).join(', ')})`);
  }
  const implied = opts.implied ?? NO_IMPLIED;
  const impliedWhy = opts.impliedWhy ?? 'is an item feature: items are named by "items"';
  if (body.columns !== undefined) {
    if (body.rows !== undefined) throw new RequestError('give either "rows" or "columns", not both');
    return readColumns(body.columns, body.context, features, encoder, maxRows, implied, impliedWhy);
  }
  const rows = body.rows;
  if (!Array.isArray(rows)) throw new RequestError(`must be an array of objects, got ${describe(rows)}`, undefined, 'rows');
  if (rows.length > maxRows) throw new RequestError(`too many rows: ${rows.length} (at most ${maxRows} per request)`, undefined, 'rows');
  const shared = sharedValues(body.context, features, implied, impliedWhy);
  const columns = rowsAsColumns(rows, features, shared);
  if (columns !== undefined) {
    try {
      return encoder.encodeColumns(columns, rows.length, 'request');
    } catch (e) {
      if (!(e instanceof DataFormatError)) throw e;
    }
  }
  // Something is wrong: row by row, as a file's lines are read, the first problem in row order is named.
  return readRowByRow(rows, features, encoder, shared, implied, impliedWhy);
}

/**
 * The rows' values as columns when every row is an object giving each feature that is not shared
 * exactly once, with values of the right JSON types; else undefined (readRowByRow then names the
 * problem). The fast path: no per-row copies, errors or encoder calls.
 */
function rowsAsColumns(rows: readonly unknown[], features: readonly FeatureInfo[], shared: readonly (RawValue | undefined)[]): FeatureColumn[] | undefined {
  const index = featureIndex(features);
  let perRow = 0;
  const columns: FeatureColumn[] = shared.map((v) => {
    if (v !== undefined) return v;
    perRow++;
    return [];
  });
  try {
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r];
      if (!isRecord(row)) return undefined;
      let given = 0;
      for (const name of Object.keys(row)) {
        const i = index.get(name);
        if (i === undefined || shared[i] !== undefined) return undefined;
        const v = row[name];
        (columns[i] as RawValue[]).push(typeof v === 'string' ? v : rawValue(v, features[i]!));
        given++;
      }
      if (given !== perRow) return undefined;
    }
  } catch {
    return undefined;
  }
  return columns;
}

/** The rows checked and encoded one at a time; throws RequestError on the first problem in row order. */
function readRowByRow(rows: readonly unknown[], features: readonly FeatureInfo[], encoder: RowEncoder, shared: readonly (RawValue | undefined)[],
  implied: ReadonlyMap<number, RawValue>, impliedWhy: string): StoredColumns {
  const index = featureIndex(features);
  const F = features.length;
  // One array of values reused for every row: the encoder copies what it keeps.
  const values: (RawValue | undefined)[] = shared.slice();
  try {
    for (let r = 0; r < rows.length; r++) {
      const row: unknown = rows[r];
      if (!isRecord(row)) throw new RequestError(`expected an object of field values, got ${describe(row)}`, r);
      for (let i = 0; i < F; i++) values[i] = shared[i];
      for (const name of Object.keys(row)) {
        const i = index.get(name);
        if (i === undefined) throw unknownField(features, name, r);
        if (shared[i] !== undefined) {
          throw new RequestError(implied.has(i) ? impliedWhy : 'given both in the row and in context', r, name);
        }
        try {
          values[i] = rawValue(row[name], features[i]!);
        } catch (e) {
          throw new RequestError((e as Error).message, r, name);
        }
      }
      for (let i = 0; i < F; i++) {
        if (values[i] === undefined) throw missingField(r, features[i]!.name);
      }
      try {
        encoder.push(values as RawValue[], 'request', r);
      } catch (e) {
        throw encodingError(e, features, implied, shared);
      }
    }
  } catch (e) {
    encoder.takeColumns();
    throw e;
  }
  return encoder.takeColumns();
}

function unknownField(features: readonly FeatureInfo[], name: string, row?: number): RequestError {
  return new RequestError(`unknown field (the model's fields are: ${listNames(features)})`, row, name);
}

function missingField(row: number | undefined, name: string): RequestError {
  return new RequestError('missing (every field is required; null means a missing value)', row, name);
}

/** Each feature's value shared by every row (from context or implied by the route), undefined where rows give it. */
function sharedValues(context: unknown, features: readonly FeatureInfo[], implied: ReadonlyMap<number, RawValue>, impliedWhy: string): (RawValue | undefined)[] {
  const shared: (RawValue | undefined)[] = new Array<RawValue | undefined>(features.length).fill(undefined);
  for (const [i, v] of implied) shared[i] = v;
  if (context === undefined) return shared;
  if (!isRecord(context)) throw new RequestError(`"context" must be an object of field values, got ${describe(context)}`);
  const index = featureIndex(features);
  for (const name of Object.keys(context)) {
    const i = index.get(name);
    if (i === undefined) throw unknownField(features, `context.${name}`);
    if (implied.has(i)) throw new RequestError(impliedWhy, undefined, `context.${name}`);
    try {
      shared[i] = rawValue(context[name], features[i]!);
    } catch (e) {
      throw new RequestError((e as Error).message, undefined, `context.${name}`);
    }
  }
  return shared;
}

/** The encoder's DataFormatError as the request's error: a shared value's names its context field, a row's its row. */
function encodingError(e: unknown, features: readonly FeatureInfo[], implied: ReadonlyMap<number, RawValue>, shared: readonly (RawValue | undefined)[]): unknown {
  if (!(e instanceof DataFormatError)) return e;
  const f = e.field;
  const i = f === undefined ? undefined : featureIndex(features).get(f);
  const fromContext = i !== undefined && !implied.has(i) && shared[i] !== undefined;
  return fromContext ? new RequestError(e.detail, undefined, `context.${f}`) : new RequestError(e.detail, e.line, f);
}

/**
 * A body's `columns`, {field: [value per row], …}: every column as long as the others, each field
 * in columns or shared (context, implied), values checked as in rows (the JSON arrays are
 * rewritten in place into raw values: they are this request's own parse). Errors name the field,
 * and the row (index in the columns) for a value.
 */
function readColumns(columns: unknown, context: unknown, features: readonly FeatureInfo[], encoder: RowEncoder, maxRows: number,
  implied: ReadonlyMap<number, RawValue>, impliedWhy: string): StoredColumns {
  if (!isRecord(columns)) throw new RequestError(`must be an object of field → array of values (one per row), got ${describe(columns)}`, undefined, 'columns');
  const index = featureIndex(features);
  const shared = sharedValues(context, features, implied, impliedWhy);
  const given: (FeatureColumn | undefined)[] = shared.slice();
  let numRows: number | undefined;
  let first = '';
  for (const name of Object.keys(columns)) {
    const i = index.get(name);
    if (i === undefined) throw unknownField(features, name);
    if (shared[i] !== undefined) throw new RequestError(implied.has(i) ? impliedWhy : 'given both in columns and in context', undefined, name);
    const col = columns[name];
    if (!Array.isArray(col)) throw new RequestError(`expected an array of values (one per row), got ${describe(col)}`, undefined, name);
    if (numRows === undefined) {
      if (col.length > maxRows) throw new RequestError(`too many rows: ${col.length} (at most ${maxRows} per request)`, undefined, 'columns');
      numRows = col.length;
      first = name;
    } else if (col.length !== numRows) {
      throw new RequestError(`has ${col.length} values, expected ${numRows} (as many as ${first})`, undefined, name);
    }
    const f = features[i]!;
    for (let r = 0; r < col.length; r++) {
      const v: unknown = col[r];
      if (typeof v === 'string') continue;
      try {
        col[r] = rawValue(v, f);
      } catch (e) {
        throw new RequestError((e as Error).message, r, name);
      }
    }
    given[i] = col as RawValue[];
  }
  for (let i = 0; i < features.length; i++) {
    if (given[i] === undefined) throw missingField(undefined, features[i]!.name);
  }
  if (numRows === undefined) throw new RequestError('give at least one field\'s column (the number of rows is its length)', undefined, 'columns');
  try {
    return encoder.encodeColumns(given as FeatureColumn[], numRows, 'request');
  } catch (e) {
    throw encodingError(e, features, implied, shared);
  }
}
