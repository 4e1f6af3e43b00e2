import { DataFormatError, show } from '../data/readers/errors.js';
import type { RawValue } from '../data/prep/field.js';
import { bucketIndex, log1pClamped } from './numeric.js';
import type { PositiveRule } from './config.js';
import { sequenceColumns, type DenseSpec, type IdFieldSpec, type LabelSpec, type SchemaSpec, type SequenceSpec } from './spec.js';

/*
 * Turns the raw column values of one row into what the dataset stores, doing every check that can
 * fail first: a bad line must leave no trace (no token interned) when onBadLine is skip, so
 * parsing and storing are separate steps.
 */

/** One parsed row; the arrays are reused from row to row. */
export interface ParsedRow {
  labels: Float64Array;
  weight: number;
  /** Group key (undefined without a group column). */
  group: string | undefined;
  /** Per id field: the raw value for vocabulary fields (tokenised by the field), else the local id. */
  fieldRaw: RawValue[];
  fieldLocal: Int32Array;
  /** Per dense column: the value after log (NaN = missing); standardisation comes later. */
  dense: Float64Array;
  /** Per sequence: its tokens, truncated to maxLength. */
  tokens: string[][];
}

const INT_RE = /^[+-]?\d+$/;

/** Parses `v` as a number: NaN for missing (empty), a DataFormatError for text that is not a number. */
export function toNumber(v: RawValue, file: string, line: number, column: string): number {
  if (typeof v === 'number') return v;
  if (v.length === 0) return Number.NaN;
  const x = Number(v);
  if (!Number.isFinite(x)) throw new DataFormatError(file, line, column, `expected a number, got ${show(v)}`);
  return x;
}

function text(v: RawValue): string {
  return typeof v === 'number' ? (Number.isNaN(v) ? '' : String(v)) : v;
}

/** A raw value as text: a number's String, '' for a missing one (the stream's slice values). */
export { text as rawText };

/** Whether `v` satisfies a `positive` rule (labels, event logs); a number rule on a missing or non-numeric value is an error. */
export function positiveRuleHolds(p: PositiveRule, v: RawValue, file: string, line: number, column: string, what = 'label'): boolean {
  if (p.contains !== undefined) return text(v).includes(p.contains);
  if (p.equals !== undefined) return matches(p.equals, v, file, line, column);
  if (p.oneOf !== undefined) return p.oneOf.some((e) => matches(e, v, file, line, column));
  const x = toNumber(v, file, line, column);
  if (Number.isNaN(x)) throw new DataFormatError(file, line, column, `${what} is missing`);
  return p.greaterThan !== undefined ? x > p.greaterThan : x >= p.atLeast!;
}

function labelValue(l: LabelSpec, v: RawValue, file: string, line: number): number {
  if (l.positive !== undefined) return positiveRuleHolds(l.positive, v, file, line, l.column) ? 1 : 0;
  const x = toNumber(v, file, line, l.column);
  if (Number.isNaN(x)) throw new DataFormatError(file, line, l.column, 'label is missing');
  if (l.type === 'binary' && x !== 0 && x !== 1) {
    throw new DataFormatError(file, line, l.column, `expected a 0/1 label, got ${show(text(v))} (use positive: to map other values)`);
  }
  return x;
}

/** A string rule compares text, a number rule compares numerically (so 4 matches "4.0"). */
function matches(want: string | number, v: RawValue, file: string, line: number, column: string): boolean {
  if (typeof want === 'string') return text(v) === want;
  return toNumber(v, file, line, column) === want;
}

/** Integers keep their text (src/data/prep's exact tokens); other numbers are bucketed by value. */
function logBucketRaw(v: RawValue, file: string, line: number, column: string): RawValue {
  return typeof v === 'string' && v.length > 0 && !INT_RE.test(v) ? toNumber(v, file, line, column) : v;
}

/**
 * What is stored for id field `f`'s value before its id: the raw value a vocabulary or hash field
 * looks up (log-bucket text checked), or a bucketized field's local id (a number). Shared by the
 * row parser and the column encoder (src/schema/encodeRows.ts), so both check and encode alike.
 */
export function parseIdValue(f: IdFieldSpec, v: RawValue, file: string, line: number): RawValue {
  switch (f.kind) {
    case 'vocab':
      if (f.required === true && (typeof v === 'number' ? Number.isNaN(v) : v.length === 0)) {
        throw new DataFormatError(file, line, f.column, 'value is missing (the field is required)');
      }
      return f.logBucket ? logBucketRaw(v, file, line, f.column) : v;
    case 'hash':
      return f.logBucket === true ? logBucketRaw(v, file, line, f.column) : text(v);
    case 'bucketize':
      return bucketIndex(toNumber(v, file, line, f.column), f.boundaries) + 1;
  }
}

/** A dense column's value after its log transform (NaN = missing); standardisation comes later. */
export function parseDenseValue(s: DenseSpec, v: RawValue, file: string, line: number): number {
  const x = toNumber(v, file, line, s.column);
  return s.transform === 'log' ? log1pClamped(x) : x;
}

/** A single-column sequence's tokens: its text split at the separator, truncated to maxLength. */
export function sequenceTokens(s: SequenceSpec, v: RawValue): string[] {
  const t = text(v);
  return lastTokens(s, t.length === 0 ? [] : t.split(s.separator));
}

function lastTokens(s: SequenceSpec, toks: string[]): string[] {
  return s.maxLength !== undefined && toks.length > s.maxLength ? toks.slice(toks.length - s.maxLength) : toks;
}

/**
 * A parser for rows whose values come in `specColumns(spec, withLabels)` order. Without labels
 * (prediction on unlabeled files) `labels` stays empty.
 */
export function rowParser(spec: SchemaSpec, withLabels: boolean): (values: readonly RawValue[], file: string, line: number, out: ParsedRow) => void {
  const L = withLabels ? spec.labels.length : 0;
  const F = spec.fields.length;
  const D = spec.dense.length;
  const S = spec.sequences.length;
  // Where each sequence's values start: a multi-column sequence takes one value per column.
  const seqAt = new Int32Array(S + 1);
  spec.sequences.forEach((s, q) => { seqAt[q + 1] = seqAt[q]! + sequenceColumns(s).length; });
  const groupAt = L + F + D + seqAt[S]!;
  const weightAt = groupAt + (spec.group === undefined ? 0 : 1);
  return (values, file, line, out) => {
    for (let k = 0; k < L; k++) out.labels[k] = labelValue(spec.labels[k]!, values[k]!, file, line);
    for (let j = 0; j < F; j++) {
      const f = spec.fields[j]!;
      const p = parseIdValue(f, values[L + j]!, file, line);
      if (f.kind === 'bucketize') out.fieldLocal[j] = p as number;
      else out.fieldRaw[j] = p;
    }
    for (let d = 0; d < D; d++) out.dense[d] = parseDenseValue(spec.dense[d]!, values[L + F + d]!, file, line);
    for (let q = 0; q < S; q++) {
      const s = spec.sequences[q]!;
      const at = L + F + D + seqAt[q]!;
      if (s.columns === undefined) {
        out.tokens[q] = sequenceTokens(s, values[at]!);
        continue;
      }
      const toks: string[] = [];
      for (let c = 0; c < s.columns.length; c++) {
        const t = text(values[at + c]!);
        if (t.length > 0) toks.push(t);
      }
      out.tokens[q] = lastTokens(s, toks);
    }
    if (spec.group !== undefined) {
      const g = values[groupAt]!;
      if (typeof g === 'number' ? Number.isNaN(g) : g.length === 0) {
        throw new DataFormatError(file, line, spec.group, 'group id is missing');
      }
      out.group = text(g);
    }
    if (spec.weight !== undefined) {
      const w = toNumber(values[weightAt]!, file, line, spec.weight);
      if (!(w >= 0)) throw new DataFormatError(file, line, spec.weight, `expected a sample weight >= 0, got ${show(text(values[weightAt]!))}`);
      out.weight = w;
    }
  };
}

export function newParsedRow(spec: SchemaSpec, withLabels: boolean): ParsedRow {
  return {
    labels: new Float64Array(withLabels ? spec.labels.length : 0),
    weight: 1,
    group: undefined,
    fieldRaw: new Array<RawValue>(spec.fields.length).fill(''),
    fieldLocal: new Int32Array(spec.fields.length),
    dense: new Float64Array(spec.dense.length),
    tokens: spec.sequences.map(() => []),
  };
}
